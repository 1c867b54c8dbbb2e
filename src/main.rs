//! The `deployer` command line: parse arguments, call the library, render errors once, and map
//! the outcome to an exit code.

mod cli;
mod generate;

use std::io::{BufWriter, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use indicatif::MultiProgress;
use tracing_indicatif::writer::{IndicatifWriter, Stderr, Stdout};

use cli::{
    Cli, Command, ConnectionArgs, Format, HostsArgs, LogArgs, LoginArgs, PingArgs, PlanArgs,
    RunArgs, SelectArgs, TargetArgs, ValidateArgs, VaultAction,
};
use deployer::config::{Settings, settings};
use deployer::diagnostic::{Diagnostic, Diagnostics, Severity};
use deployer::error::{EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK};
use deployer::execute::{BecomePassword, RunOptions, StopSignal};
use deployer::fleet_ops::{Operation, Target, run_operation};
use deployer::notify::{Notifier, webhook_from_vars};
use deployer::outbound::Warn;
use deployer::plan::{Limit, TagFilter};
use deployer::report::{
    Fanout, GithubReporter, JsonReporter, JunitReporter, ProgressReporter, Reporter,
    TerminalReporter,
};
use deployer::runlog::{self, RunLog, Sink};
use deployer::secrets::MaskedLogs;
use deployer::template::Templater;
use deployer::transport::ConnectOptions;
use deployer::vault::{Vault, format as vault_format};
use deployer::{Error, Inputs};

/// The environment variable holding the vault password.
const VAULT_PASSWORD_ENV: &str = "DEPLOYER_VAULT_PASSWORD";

fn main() -> ExitCode {
    let cli = Cli::parse();
    match deployer::config::Settings::load() {
        Ok(settings) => deployer::config::install(with_login(settings, &cli.login)),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(deployer::error::EXIT_BAD_INPUT as u8);
        }
    }
    let screen = Screen::detect();
    let (verbosity, progress) = match &cli.command {
        Command::Run(args) => (
            args.verbose,
            (args.format == Format::Text && screen.live).then(MultiProgress::new),
        ),
        _ => (0, None),
    };
    init_tracing(verbosity, progress.clone(), screen.colour_stderr);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_ERROR as u8);
        }
    };
    let confirm =
        matches!(&cli.command, Command::Vault(v) if matches!(v.action, VaultAction::Encrypt(_)));
    let password_file =
        (cli.vault_password_file.as_deref()).or(settings().vault_password_file.as_deref());
    let vault = vault(password_file, confirm);
    let code = match vault
        .and_then(|vault| runtime.block_on(dispatch(cli.command, vault, screen, progress)))
    {
        Ok(code) => code,
        Err(e) => match e.downcast_ref::<Error>() {
            Some(error) => {
                eprintln!("{error}");
                error.exit_code()
            }
            None => {
                eprintln!("error: {e:#}");
                EXIT_ERROR
            }
        },
    };
    ExitCode::from(code as u8)
}

/// What the standard streams are connected to, and whether colour is wanted.
#[derive(Debug, Clone, Copy)]
struct Screen {
    /// Colour on stdout: a terminal, and `NO_COLOR` unset.
    colour_stdout: bool,
    /// Colour on stderr: a terminal, and `NO_COLOR` unset.
    colour_stderr: bool,
    /// Live progress: both stdout and stderr are terminals.
    live: bool,
}

impl Screen {
    fn detect() -> Self {
        let no_colour = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let (stdout, stderr) = (
            std::io::stdout().is_terminal(),
            std::io::stderr().is_terminal(),
        );
        Screen {
            colour_stdout: stdout && !no_colour,
            colour_stderr: stderr && !no_colour,
            live: stdout && stderr,
        }
    }
}

/// Logs to stderr (through the progress line when there is one): warnings, and with `-vv` the
/// commands tasks run, `-vvv` SSH details, `-vvvv` everything. `DEPLOYER_LOG`
/// (tracing's filter syntax, e.g. `deployer::transport=debug`) overrides.
/// `settings` with the command line's login options put over ansible.cfg's.
fn with_login(mut settings: Settings, login: &LoginArgs) -> Settings {
    settings.remote_user = login.user.clone().or(settings.remote_user);
    settings.connection = login.connection.clone().or(settings.connection);
    settings.private_key_file = login.private_key.clone().or(settings.private_key_file);
    if login.become_ {
        settings.become_ = Some(true);
    }
    settings.become_user = login.become_user.clone().or(settings.become_user);
    settings
}

