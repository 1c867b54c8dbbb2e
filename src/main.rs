//! The `deployer` command line: parse arguments, call the library, render errors once, and map
//! the outcome to an exit code.

mod cli;

use std::io::{BufWriter, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use indicatif::MultiProgress;
use tracing_indicatif::writer::{IndicatifWriter, Stderr, Stdout};

use cli::{
    Cli, Command, ConnectionArgs, Format, HostsArgs, PingArgs, PlanArgs, RunArgs, SelectArgs,
    TargetArgs,
};
use deployer::error::{EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK};
use deployer::execute::{RunOptions, StopSignal, TagFilter};
use deployer::fleet_ops::{Operation, run_operation};
use deployer::report::{
    Fanout, GithubReporter, JsonReporter, JunitReporter, ProgressReporter, Reporter,
    TerminalReporter,
};
use deployer::template::Templater;
use deployer::transport::ConnectOptions;
use deployer::{Error, Inputs};

fn main() -> ExitCode {
    let cli = Cli::parse();
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
    let code = match runtime.block_on(dispatch(cli.command, screen, progress)) {
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
/// commands tasks run, `-vvv` SSH details, `-vvvv` everything. `RUST_LOG` overrides.
fn init_tracing(verbosity: u8, progress: Option<MultiProgress>, colour: bool) {
    let default = match verbosity {
        0 | 1 => "warn",
        2 => "warn,deployer::execute=debug",
        3 => "warn,deployer=debug",
        _ => "debug,deployer=trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .without_time()
        .with_target(verbosity >= 4);
    let _ = match progress {
        Some(multi) => logs
            .with_writer(IndicatifWriter::<Stderr>::new(multi))
            .try_init(),
        None => logs.with_writer(std::io::stderr).try_init(),
    };
}

async fn dispatch(
    command: Command,
    screen: Screen,
    progress: Option<MultiProgress>,
) -> anyhow::Result<i32> {
    match command {
        Command::Run(args) => run(args, screen, progress).await,
        Command::Validate(target) => validate(&target),
        Command::Plan(args) => plan(&args),
        Command::Inventory(args) => inventory(&args),
        Command::Ping(args) => ping(args).await,
        Command::Releases(args) => {
            fleet_operation(&args.hosts, args.deploy_to.as_deref(), Operation::List).await
        }
        Command::Rollback(args) => {
            let operation = Operation::Rollback(args.to.clone());
            fleet_operation(
                &args.release.hosts,
                args.release.deploy_to.as_deref(),
                operation,
            )
            .await
        }
        Command::Unlock(args) => fleet_operation(&args, None, Operation::Unlock).await,
    }
}

fn inputs(target: &TargetArgs) -> Inputs {
    Inputs {
        playbook: target.playbook.clone(),
        inventory: deployer::resolve_inventory(&target.inventory),
        extra_vars: target.extra_vars.clone(),
    }
}

fn connect_options(args: &ConnectionArgs) -> ConnectOptions {
    if args.insecure_ignore_host_keys {
        eprintln!(
            "WARNING: --insecure-ignore-host-keys: host keys are NOT verified; anyone on the network path can impersonate your hosts"
        );
    }
    ConnectOptions {
        accept_new_host_keys: args.accept_new_host_keys,
        insecure_ignore_host_keys: args.insecure_ignore_host_keys,
        connect_timeout: Duration::from_secs(args.timeout),
        ..ConnectOptions::default()
    }
}

fn tag_filter(select: &SelectArgs) -> TagFilter {
    TagFilter {
        only: select.tags.clone(),
        skip: select.skip_tags.clone(),
    }
}

async fn run(
    args: RunArgs,
    screen: Screen,
    progress: Option<MultiProgress>,
) -> anyhow::Result<i32> {
    let options = RunOptions {
        check: args.check,
        diff: args.diff,
        forks: args.forks,
        limit: args.select.limit.clone(),
        tags: args.select.tags.clone(),
        skip_tags: args.select.skip_tags.clone(),
        ..RunOptions::default()
    };
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
            reporters.push(Box::new(TerminalReporter::new(
                lines,
                screen.colour_stdout,
                args.verbose,
            )));
        }
        (Format::Text, None) => reporters.push(Box::new(TerminalReporter::new(
            std::io::stdout(),
            screen.colour_stdout,
            args.verbose,
        ))),
    }
    if let Some(path) = &args.junit {
        reporters.push(Box::new(JunitReporter::new(path)));
    }
    stop_on_ctrl_c(options.stop.clone())?;
    let recap = deployer::run(
        &inputs(&args.target),
        &options,
        connect_options(&args.connection),
        Box::new(reporters),
    )
    .await?;
    Ok(deployer::exit_code(&recap))
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

fn validate(target: &TargetArgs) -> anyhow::Result<i32> {
    let loaded = deployer::load(&inputs(target), &Templater::new())?;
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

fn plan(args: &PlanArgs) -> anyhow::Result<i32> {
    let loaded = deployer::load(&inputs(&args.target), &Templater::new())?;
    deployer::check_limit(&loaded.inventory, args.select.limit.as_deref())?;
    let plan = deployer::plan::build(
        &loaded.program,
        &loaded.inventory,
        args.select.limit.as_deref(),
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

fn inventory(args: &cli::InventoryArgs) -> anyhow::Result<i32> {
    let path = deployer::resolve_inventory(&args.inventory);
    let inventory = deployer::inventory::Inventory::load(&path).map_err(Error::Input)?;
    match &args.graph {
        Some(group) => match inventory.to_graph(Some(group)) {
            Some(graph) => println!("{graph}"),
            None => {
                return Err(
                    Error::Usage(format!("no group `{group}` in {}", path.display())).into(),
                );
            }
        },
        None => println!(
            "{}",
            serde_json::to_string_pretty(&inventory.to_list_json())?
        ),
    }
    Ok(EXIT_OK)
}

async fn fleet_operation(
    hosts: &HostsArgs,
    deploy_to: Option<&str>,
    operation: Operation,
) -> anyhow::Result<i32> {
    let inventory = deployer::resolve_inventory(&hosts.inventory);
    let connect = connect_options(&hosts.connection);
    let reports = run_operation(&inventory, &hosts.limit, deploy_to, &operation, connect).await?;
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

async fn ping(args: PingArgs) -> anyhow::Result<i32> {
    let inventory = deployer::resolve_inventory(&args.inventory);
    let results =
        deployer::ping(&inventory, &args.limit, connect_options(&args.connection)).await?;
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
