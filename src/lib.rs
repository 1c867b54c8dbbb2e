//! deployer: Ansible playbooks compiled into a checked task graph and run over SSH through a bastion.
//!
//! The pipeline, one stage per module: [`parse`] (YAML with positions) → [`compile`] (a validated
//! program) → [`plan`] (the executable plan) → [`execute`] (runs it on hosts in parallel, through a
//! [`transport`]) → [`report`] (the only code that prints). This file is the front door the
//! command line calls: load, validate, plan and run.

pub mod compile;
pub mod config;
pub mod diagnostic;
pub mod error;
pub mod execute;
pub mod fleet_ops;
pub mod inventory;
pub mod modules;
pub mod notify;
pub mod outbound;
pub mod parse;
pub mod plan;
pub mod report;
pub mod runlog;
pub mod secrets;
pub mod template;
pub mod transport;
pub mod vault;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use compile::{Program, Vars};
use diagnostic::{Diagnostic, Diagnostics};
pub use error::{Error, exit_code};
use execute::RunOptions;
use inventory::Inventory;
use parse::{Source, parse_yaml};
use report::{Emitter, Event, Recap, Reporter, RunInfo};
use secrets::{Redacting, Secrets};
use template::Templater;
use transport::{ConnectOptions, Connector};
use vault::Vault;

/// What every command starts from: a playbook, an inventory and `-e` values.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// The playbook file.
    pub playbook: PathBuf,
    /// The inventory file or folder.
    pub inventory: PathBuf,
    /// The `-e` arguments, as given.
    pub extra_vars: Vec<String>,
    /// Decrypts vault-encrypted files met while loading, and remembers their values as secrets.
    pub vault: Arc<Vault>,
}

/// A compiled program with its inventory, ready to plan or run.
pub struct Loaded {
    /// The validated program.
    pub program: Program,
    /// The inventory, with the playbook's `group_vars/` and `host_vars/` added.
    pub inventory: Inventory,
    /// Warnings found while compiling.
    pub warnings: Vec<Diagnostic>,
    /// The values every output must redact (see [`secrets`]).
    pub secrets: Arc<Secrets>,
    /// The playbook and inventory paths it was loaded from, as given.
    pub sources: (PathBuf, PathBuf),
}

/// Turns `-i prod` into `inventories/prod` (or `prod.yml`, `prod.yaml`, `prod.ini`) when `prod`
/// itself does not exist.
pub fn resolve_inventory(name: &str) -> PathBuf {
    let given = PathBuf::from(name);
    if given.exists() {
        return given;
    }
    ["", ".yml", ".yaml", ".ini"]
        .iter()
        .map(|ext| Path::new("inventories").join(format!("{name}{ext}")))
        .find(|p| p.exists())
        .unwrap_or(given)
}

/// Parses `-e` arguments: `k=v` pairs, inline YAML or JSON mappings, and `@file` (decrypted with
/// `vault` when vault-encrypted). Later ones win.
pub fn parse_extra_vars(args: &[String], vault: &Vault) -> Result<Vars, Error> {
    let mut vars = Vars::new();
    for (i, arg) in args.iter().enumerate() {
        let node = if let Some(file) = arg.strip_prefix('@') {
            vault
                .parse_yaml_file(Path::new(file))
                .map_err(|d| Diagnostics(vec![d]))?
        } else if arg.trim_start().starts_with('{') {
            let source = Arc::new(Source::inline(&format!("-e #{}", i + 1), arg.clone()));
            parse_yaml(&source).map_err(|d| Diagnostics(vec![d]))?
        } else {
            let pairs = compile::split_kv(arg, false, |_| true)
                .map_err(|m| Error::Usage(format!("-e {arg}: {m}")))?;
            vars.extend(pairs);
            continue;
        };
        match node.to_json() {
            serde_json::Value::Object(map) => vars.extend(map),
            _ => {
                return Err(Error::Usage(format!(
                    "-e {arg}: expected a mapping of variables"
                )));
            }
        }
    }
    Ok(vars)
}

/// Compiles the playbook and loads the inventory; nothing touches a host.
pub fn load(inputs: &Inputs, templater: &Templater) -> Result<Loaded, Error> {
    let vault = &inputs.vault;
    let extra_vars = parse_extra_vars(&inputs.extra_vars, vault)?;
    let mut inventory = Inventory::load_with_vault(&inputs.inventory, vault)?;
    if let Some(dir) = inputs.playbook.parent() {
        inventory.add_vars_dir(dir, vault)?;
    }
    let (program, mut warnings) = compile::compile(&inputs.playbook, extra_vars, templater, vault)?;
    for play in &program.plays {
        if inventory.select(&play.hosts).map_or(true, |h| h.is_empty()) {
            warnings.push(Diagnostic::warning(
                play.span.clone(),
                format!("no host in the inventory matches `{}`", play.hosts),
            ));
        }
    }
    let secrets = Arc::new(collect_secrets(&program, &inventory, vault, templater));
    secrets::mask_logs(Arc::clone(&secrets));
    Ok(Loaded {
        program,
        inventory,
        warnings,
        secrets,
        sources: (inputs.playbook.clone(), inputs.inventory.clone()),
    })
}