fn init_tracing(verbosity: u8, progress: Option<MultiProgress>, colour: bool) {
    let default = match verbosity {
        0 | 1 => "warn",
        2 => "warn,deployer::execute=debug",
        3 => "warn,deployer=debug",
        _ => "debug,deployer=trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("DEPLOYER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .without_time()
        .with_target(verbosity >= 4);
    let _ = match progress {
        Some(multi) => logs
            .with_writer(MaskedLogs(IndicatifWriter::<Stderr>::new(multi)))
            .try_init(),
        None => logs.with_writer(MaskedLogs(std::io::stderr)).try_init(),
    };
}

async fn dispatch(
    command: Command,
    vault: Arc<Vault>,
    screen: Screen,
    progress: Option<MultiProgress>,
) -> anyhow::Result<i32> {
    match command {
        Command::Run(args) => run(args, vault, screen, progress).await,
        Command::Validate(args) => validate(&args, vault),
        Command::Plan(args) => plan(&args, vault),
        Command::Inventory(args) => inventory(&args, &vault),
        Command::Ping(args) => ping(args, &vault).await,
        Command::Releases(args) => {
            let deploy_to = args.deploy_to.as_deref();
            fleet_operation(&args.hosts, &vault, deploy_to, Operation::List).await
        }
        Command::Rollback(args) => {
            let operation = Operation::Rollback(args.to.clone());
            let deploy_to = args.release.deploy_to.as_deref();
            fleet_operation(&args.release.hosts, &vault, deploy_to, operation).await
        }
        Command::Unlock(args) => fleet_operation(&args, &vault, None, Operation::Unlock).await,
        Command::Log(args) => log(&args),
        Command::Vault(args) => vault_command(args.action, &vault),
        Command::Completions { shell } => {
            generate::completions(shell, &mut std::io::stdout());
            Ok(EXIT_OK)
        }
        Command::Man => {
            generate::man_page(&mut std::io::stdout())?;
            Ok(EXIT_OK)
        }
        Command::RsyncTunnel { socket, args } => {
            Ok(deployer::transport::rsh::relay(&socket, &args))
        }
    }
}

/// The vault password: from `--vault-password-file`, else the environment, else asked on the
/// terminal when first needed (twice with `confirm`); without any, vault files are refused with
/// a clear error.
fn vault(password_file: Option<&Path>, confirm: bool) -> anyhow::Result<Arc<Vault>> {
    let vault = if let Some(file) = password_file {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("reading the vault password file {}", file.display()))?;
        Vault::with_password(text.trim_end_matches(['\r', '\n']).to_string())
    } else if let Ok(password) = std::env::var(VAULT_PASSWORD_ENV) {
        Vault::with_password(password)
    } else if std::io::stdin().is_terminal() {
        Vault::with_prompt(Box::new(move || {
            let password = rpassword::prompt_password("Vault password: ").ok()?;
            if confirm && rpassword::prompt_password("Confirm vault password: ").ok()? != password {
                eprintln!("error: the passwords do not match");
                return None;
            }
            Some(password)
        }))
    } else {
        Vault::default()
    };
    Ok(vault.shared())
}

fn inputs(target: &TargetArgs, vault: Arc<Vault>) -> anyhow::Result<Inputs> {
    Ok(Inputs {
        playbook: target.playbook.clone(),
        inventory: inventory_path(target.inventory.as_deref())?,
        extra_vars: target.extra_vars.clone(),
        vault,
    })
}

/// The inventory `-i` names, else ansible.cfg's.
fn inventory_path(given: Option<&str>) -> anyhow::Result<PathBuf> {
    Ok(settings().inventory(given).map_err(Error::Usage)?)
}

