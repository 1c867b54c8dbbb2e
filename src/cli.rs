//! The command line's shape (clap derive). No logic lives here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Ansible playbooks, compiled and checked, run over SSH through a bastion.
#[derive(Debug, Parser)]
#[command(name = "deployer", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// A file holding the vault password (else ansible.cfg's, else DEPLOYER_VAULT_PASSWORD, else
    /// a prompt on a terminal).
    #[arg(long, global = true, value_name = "FILE")]
    pub vault_password_file: Option<PathBuf>,
    /// Connection and privilege options named as `ansible-playbook` names them.
    #[command(flatten)]
    pub login: LoginArgs,
}

/// `ansible-playbook`'s connection and privilege escalation options. Like Ansible's command line,
/// they beat ansible.cfg and lose to the inventory's and the playbook's own settings
/// (`ansible_user`, `ansible_connection`, a play's `become`).
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Log in as this user (`remote_user`).
    #[arg(short = 'u', long = "user", global = true, value_name = "USER")]
    pub user: Option<String>,
    /// The connection type for hosts that set none: `ssh` or `local`.
    #[arg(short = 'c', long = "connection", global = true, value_name = "TYPE")]
    pub connection: Option<String>,
    /// The private key file for SSH logins.
    #[arg(
        long = "private-key",
        visible_alias = "key-file",
        global = true,
        value_name = "FILE"
    )]
    pub private_key: Option<PathBuf>,
    /// Run tasks with `become` (as root, or `--become-user`).
    #[arg(short = 'b', long = "become", global = true)]
    pub become_: bool,
    /// The user `become` switches to.
    #[arg(long = "become-user", global = true, value_name = "USER")]
    pub become_user: Option<String>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a playbook against an inventory.
    Run(RunArgs),
    /// Compile a playbook and inventory and report every problem; touches no host.
    Validate(ValidateArgs),
    /// Print the compiled graph: plays, host batches and steps (deterministic).
    Plan(PlanArgs),
    /// Show an inventory's hosts, groups and variables.
    Inventory(InventoryArgs),
    /// Check that every host answers, and how fast.
    Ping(PingArgs),
    /// List each host's releases and which one is current.
    Releases(ReleaseArgs),
    /// Switch hosts back to their previous release (or `--to ID`) and reload.
    Rollback(RollbackArgs),
    /// Remove the deploy lock on hosts (for a crashed run's stale lock).
    Unlock(HostsArgs),
    /// Show the log of the last run, or of a given run.
    Log(LogArgs),
    /// Encrypt, decrypt or edit vault files (Ansible Vault 1.1 format).
    Vault(VaultArgs),
    /// Print a shell completion script (e.g. `deployer completions bash > /etc/bash_completion.d/deployer`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Print the man page (roff; `deployer man > deployer.1`).
    Man,
    /// The remote shell `synchronize` gives rsync: relays the command to the running deployer,
    /// which runs it over its own connection to the host.
    #[command(name = "rsync-tunnel", hide = true)]
    RsyncTunnel {
        /// The running deployer's socket.
        socket: PathBuf,
        /// What rsync passes a remote shell: `[-l USER] HOST COMMAND...`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

/// Shells with completion scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    /// bash.
    Bash,
    /// zsh.
    Zsh,
    /// fish.
    Fish,
}

/// A playbook and the inventory it runs against.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// The playbook file.
    pub playbook: PathBuf,
    /// The inventory: a file or folder, or a name under `inventories/` (default: ansible.cfg's).
    #[arg(short = 'i', long = "inventory", value_name = "INVENTORY")]
    pub inventory: Option<String>,
    /// Extra variables: `k=v`, YAML/JSON, or `@file` (repeatable; they beat every other level).
    #[arg(short = 'e', long = "extra-vars", value_name = "VARS")]
    pub extra_vars: Vec<String>,
}

/// What `validate` checks.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The playbook, inventory and variables.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Also refuse problems in files loaded only at run time (dynamic includes), which are
    /// otherwise warnings.
    #[arg(long)]
    pub strict: bool,
}

/// Host and tag selection shared by `run` and `plan`.
#[derive(Debug, Args)]
pub struct SelectArgs {
    /// Only hosts matching this pattern.
    #[arg(short = 'l', long = "limit", value_name = "PATTERN")]
    pub limit: Option<String>,
    /// Only tasks with these tags (comma-separated or repeated).
    #[arg(short = 't', long = "tags", value_delimiter = ',')]
    pub tags: Vec<String>,
    /// Skip tasks with these tags.
    #[arg(long = "skip-tags", value_delimiter = ',')]
    pub skip_tags: Vec<String>,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Lines for people.
    Text,
    /// One JSON object per line.
    Json,
}

/// `deployer run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Playbook, inventory and variables.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Host and tag selection.
    #[command(flatten)]
    pub select: SelectArgs,
    /// Run only the hosts that failed or were unreachable in the latest logged run (within
    /// `--limit`), like Ansible's `.retry` files.
    #[arg(long)]
    pub retry_failed: bool,
    /// Report what would change without changing anything.
    #[arg(short = 'C', long)]
    pub check: bool,
    /// Show diffs of changed files.
    #[arg(short = 'D', long)]
    pub diff: bool,
    /// How many hosts run a task at the same time (default: ansible.cfg's, else 25).
    #[arg(short = 'f', long)]
    pub forks: Option<usize>,
    /// More output (-v results, -vv commands and their output, -vvv SSH details, -vvvv all).
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also write a JUnit XML report (one test case per host and task) to this file.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Connection settings.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Run log settings.
    #[command(flatten)]
    pub logging: LoggingArgs,
}

