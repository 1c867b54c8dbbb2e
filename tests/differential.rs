//! Differential testing against Ansible: each playbook of `tests/differential/` runs with
//! `ansible-playbook` on a fresh folder of every fleet host and with deployer on another, and the
//! two folders must end up the same (paths, types, modes, owners, link counts, link targets and
//! contents; times are ignored) with the same exit code and the same recap counts per host.
//! Deliberate differences (docs/modules.md) are listed in [`EXCLUDED`] and left out of the
//! comparison explicitly; the recaps must always match.
//!
//! Needs `ansible-playbook`: the file `DEPLOYER_ANSIBLE_PLAYBOOK` names, else the one on `PATH`.
//! Without one the tests skip loudly, or fail when `DEPLOYER_REQUIRE_ANSIBLE` is set (CI sets it).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::fleet::{Fleet, fleet};
use crate::support::{Output, skip};

/// Tree entries that differ on purpose (docs/modules.md, "Differences from Ansible found by
/// differential testing"): (playbook, a fragment of the entry's line, why).
const EXCLUDED: &[(&str, &str, &str)] = &[
    (
        "apt_key",
        "./ring.gpg ",
        "gpg writes trust packets into a keyring; deployer writes the keys' packets only (the \
         keys, listed by id in `results`, are the same)",
    ),
    (
        "apt_key",
        "./ring.gpg~ ",
        "gpg's backup of the keyring it rewrote",
    ),
    (
        "apt_key",
        "./other.gpg ",
        "gpg creates an empty keyring when listing a missing one, even in check mode",
    ),
    (
        "loops",
        "./a/v.txt ",
        "Ansible 2.19 turns the text \"1\\n\" of `{{ item.v }}\\n` into the number 1 (no line break)",
    ),
    (
        "loops",
        "./b/v.txt ",
        "Ansible 2.19 turns the text \"2\\n\" of `{{ item.v }}\\n` into the number 2 (no line break)",
    ),
    (
        "unarchive_remote",
        "./out/.deployer-unarchive.bundle.tgz ",
        "deployer's unarchive keeps a marker of the archive's SHA-256 in `dest`",
    ),
];

/// The playbooks, one test each; `corpus_lists_every_playbook` keeps this list complete.
macro_rules! corpus {
    ($($name:ident),* $(,)?) => {
        const CORPUS: &[&str] = &[$(stringify!($name)),*];
        $(
            #[test]
            fn $name() {
                compare(stringify!($name));
            }
        )*
    };
}

corpus!(
    ansible_code,
    apt_key,
    assemble,
    block_rescue,
    blockinfile,
    collections_fallback,
    command,
    copy,
    deb822_repository,
    dnf_on_debian,
    dynamic_inventory,
    file,
    filters,
    getent,
    handlers,
    include_vars,
    includes,
    keywords,
    keywords_rollout,
    lineinfile,
    lookups,
    loops,
    meta,
    mount,
    reboot,
    replace,
    serial_run_once,
    setup,
    synchronize,
    tempfile,
    template,
    unarchive_remote,
    when_register,
);

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/differential")
}

#[test]
fn corpus_lists_every_playbook() {
    let mut found: Vec<String> = std::fs::read_dir(corpus_dir())
        .expect("tests/differential exists")
        .filter_map(|e| {
            let name = e.expect("an entry").file_name().into_string().ok()?;
            name.strip_suffix(".yml").map(str::to_string)
        })
        .collect();
    found.sort();
    assert_eq!(found, CORPUS, "add new playbooks to the corpus! list");
}

/// `ansible-playbook`, or `None` (the test noted as skipped) where there is none.
pub fn ansible_playbook() -> Option<&'static Path> {
    static ANSIBLE: OnceLock<Option<PathBuf>> = OnceLock::new();
    let found = ANSIBLE
        .get_or_init(|| {
            let found = std::env::var_os("DEPLOYER_ANSIBLE_PLAYBOOK")
                .map(PathBuf::from)
                .or_else(|| {
                    std::env::split_paths(&std::env::var_os("PATH")?)
                        .map(|dir| dir.join("ansible-playbook"))
                        .find(|path| path.is_file())
                });
            if found.is_none() {
                assert!(
                    std::env::var_os("DEPLOYER_REQUIRE_ANSIBLE").is_none(),
                    "DEPLOYER_REQUIRE_ANSIBLE is set but no ansible-playbook was found \
                     (set DEPLOYER_ANSIBLE_PLAYBOOK)"
                );
            }
            found
        })
        .as_deref();
    if found.is_none() {
        skip(
            "differential",
            "no ansible-playbook (set DEPLOYER_ANSIBLE_PLAYBOOK or put it on PATH)",
        );
    }
    found
}

/// A folder holding the Ansible configuration for the fleet, shared by the tests.
pub fn ansible_home() -> &'static Path {
    static HOME: OnceLock<tempfile::TempDir> = OnceLock::new();
    HOME.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let config = format!(
            "[defaults]\nhost_key_checking = True\nretry_files_enabled = False\nnocolor = True\n\
             interpreter_python = /usr/bin/python3\nforks = 10\nlocal_tmp = {0}/tmp\n\
             [ssh_connection]\npipelining = True\ncontrol_path_dir = {0}/cp\n",
            dir.path().display()
        );
        std::fs::write(dir.path().join("ansible.cfg"), config).expect("ansible.cfg");
        dir
    })
    .path()
}