/// The values read from vault files, and those of secret-named variables at every level.
fn collect_secrets(
    program: &Program,
    inventory: &Inventory,
    vault: &Vault,
    templater: &Templater,
) -> Secrets {
    let levels: Vec<Vars> = std::iter::once(program.extra_vars.clone())
        .chain(program.plays.iter().map(|p| p.vars.clone()))
        .chain(inventory.hosts().map(|h| inventory.host_vars(h)))
        .collect();
    let listed = levels.iter().flat_map(secrets::listed_names).collect();
    let mut found = vault.secrets();
    found.add_env();
    for vars in &levels {
        found.add_named(vars, &listed, templater);
    }
    found
}

/// Refuses a malformed `--limit` pattern (a limit matching no host is fine: nothing runs).
pub fn check_limit(inventory: &Inventory, limit: Option<&str>) -> Result<(), Error> {
    match limit.map(|l| inventory.limit(l)) {
        Some(Err(e)) => Err(Error::Usage(format!("--limit: {e}"))),
        _ => Ok(()),
    }
}

/// The `--limit` of a `--retry-failed` run: the hosts `retry` names that `limit` (when given)
/// also selects, comma-separated; `None` when that leaves no host.
pub fn retry_limit(
    inventory: &Inventory,
    retry: &runlog::RetryHosts,
    limit: Option<&str>,
) -> Result<Option<String>, Error> {
    check_limit(inventory, limit)?;
    let allowed = plan::Limit::new(inventory, limit);
    let hosts: Vec<&str> = (retry.hosts.iter())
        .filter(|h| allowed.allows(h))
        .map(String::as_str)
        .collect();
    Ok((!hosts.is_empty()).then(|| hosts.join(",")))
}

/// How one host answered `deployer ping`.
#[derive(Debug, Clone)]
pub struct PingResult {
    /// The inventory name.
    pub host: String,
    /// The round trip of one command once connected, or why the host could not be reached.
    pub outcome: Result<std::time::Duration, String>,
}

/// Connects to every host matching `pattern` in parallel and times one command on each.
/// Vault-encrypted vars files of the inventory are decrypted with `vault`.
pub async fn ping(
    inventory: &Path,
    vault: &Vault,
    pattern: &str,
    connect: ConnectOptions,
) -> Result<Vec<PingResult>, Error> {
    let inventory = Inventory::load_with_vault(inventory, vault)?;
    let hosts = inventory
        .select(pattern)
        .map_err(|e| Error::Usage(e.to_string()))?;
    let connector = Connector::new(connect);
    let pings = hosts.iter().map(|host| {
        let (connector, vars) = (&connector, inventory.host_vars(host));
        async move {
            let outcome = async {
                let transport = connector.connect(host, &vars).await?;
                let started = std::time::Instant::now();
                let out = transport.exec(transport::ExecRequest::new("true")).await?;
                if out.exit_code != 0 {
                    return Err(transport::TransportError::Unreachable(format!(
                        "`true` exited with {}: {}",
                        out.exit_code,
                        out.stderr_text().trim()
                    )));
                }
                Ok(started.elapsed())
            }
            .await
            .map_err(|e| e.to_string());
            PingResult {
                host: host.clone(),
                outcome,
            }
        }
    });
    Ok(futures::future::join_all(pings).await)
}

/// Runs a loaded playbook, sending every event, with its secrets redacted, to `reporter`.
/// Returns the recap.
pub async fn run(
    loaded: &Loaded,
    templater: &Templater,
    options: &RunOptions,
    connect: ConnectOptions,
    reporter: Box<dyn Reporter>,
) -> Result<Recap, Error> {
    check_limit(&loaded.inventory, options.limit.as_deref())?;
    let reporter = Box::new(Redacting::new(Arc::clone(&loaded.secrets), reporter));
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    let printer = tokio::spawn(report::drain(receiver, reporter));
    let emitter = Emitter::new(sender);
    let limit = plan::Limit::new(&loaded.inventory, options.limit.as_deref());
    let tags = plan::TagFilter {
        only: options.tags.clone(),
        skip: options.skip_tags.clone(),
    };
    let plan = plan::build(&loaded.program, &loaded.inventory, &limit, &tags);
    let started = std::time::Instant::now();
    emitter.emit(Event::RunStarted(RunInfo {
        run_id: options.run_id.clone(),
        playbook: loaded.sources.0.display().to_string(),
        inventory: loaded.sources.1.display().to_string(),
        check: options.check,
        diff: options.diff,
        hosts: plan.hosts(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        started_at: report::rfc3339(std::time::SystemTime::now()),
    }));
    for warning in &loaded.warnings {
        emitter.emit(Event::Warning {
            message: format!("{} ({})", warning.message, warning.span),
        });
    }
    let connector = Arc::new(Connector::new(connect));
    let recap = execute::execute(
        &plan,
        &loaded.inventory,
        options,
        connector,
        templater,
        emitter.clone(),
    )
    .await;
    emitter.emit(Event::RunFinished {
        exit_code: exit_code(&recap),
        duration: started.elapsed(),
    });
    drop(emitter);
    let _ = printer.await;
    Ok(recap)
}