fn connect_options(args: &ConnectionArgs) -> ConnectOptions {
    if args.insecure_ignore_host_keys {
        eprintln!(
            "WARNING: --insecure-ignore-host-keys: host keys are NOT verified; anyone on the network path can impersonate your hosts"
        );
    }
    let config = settings();
    let timeout = args.timeout.or(config.timeout).unwrap_or(10);
    ConnectOptions {
        // host_key_checking = False records new keys, as StrictHostKeyChecking=no does.
        accept_new_host_keys: args.accept_new_host_keys || config.host_key_checking == Some(false),
        insecure_ignore_host_keys: args.insecure_ignore_host_keys,
        connect_timeout: Duration::from_secs(timeout),
        keepalive_interval: Duration::from_secs(args.keepalive),
        persistent_shell: !args.session_per_command,
        ..ConnectOptions::default()
    }
}

/// The sudo password for hosts whose variables give none: `DEPLOYER_BECOME_PASSWORD`.
fn become_password() -> BecomePassword {
    BecomePassword(std::env::var("DEPLOYER_BECOME_PASSWORD").ok())
}

fn tag_filter(select: &SelectArgs) -> TagFilter {
    TagFilter {
        only: select.tags.clone(),
        skip: select.skip_tags.clone(),
    }
}

async fn run(
    args: RunArgs,
    vault: Arc<Vault>,
    screen: Screen,
    progress: Option<MultiProgress>,
) -> anyhow::Result<i32> {
    let templater = Templater::new();
    if args.verbose > 0 {
        report_config(settings());
    }
    let loaded = deployer::load(&inputs(&args.target, vault)?, &templater)?;
    let secrets = Arc::clone(&loaded.secrets);
    let warn: Warn = Arc::new(move |message: &str| {
        eprintln!("[WARNING]: {}", secrets.redact(message));
    });
    let logging = &args.logging;
    let runs_dir = (logging.runs_dir.clone())
        .unwrap_or_else(|| runlog::default_runs_dir(&args.target.playbook));
    let mut limit = args.select.limit.clone();
    if args.retry_failed {
        match retry_failed_limit(&args, &loaded, &runs_dir, &warn)? {
            Some(hosts) => limit = Some(hosts),
            None => return Ok(EXIT_OK),
        }
    }
    let options = RunOptions {
        check: args.check,
        diff: args.diff,
        forks: args.forks.or(settings().forks).unwrap_or(25),
        limit,
        tags: args.select.tags.clone(),
        skip_tags: args.select.skip_tags.clone(),
        become_password: become_password(),
        user: std::env::var("USER")
            .or_else(|_| std::env::var("GITHUB_ACTOR"))
            .unwrap_or_else(|_| "unknown".into()),
        verbosity: args.verbose,
        ..RunOptions::default()
    };
    let sink = logging.log_sink.as_deref().map(str::parse::<Sink>);
    let sink = sink.transpose().map_err(|e| Error::Usage(e.to_string()))?;
    let mut label = args.target.playbook.display().to_string();
    let run_log = match RunLog::create(&runs_dir, &options.run_id, sink, Arc::clone(&warn)) {
        Ok(log) => {
            label = format!("{label} (run {})", log.run_id());
            Some(log)
        }
        Err(e) => {
            warn(&format!("this run is not logged: {e}"));
            None
        }
    };
    let events = run_log
        .as_ref()
        .map(|log| log.dir().join(runlog::EVENTS_FILE));
    // Order matters: GitHub's group markers go before a play's lines, and the progress line is
    // cleared before the recap is printed.
    let mut reporters = Fanout::default();
    if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
        reporters.push(github_reporter(args.format));
    }
    match (args.format, progress) {
        (Format::Json, _) => reporters.push(Box::new(JsonReporter::new(std::io::stdout()))),
        (Format::Text, Some(multi)) => {
            reporters.push(Box::new(ProgressReporter::new(&multi)));
            let lines = BufWriter::new(IndicatifWriter::<Stdout>::new(multi));
            let terminal = TerminalReporter::new(lines, screen.colour_stdout, args.verbose);
            reporters.push(Box::new(terminal.with_run_log(events)));
        }
        (Format::Text, None) => {
            let terminal =
                TerminalReporter::new(std::io::stdout(), screen.colour_stdout, args.verbose);
            reporters.push(Box::new(terminal.with_run_log(events)));
        }
    }
    if let Some(path) = &args.junit {
        reporters.push(Box::new(JunitReporter::new(path)));
    }
    if let Some(log) = run_log {
        reporters.push(Box::new(log));
    }
    let webhook = (logging.notify_webhook.clone())
        .or_else(|| webhook_from_vars(&loaded.program, &loaded.inventory, &templater));
    if let Some(url) = webhook {
        reporters.push(Box::new(Notifier::new(url, label, warn)));
    }
    stop_on_ctrl_c(options.stop.clone())?;
    let recap = deployer::run(
        &loaded,
        &templater,
        &options,
        connect_options(&args.connection),
        Box::new(reporters),
    )
    .await?;
    Ok(deployer::exit_code(&recap))
}

