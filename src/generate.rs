//! `deployer completions SHELL` and `deployer man`: shell completions and the man page, generated
//! from the command line's clap definition so they never drift from it.

use std::io::Write;

use clap::CommandFactory;

use crate::cli::{Cli, Shell};

/// Prints the completion script for `shell`.
pub fn completions(shell: Shell, out: &mut impl Write) {
    let mut command = Cli::command();
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    clap_complete::generate(shell, &mut command, "deployer", out);
}

/// Prints the man page `deployer.1` (roff): the command, then each subcommand's synopsis and
/// options.
pub fn man_page(out: &mut impl Write) -> std::io::Result<()> {
    let command = Cli::command();
    clap_mangen::Man::new(command.clone()).render(out)?;
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("deployer {}", sub.get_name());
        let page = clap_mangen::Man::new(sub.clone().bin_name(name.clone()).display_name(name));
        page.render_synopsis_section(out)?;
        page.render_description_section(out)?;
        page.render_options_section(out)?;
    }
    Ok(())
}
