//! The GitHub Action's release install (`scripts/install-release`), against a release laid out
//! as cargo-dist lays it out, served from a `file://` folder.

use crate::support::Project;
use std::path::Path;
use std::process::Command;

const TARGET: &str = "x86_64-unknown-linux-musl";

/// A release `tag` in `releases/`, as cargo-dist publishes it: the archive, and its sum (`sum`
/// when given, else the right one). Its `deployer` is a stand-in script that prints a version
/// (the installer is under test, and compressing the real debug binary takes minutes).
fn publish(project: &Project, tag: &str, sum: Option<&str>) {
    let name = format!("deployer-{TARGET}");
    let staging = project.join(&format!("build/{name}"));
    std::fs::create_dir_all(&staging).unwrap();
    let binary = staging.join("deployer");
    std::fs::write(&binary, format!("#!/bin/sh\necho 'deployer {tag}'\n")).unwrap();
    std::fs::set_permissions(&binary, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let release = project.join(&format!("releases/{tag}"));
    std::fs::create_dir_all(&release).unwrap();
    let archive = release.join(format!("{name}.tar.xz"));
    let tar = Command::new("tar")
        .arg("-cJf")
        .arg(&archive)
        .arg("-C")
        .arg(project.join("build"))
        .arg(&name)
        .status()
        .unwrap();
    assert!(tar.success());
    let sum = match sum {
        Some(sum) => sum.to_string(),
        None => {
            let out = Command::new("sha256sum").arg(&archive).output().unwrap();
            String::from_utf8(out.stdout).unwrap()[..64].to_string()
        }
    };
    std::fs::write(
        release.join(format!("{name}.tar.xz.sha256")),
        format!("{sum}  {name}.tar.xz\n"),
    )
    .unwrap();
}

struct Install {
    code: i32,
    stderr: String,
    output: String,
}

/// Runs the install script for `version` as a Linux x64 runner would.
fn install(project: &Project, version: &str) -> Install {
    let output = project.join("github_output");
    std::fs::write(&output, "").unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install-release");
    let run = Command::new(script)
        .args(["acme/deployer", version])
        .env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", "X64")
        .env("RUNNER_TEMP", project.join(""))
        .env("GITHUB_OUTPUT", &output)
        .env(
            "DEPLOYER_RELEASES_URL",
            format!("file://{}", project.join("releases").display()),
        )
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    Install {
        code: run.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&run.stderr).into_owned(),
        output: std::fs::read_to_string(output).unwrap(),
    }
}

#[test]
fn a_release_binary_is_checked_and_its_path_given() {
    let project = Project::new();
    publish(&project, "v1.2.0", None);
    let done = install(&project, "v1.2.0");
    assert_eq!(done.code, 0, "{}", done.stderr);
    let bin = done
        .output
        .strip_prefix("installed=true\nbin=")
        .unwrap_or_else(|| panic!("{}", done.output))
        .trim_end();
    assert!(
        bin.starts_with(&project.join("").display().to_string()),
        "{bin}"
    );
    let version = Command::new(bin).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout),
        "deployer v1.2.0\n"
    );
}

#[test]
fn a_binary_whose_sum_differs_is_refused() {
    let project = Project::new();
    publish(&project, "v1.2.0", Some(&"0".repeat(64)));
    let done = install(&project, "v1.2.0");
    assert_eq!(done.code, 1);
    assert!(done.stderr.contains("SHA-256"), "{}", done.stderr);
    assert_eq!(done.output, "");
}

#[test]
fn without_a_release_binary_the_action_builds_from_source() {
    let project = Project::new();
    publish(&project, "v1.2.0", None);
    for version in ["v9.9.9", "main", "source", ""] {
        let done = install(&project, version);
        assert_eq!(
            (done.code, done.output.as_str()),
            (0, "installed=false\n"),
            "{version}: {}",
            done.stderr
        );
    }
}