/// At `-v`: the config file read, and the settings in it that deployer ignores.
fn report_config(config: &deployer::config::Settings) {
    if let Some(file) = &config.file {
        eprintln!("Using {} as config file", file.display());
    }
    if !config.ignored.is_empty() {
        eprintln!(
            "ignored ansible.cfg settings: {}",
            config.ignored.join(", ")
        );
    }
}

/// `--retry-failed`: the limit naming the hosts the latest run in `runs_dir` left failed or
/// unreachable (within `--limit`); `None`, after saying so, when there is none.
fn retry_failed_limit(
    args: &RunArgs,
    loaded: &deployer::Loaded,
    runs_dir: &Path,
    warn: &Warn,
) -> anyhow::Result<Option<String>> {
    let retry =
        runlog::retry_hosts(runs_dir).map_err(|e| Error::Usage(format!("--retry-failed: {e}")))?;
    let playbook = args.target.playbook.file_name();
    if let Some(logged) = &retry.playbook
        && Path::new(logged).file_name() != playbook
    {
        warn(&format!(
            "--retry-failed: the latest run ({}) ran {logged}, not {}",
            retry.run_id,
            args.target.playbook.display()
        ));
    }
    let limit = deployer::retry_limit(&loaded.inventory, &retry, args.select.limit.as_deref())?;
    match &limit {
        Some(hosts) => eprintln!(
            "retrying the hosts that failed or were unreachable in run {}: {}",
            retry.run_id,
            hosts.replace(',', ", ")
        ),
        None if retry.hosts.is_empty() => eprintln!(
            "nothing to retry: no host failed or was unreachable in run {} ({})",
            retry.run_id,
            retry.events.display()
        ),
        None => eprintln!(
            "nothing to retry: the hosts that failed in run {} ({}) are outside --limit",
            retry.run_id,
            retry.hosts.join(", ")
        ),
    }
    Ok(limit)
}

/// Annotations and groups for GitHub Actions: on stdout beside the text lines, on stderr when
/// stdout carries JSON.
fn github_reporter(format: Format) -> Box<dyn Reporter> {
    let workspace = std::env::var_os("GITHUB_WORKSPACE").map(PathBuf::from);
    let summary = std::env::var_os("GITHUB_STEP_SUMMARY")
        .filter(|s| !s.is_empty())
        .map(PathBuf::from);
    match format {
        Format::Text => Box::new(GithubReporter::new(
            std::io::stdout(),
            true,
            workspace,
            summary,
        )),
        Format::Json => Box::new(GithubReporter::new(
            std::io::stderr(),
            false,
            workspace,
            summary,
        )),
    }
}

/// The first Ctrl-C (SIGINT) stops the run after the tasks that are running (locks are released
/// and the recap printed; exit code 130); a second one exits at once. The handler is registered
/// before this returns, so no early Ctrl-C is missed.
fn stop_on_ctrl_c(stop: StopSignal) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupts = signal(SignalKind::interrupt()).context("listening for Ctrl-C")?;
    tokio::spawn(async move {
        if interrupts.recv().await.is_none() {
            return;
        }
        stop.stop();
        tracing::warn!("interrupted: stopping after the running tasks (Ctrl-C again to quit now)");
        if interrupts.recv().await.is_some() {
            std::process::exit(EXIT_INTERRUPTED);
        }
    });
    Ok(())
}

