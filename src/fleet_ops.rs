//! Release operations on many hosts outside a playbook: `deployer releases` (list),
//! `deployer rollback` (switch back and reload) and `deployer unlock` (remove deploy locks).
//! Each host's `deploy_to` and `deployer_reload_command` come from its inventory variables.

use std::path::Path;

use serde_json::{Map, Value, json};

use crate::error::Error;
use crate::execute::{
    BASTION_LOCK, BecomePassword, DEFAULT_LOCK_PATH, HOST_LOCK, LockKind, force_release,
};
use crate::inventory::Inventory;
use crate::modules::{self, ModuleContext, ModuleResult};
use crate::template::Templater;
use crate::transport::{Become, ConnectOptions, Connector, ExecRequest, Transport};
use crate::vault::Vault;

/// What happened on one host.
#[derive(Debug, Clone)]
pub struct HostReport {
    /// The inventory name.
    pub host: String,
    /// Whether the operation succeeded there.
    pub ok: bool,
    /// One line for people.
    pub summary: String,
}

/// Which operation to run on every host.
#[derive(Debug, Clone)]
pub enum Operation {
    /// List releases and which one is current.
    List,
    /// Switch back to the previous release, or to the given one, then reload.
    Rollback(Option<String>),
    /// Remove the deploy lock, whoever holds it.
    Unlock,
}

/// What an operation runs on, and how.
pub struct Target<'t> {
    /// The inventory file or folder (its vault-encrypted vars files decrypted with `vault`).
    pub inventory: &'t Path,
    /// Decrypts the inventory's vault-encrypted files.
    pub vault: &'t Vault,
    /// The hosts to act on.
    pub pattern: &'t str,
    /// `--deploy-to`, beating the hosts' `deploy_to`.
    pub deploy_to: Option<&'t str>,
    /// How to reach the hosts.
    pub connect: ConnectOptions,
    /// The sudo password for `deployer_become` hosts (`DEPLOYER_BECOME_PASSWORD`).
    pub become_password: BecomePassword,
}

/// Runs `operation` on every host of `target`, in parallel.
pub async fn run_operation(
    target: Target<'_>,
    operation: &Operation,
) -> Result<Vec<HostReport>, Error> {
    let Target {
        inventory,
        vault,
        pattern,
        deploy_to,
        connect,
        become_password,
    } = target;
    let inventory = Inventory::load_with_vault(inventory, vault)?;
    let hosts = inventory
        .select(pattern)
        .map_err(|e| Error::Usage(e.to_string()))?;
    let connector = Connector::new(connect);
    let templater = Templater::new();
    let reports = hosts.iter().map(|host| {
        let vars = inventory.host_vars(host);
        let (connector, templater, become_password) = (&connector, &templater, &become_password);
        async move {
            let setup = (connector, templater, become_password);
            let outcome = on_host(setup, host, &vars, deploy_to, operation).await;
            let (ok, summary) = match outcome {
                Ok(result) => result,
                Err(message) => (false, message),
            };
            HostReport {
                host: host.clone(),
                ok,
                summary,
            }
        }
    });
    Ok(futures::future::join_all(reports).await)
}

async fn on_host(
    (connector, templater, become_password): (&Connector, &Templater, &BecomePassword),
    host: &str,
    vars: &Map<String, Value>,
    deploy_to: Option<&str>,
    operation: &Operation,
) -> Result<(bool, String), String> {
    let transport = connector
        .connect(host, vars)
        .await
        .map_err(|e| format!("UNREACHABLE: {e}"))?;
    let context = Value::Object(vars.clone());
    let setting = |name: &str| -> Option<String> {
        let raw = vars.get(name)?.as_str()?;
        templater.render_str(raw, &context).ok()
    };
    if let Operation::Unlock = operation {
        let lock_path = |kind: LockKind| {
            templater
                .render_str(kind.raw_path(vars), &context)
                .unwrap_or_else(|_| DEFAULT_LOCK_PATH.to_string())
        };
        let mut summary = unlock(transport.as_ref(), &lock_path(HOST_LOCK)).await?;
        if let Some(bastion) = transport.bastion().filter(|_| BASTION_LOCK.wanted(vars)) {
            let removed = unlock(bastion.as_ref(), &lock_path(BASTION_LOCK)).await?;
            summary.push_str(&format!("; bastion {}: {removed}", bastion.describe()));
        }
        return Ok((true, summary));
    }
    let deploy_to = deploy_to
        .map(str::to_string)
        .or_else(|| setting("deploy_to"))
        .ok_or("no `deploy_to`: set it in the inventory or pass --deploy-to")?;
    let become_user = vars
        .get("deployer_become")
        .and_then(modules::spec::parse_bool)
        .unwrap_or(false)
        .then(|| Become {
            user: "root".into(),
            password: become_password.0.clone(),
        });
    let args = match operation {
        Operation::Rollback(Some(to)) => {
            json!({"deploy_to": deploy_to, "state": "rollback", "release": to})
        }
        Operation::Rollback(None) => json!({"deploy_to": deploy_to, "state": "rollback"}),
        _ => json!({"deploy_to": deploy_to, "state": "query"}),
    };
    let result = release(
        transport.as_ref(),
        templater,
        host,
        &context,
        become_user.clone(),
        &args,
    )
    .await?;
    if result.failed {
        return Ok((false, result.msg.unwrap_or_default()));
    }
    let current = result
        .data
        .get("current")
        .and_then(Value::as_str)
        .unwrap_or("-")
        .to_string();
    let releases: Vec<&str> = result
        .data
        .get("releases")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    match operation {
        Operation::List => Ok((
            true,
            format!("current={current} releases={}", releases.join(",")),
        )),
        _ => {
            let reload = match setting("deployer_reload_command") {
                Some(command) if result.changed => {
                    let request = ExecRequest {
                        script: command.clone(),
                        become_user,
                        ..ExecRequest::new("")
                    };
                    let out = transport.exec(request).await.map_err(|e| e.to_string())?;
                    if out.exit_code != 0 {
                        return Ok((
                            false,
                            format!(
                                "switched to {current}, but `{command}` failed: {}",
                                out.stderr_text().trim()
                            ),
                        ));
                    }
                    format!(", ran `{command}`")
                }
                _ => String::new(),
            };
            let verb = if result.changed {
                "rolled back to"
            } else {
                "already on"
            };
            Ok((true, format!("{verb} {current}{reload}")))
        }
    }
}

/// Runs the `release` module on one host.
async fn release(
    transport: &dyn Transport,
    templater: &Templater,
    host: &str,
    vars: &Value,
    become_user: Option<Become>,
    args: &Value,
) -> Result<ModuleResult, String> {
    let module = modules::lookup("release").expect("the release module exists");
    let args = module
        .spec()
        .normalise(args.as_object().expect("an object"))
        .map_err(|e| e.to_string())?;
    let ctx = ModuleContext {
        host,
        transport,
        become_user,
        env: Vec::new(),
        check_mode: false,
        diff: false,
        vars,
        templater,
        search_paths: &[],
    };
    module.run(&args, &ctx).await.map_err(|e| e.to_string())
}

/// Removes the lock at `path` through `transport`, whoever holds it; says whose it was.
async fn unlock(transport: &dyn Transport, path: &str) -> Result<String, String> {
    let held = force_release(transport, path)
        .await
        .map_err(|e| e.to_string())?
        .map_err(|why| format!("could not remove the lock {path}: {why}"))?;
    Ok(held.map_or_else(
        || "no lock".to_string(),
        |who| format!("removed the lock of {who}"),
    ))
}