fn run_ansible(ansible: &Path, fleet: &Fleet, playbook: &Path, root: &str) -> Output {
    Command::new(ansible)
        .arg(playbook)
        .args(["-i".as_ref(), fleet.inventory().as_os_str()])
        .args(["-e", &format!("root={root}")])
        .env("ANSIBLE_CONFIG", ansible_home().join("ansible.cfg"))
        .env("LC_ALL", "C.UTF-8")
        .env("ANSIBLE_NOCOLOR", "1")
        .output()
        .expect("ansible-playbook runs")
        .into()
}

fn run_deployer(ansible: &Path, fleet: &Fleet, playbook: &Path, root: &str) -> Output {
    let runs = tempfile::tempdir().expect("a temporary runs folder");
    Command::new(env!("CARGO_BIN_EXE_deployer"))
        .arg("run")
        .arg(playbook)
        .args(["-i".as_ref(), fleet.inventory().as_os_str()])
        .args(["-e", &format!("root={root}")])
        .arg("--runs-dir")
        .arg(runs.path())
        .env("NO_COLOR", "1")
        // deployer runs the modules it has not built in with the Ansible beside this one.
        .env("PATH", path_with(ansible.parent().expect("a folder")))
        .output()
        .expect("deployer runs")
        .into()
}

/// Whether `ansible-galaxy` beside `ansible` lists `collection`.
fn has_collection(ansible: &Path, collection: &str) -> bool {
    let galaxy = ansible.with_file_name("ansible-galaxy");
    Command::new(galaxy)
        .args(["collection", "list", collection])
        .env("ANSIBLE_CONFIG", ansible_home().join("ansible.cfg"))
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains(collection))
}

/// `PATH` with `dir` first.
pub fn path_with(dir: &Path) -> std::ffi::OsString {
    let rest = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(dir.to_path_buf()).chain(std::env::split_paths(&rest)))
        .expect("a valid PATH")
}

/// A host's tree without the entries [`EXCLUDED`] names for `playbook` (an entry's line and the
/// hash or link line after it).
fn comparable(playbook: &str, tree: &str) -> String {
    let mut kept = Vec::new();
    let mut skip_next = false;
    for line in tree.lines() {
        if std::mem::take(&mut skip_next) && !line.starts_with("./") {
            continue;
        }
        if EXCLUDED
            .iter()
            .any(|(name, fragment, _)| *name == playbook && line.contains(fragment))
        {
            skip_next = true;
            continue;
        }
        kept.push(line);
    }
    kept.join("\n")
}

/// Runs one playbook with both tools on fresh folders and compares what they left.
fn compare(name: &str) {
    let Some(ansible) = ansible_playbook() else {
        return;
    };
    let Some(fleet) = fleet() else { return };
    let playbook = corpus_dir().join(format!("{name}.yml"));
    if let Some(collection) = needed_collection(&playbook)
        && !has_collection(ansible, &collection)
    {
        skip(
            "differential",
            &format!("the ansible-playbook has no {collection} collection (pip install ansible)"),
        );
        return;
    }
    let base = format!("/tmp/differential/{name}");
    let hosts = fleet.app_hosts();
    for host in &hosts {
        let (code, out) = fleet.exec(
            host,
            &format!(
                "rm -rf {base} && mkdir -p {base}/ansible {base}/deployer && chown -R deploy: {base}"
            ),
        );
        assert_eq!(code, 0, "{out}");
    }
    let by_ansible = run_ansible(ansible, fleet, &playbook, &format!("{base}/ansible"));
    let by_deployer = run_deployer(ansible, fleet, &playbook, &format!("{base}/deployer"));
    let both = format!(
        "{name}: ansible-playbook printed:\n{}{}\ndeployer printed:\n{}{}",
        by_ansible.stdout, by_ansible.stderr, by_deployer.stdout, by_deployer.stderr
    );
    assert_eq!(
        by_ansible.code, by_deployer.code,
        "exit codes differ; {both}"
    );
    for host in &hosts {
        assert_eq!(
            by_deployer.recap(host),
            by_ansible.recap(host),
            "{host}: recaps differ (left: deployer, right: ansible); {both}"
        );
        assert_eq!(
            comparable(name, &fleet.tree(host, &format!("{base}/deployer"))),
            comparable(name, &fleet.tree(host, &format!("{base}/ansible"))),
            "{host}: trees differ (left: deployer, right: ansible); {both}"
        );
    }
}

/// The collection a playbook's first line says it needs (`# needs: ansible.posix`).
fn needed_collection(playbook: &Path) -> Option<String> {
    let text = std::fs::read_to_string(playbook).expect("a readable playbook");
    let first = text.lines().next()?;
    Some(first.strip_prefix("# needs: ")?.trim().to_string())
}