fn validate(args: &ValidateArgs, vault: Arc<Vault>) -> anyhow::Result<i32> {
    let target = &args.target;
    let loaded = deployer::load(&inputs(target, vault)?, &Templater::new())?;
    if args.strict
        && loaded
            .warnings
            .iter()
            .any(|w| w.severity == Severity::Deferred)
    {
        let problems = loaded.warnings.into_iter().map(Diagnostic::strict);
        return Err(Error::Input(Diagnostics(problems.collect())).into());
    }
    for warning in &loaded.warnings {
        eprintln!("{warning}\n");
    }
    let tasks: usize = loaded
        .program
        .plays
        .iter()
        .map(|p| p.sections.iter().map(Vec::len).sum::<usize>())
        .sum();
    println!(
        "{}: {} play(s), {} top-level task(s); no errors",
        target.playbook.display(),
        loaded.program.plays.len(),
        tasks
    );
    Ok(EXIT_OK)
}

fn plan(args: &PlanArgs, vault: Arc<Vault>) -> anyhow::Result<i32> {
    let loaded = deployer::load(&inputs(&args.target, vault)?, &Templater::new())?;
    deployer::check_limit(&loaded.inventory, args.select.limit.as_deref())?;
    let limit = Limit::new(&loaded.inventory, args.select.limit.as_deref());
    let plan = deployer::plan::build(
        &loaded.program,
        &loaded.inventory,
        &limit,
        &tag_filter(&args.select),
    );
    match args.format {
        Format::Text => print!("{}", deployer::plan::render_text(&plan)),
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&plan).context("rendering the plan")?
        ),
    }
    Ok(EXIT_OK)
}

/// `deployer inventory`: values decrypted from vault files are shown masked.
fn inventory(args: &cli::InventoryArgs, vault: &Vault) -> anyhow::Result<i32> {
    let path = inventory_path(args.inventory.as_deref())?;
    let inventory =
        deployer::inventory::Inventory::load_with_vault(&path, vault).map_err(Error::Input)?;
    match &args.graph {
        Some(group) => match inventory.to_graph(Some(group)) {
            Some(graph) => println!("{graph}"),
            None => {
                return Err(
                    Error::Usage(format!("no group `{group}` in {}", path.display())).into(),
                );
            }
        },
        None => {
            let mut list = inventory.to_list_json();
            vault.secrets().redact_value(&mut list);
            println!("{}", serde_json::to_string_pretty(&list)?);
        }
    }
    Ok(EXIT_OK)
}

async fn fleet_operation(
    hosts: &HostsArgs,
    vault: &Vault,
    deploy_to: Option<&str>,
    operation: Operation,
) -> anyhow::Result<i32> {
    let inventory = inventory_path(hosts.inventory.as_deref())?;
    let target = Target {
        inventory: &inventory,
        vault,
        pattern: &hosts.limit,
        deploy_to,
        connect: connect_options(&hosts.connection),
        become_password: become_password(),
    };
    let reports = run_operation(target, &operation).await?;
    let width = reports.iter().map(|r| r.host.len()).max().unwrap_or(0);
    for report in &reports {
        let mark = if report.ok { "ok    " } else { "FAILED" };
        println!("{:width$}  {mark}  {}", report.host, report.summary);
    }
    Ok(if reports.iter().all(|r| r.ok) {
        EXIT_OK
    } else {
        deployer::error::EXIT_HOST_FAILED
    })
}

async fn ping(args: PingArgs, vault: &Vault) -> anyhow::Result<i32> {
    let inventory = inventory_path(args.inventory.as_deref())?;
    let connect = connect_options(&args.connection);
    let results = deployer::ping(&inventory, vault, &args.limit, connect).await?;
    let width = results.iter().map(|r| r.host.len()).max().unwrap_or(0);
    let mut code = EXIT_OK;
    for result in &results {
        match &result.outcome {
            Ok(rtt) => println!(
                "{:width$}  ok           {:.1} ms",
                result.host,
                rtt.as_secs_f64() * 1000.0
            ),
            Err(reason) => {
                code = deployer::error::EXIT_UNREACHABLE;
                println!("{:width$}  UNREACHABLE  {reason}", result.host);
            }
        }
    }
    Ok(code)
}

