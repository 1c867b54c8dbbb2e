//! `deployer completions` and `deployer man`, generated from the clap definition.

use std::process::Command;

use crate::support::Project;

#[test]
fn completion_scripts_are_valid_and_know_the_subcommands() {
    let project = Project::new();
    for (shell, marker) in [
        ("bash", "_deployer()"),
        ("zsh", "#compdef deployer"),
        ("fish", "complete -c deployer"),
    ] {
        let out = project.run(&["completions", shell]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(out.stdout.contains(marker), "{shell}: {}", out.stdout);
        assert!(out.stdout.contains("rollback"), "{shell}");
    }
    let script = project.run(&["completions", "bash"]).stdout;
    let path = project.join("deployer.bash");
    std::fs::write(&path, script).unwrap();
    let check = Command::new("bash").arg("-n").arg(&path).output().unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert_eq!(project.run(&["completions", "tcsh"]).code, 2);
}

#[test]
fn the_man_page_covers_every_subcommand_and_the_committed_one_is_current() {
    let out = Project::new().run(&["man"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.starts_with(".ie \\n(.g .ds Aq"),
        "{}",
        &out.stdout[..80]
    );
    assert!(
        out.stdout.contains(".TH deployer 1"),
        "{}",
        &out.stdout[..200]
    );
    for sub in ["deployer run", "deployer inventory", "deployer completions"] {
        assert!(out.stdout.contains(sub), "{sub} missing");
    }
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/deployer.1"))
            .expect("docs/deployer.1 exists");
    assert!(
        committed == out.stdout,
        "docs/deployer.1 is stale: regenerate it with `deployer man > docs/deployer.1`"
    );
}
