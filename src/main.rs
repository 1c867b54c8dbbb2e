//! The `deployer` command line: parse arguments, call the library, render errors once, and map
//! the outcome to an exit code.

mod cli;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;

use cli::{
    Cli, Command, ConnectionArgs, Format, HostsArgs, PingArgs, PlanArgs, RunArgs, SelectArgs,
    TargetArgs,
};
use deployer::error::{EXIT_ERROR, EXIT_OK};
use deployer::execute::{RunOptions, TagFilter};
use deployer::fleet_ops::{Operation, run_operation};
use deployer::report::{Fanout, JsonReporter, TerminalReporter};
use deployer::template::Templater;
use deployer::transport::ConnectOptions;
use deployer::{Error, Inputs};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_ERROR as u8);
        }
    };
    let code = match runtime.block_on(dispatch(cli.command)) {
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

/// Sends the library's diagnostics (host key warnings, SSH details) to stderr, filtered by
/// `DEPLOYER_LOG` (tracing's `EnvFilter` syntax, e.g. `debug` or `deployer::transport=debug`);
/// warnings only by default.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DEPLOYER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .init();
}

async fn dispatch(command: Command) -> anyhow::Result<i32> {
    match command {
        Command::Run(args) => run(args).await,
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

async fn run(args: RunArgs) -> anyhow::Result<i32> {
    let options = RunOptions {
        check: args.check,
        diff: args.diff,
        forks: args.forks,
        limit: args.select.limit.clone(),
        tags: args.select.tags.clone(),
        skip_tags: args.select.skip_tags.clone(),
    };
    let mut reporters = Fanout::default();
    reporters.push(match args.format {
        Format::Json => Box::new(JsonReporter::new(std::io::stdout())),
        Format::Text => {
            let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            Box::new(TerminalReporter::new(
                std::io::stdout(),
                colour,
                args.verbose,
            ))
        }
    });
    let recap = deployer::run(
        &inputs(&args.target),
        &options,
        connect_options(&args.connection),
        Box::new(reporters),
    )
    .await?;
    Ok(deployer::exit_code(&recap))
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