fn log(args: &LogArgs) -> anyhow::Result<i32> {
    let runs_dir = match (&args.runs_dir, &args.playbook) {
        (Some(dir), _) => dir.clone(),
        (None, Some(playbook)) => runlog::default_runs_dir(playbook),
        (None, None) => runlog::runs_dir_under(Path::new("."), args.run_id.as_deref()),
    };
    let events = runlog::find_run(&runs_dir, args.run_id.as_deref())
        .map_err(|e| Error::Usage(e.to_string()))?;
    let lines = runlog::read_lines(&events)?;
    match args.format {
        Format::Json => lines.iter().for_each(|line| println!("{line}")),
        Format::Text => print!(
            "run log {}\n{}",
            events.display(),
            runlog::summarize(&lines)
        ),
    }
    Ok(EXIT_OK)
}

fn vault_command(action: VaultAction, vault: &Vault) -> anyhow::Result<i32> {
    let password = || -> anyhow::Result<String> {
        let given = vault.password().map(str::to_string);
        let password = given.ok_or_else(|| {
            Error::Usage(format!(
                "no vault password: pass --vault-password-file FILE or set {VAULT_PASSWORD_ENV}"
            ))
        })?;
        Ok(password)
    };
    match action {
        VaultAction::Encrypt(args) => {
            let plaintext = std::fs::read(&args.file)
                .with_context(|| format!("reading {}", args.file.display()))?;
            if vault_format::is_vault(&String::from_utf8_lossy(&plaintext)) {
                let message = format!("{} is already vault-encrypted", args.file.display());
                return Err(Error::Usage(message).into());
            }
            let text = vault_format::encrypt(&plaintext, &password()?)?;
            write_output(
                args.output.as_deref().unwrap_or(&args.file),
                text.as_bytes(),
            )?;
            eprintln!("Encryption successful");
        }
        VaultAction::Decrypt(args) => {
            let plaintext = decrypt_file(&args.file, &password()?)?;
            write_output(args.output.as_deref().unwrap_or(&args.file), &plaintext)?;
            if args.output.as_deref() != Some(Path::new("-")) {
                eprintln!("Decryption successful");
            }
        }
        VaultAction::Edit(args) => {
            let password = password()?;
            let before = if args.file.exists() {
                decrypt_file(&args.file, &password)?.to_vec()
            } else {
                Vec::new()
            };
            let draft = tempfile::Builder::new().suffix(".yml").tempfile()?;
            std::fs::write(draft.path(), &before)?;
            let editor = std::env::var("VISUAL")
                .or_else(|_| std::env::var("EDITOR"))
                .unwrap_or_else(|_| "vi".into());
            let mut words = shlex::split(&editor).unwrap_or_default().into_iter();
            let program = words.next().unwrap_or_else(|| "vi".into());
            let status = std::process::Command::new(&program)
                .args(words)
                .arg(draft.path())
                .status()
                .with_context(|| format!("starting the editor `{editor}`"))?;
            anyhow::ensure!(status.success(), "the editor `{editor}` failed ({status})");
            let after = zeroize::Zeroizing::new(std::fs::read(draft.path())?);
            if *after != before || !args.file.exists() {
                let text = vault_format::encrypt(&after, &password)?;
                write_output(&args.file, text.as_bytes())?;
            }
        }
    }
    Ok(EXIT_OK)
}

fn decrypt_file(path: &Path, password: &str) -> anyhow::Result<zeroize::Zeroizing<Vec<u8>>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if !vault_format::is_vault(&text) {
        return Err(Error::Usage(format!("{} is not vault-encrypted", path.display())).into());
    }
    vault_format::decrypt(&text, password)
        .map_err(|e| Error::Usage(format!("{}: {e}", path.display())).into())
}

/// Writes a command's result to `path`, or to standard output for `-`.
fn write_output(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if path == Path::new("-") {
        use std::io::Write;
        std::io::stdout().write_all(bytes)?;
        return Ok(());
    }
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}