/// Where a run's log and notifications go.
#[derive(Debug, Args)]
pub struct LoggingArgs {
    /// The runs folder (default: `.deployer/runs` beside the playbook).
    #[arg(long, env = "DEPLOYER_RUN_DIR", value_name = "DIR")]
    pub runs_dir: Option<PathBuf>,
    /// Also ship the run log to `http(s)://HOST[:PORT]/PATH` or `syslog://HOST:PORT`.
    #[arg(long, env = "DEPLOYER_LOG_SINK", value_name = "URL")]
    pub log_sink: Option<String>,
    /// A Slack-compatible webhook told of the run's start and outcome (beats the
    /// `deployer_notify_webhook` variable).
    #[arg(
        long,
        env = "DEPLOYER_NOTIFY_WEBHOOK",
        value_name = "URL",
        hide_env_values = true
    )]
    pub notify_webhook: Option<String>,
}

/// `deployer log`.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// The run to show (default: the latest).
    pub run_id: Option<String>,
    /// The runs folder (default: `.deployer/runs` beside `--playbook`, else the one beside the
    /// playbooks under this folder that holds the newest run).
    #[arg(long, env = "DEPLOYER_RUN_DIR", value_name = "DIR")]
    pub runs_dir: Option<PathBuf>,
    /// The playbook whose runs to look at.
    #[arg(long, value_name = "PLAYBOOK", conflicts_with = "runs_dir")]
    pub playbook: Option<PathBuf>,
    /// `text`: a readable summary; `json`: the logged lines as they are.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `deployer vault`.
#[derive(Debug, Args)]
pub struct VaultArgs {
    /// What to do with the file.
    #[command(subcommand)]
    pub action: VaultAction,
}

/// The vault subcommands.
#[derive(Debug, Subcommand)]
pub enum VaultAction {
    /// Encrypt a file (in place, or to --output).
    Encrypt(VaultFileArgs),
    /// Decrypt a file (in place, or to --output; `-` is standard output).
    Decrypt(VaultFileArgs),
    /// Decrypt into a private temporary file, open $EDITOR on it, and encrypt the result back.
    Edit(VaultEditArgs),
}

/// A file to encrypt or decrypt.
#[derive(Debug, Args)]
pub struct VaultFileArgs {
    /// The file.
    pub file: PathBuf,
    /// Write the result here instead of replacing the file (`-`: standard output).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// A file to edit.
#[derive(Debug, Args)]
pub struct VaultEditArgs {
    /// The vault file (created when missing).
    pub file: PathBuf,
}

/// SSH connection settings.
#[derive(Debug, Args)]
pub struct ConnectionArgs {
    /// Record the host keys of hosts never seen before (like OpenSSH's accept-new).
    #[arg(long)]
    pub accept_new_host_keys: bool,
    /// Do not verify host keys at all. Insecure: anyone on the path can impersonate the hosts.
    #[arg(long)]
    pub insecure_ignore_host_keys: bool,
    /// Seconds to wait for a connection (default: ansible.cfg's, else 10).
    #[arg(long)]
    pub timeout: Option<u64>,
    /// Seconds of silence before a connection is pinged; one that answers none of 3 pings in a
    /// row is dropped and its hosts are unreachable.
    #[arg(long, value_name = "SECONDS", default_value_t = 15,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub keepalive: u64,
    /// Open an SSH session for every command instead of keeping one shell per host (and become
    /// user) for the whole run; each session costs the host a login.
    #[arg(long)]
    pub session_per_command: bool,
}

/// `deployer plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Playbook, inventory and variables.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Host and tag selection.
    #[command(flatten)]
    pub select: SelectArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `deployer inventory`.
#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// The inventory: a file or folder, or a name under `inventories/` (default: ansible.cfg's).
    #[arg(short = 'i', long = "inventory", value_name = "INVENTORY")]
    pub inventory: Option<String>,
    /// Print every host and group with variables as JSON (like `ansible-inventory --list`).
    #[arg(long, conflicts_with = "graph")]
    pub list: bool,
    /// Print the group tree (like `ansible-inventory --graph`), optionally from one group.
    #[arg(long, num_args = 0..=1, default_missing_value = "all", value_name = "GROUP")]
    pub graph: Option<String>,
}

/// An inventory, a host pattern and connection settings: what commands on hosts need.
#[derive(Debug, Args)]
pub struct HostsArgs {
    /// The inventory: a file or folder, or a name under `inventories/` (default: ansible.cfg's).
    #[arg(short = 'i', long = "inventory", value_name = "INVENTORY")]
    pub inventory: Option<String>,
    /// Only hosts matching this pattern.
    #[arg(
        short = 'l',
        long = "limit",
        value_name = "PATTERN",
        default_value = "all"
    )]
    pub limit: String,
    /// Connection settings.
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// `deployer ping`.
pub type PingArgs = HostsArgs;

/// `deployer releases`.
#[derive(Debug, Args)]
pub struct ReleaseArgs {
    /// Inventory, hosts and connection.
    #[command(flatten)]
    pub hosts: HostsArgs,
    /// The releases folder (default: each host's `deploy_to` variable).
    #[arg(long)]
    pub deploy_to: Option<String>,
}

/// `deployer rollback`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// Inventory, hosts, connection and releases folder.
    #[command(flatten)]
    pub release: ReleaseArgs,
    /// The release to switch to (default: the one before the current).
    #[arg(long, value_name = "ID")]
    pub to: Option<String>,
}
