//! The real-world corpus (`tests/realworld/`, see its README): public roles and playbooks as
//! published, each with a `play.yml` and an `inventory.yml`. Every case goes through the real
//! `deployer validate` and `deployer plan`, and the outcome must match `expected.tsv`, so an
//! accepted case never silently regresses and a newly accepted one is noticed.
//! `DEPLOYER_REALWORLD_BLESS=1` rewrites the list from today's outcome (keeping the ansible-core
//! column, which `tools/ansible_verdicts.py` fills in).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::support::Output;

/// The corpus folder.
pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/realworld")
}

/// The cases: every folder of the corpus holding a `play.yml`, sorted.
pub fn cases() -> Vec<String> {
    let mut found: Vec<String> = std::fs::read_dir(corpus_dir())
        .expect("tests/realworld exists")
        .filter_map(|e| {
            let entry = e.expect("an entry");
            let name = entry.file_name().into_string().ok()?;
            entry.path().join("play.yml").is_file().then_some(name)
        })
        .collect();
    found.sort();
    found
}

/// One row of `expected.tsv`: what ansible-core and deployer make of a case.
#[derive(Clone, Debug, PartialEq)]
struct Row {
    ansible: String,
    validate: String,
    plan: String,
    first_error: String,
}

const HEADER: &str = "# case\tansible-core\tdeployer validate\tdeployer plan\tfirst error line";

fn expected_path() -> PathBuf {
    corpus_dir().join("expected.tsv")
}

fn read_expected() -> BTreeMap<String, Row> {
    let text = std::fs::read_to_string(expected_path()).unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            assert_eq!(cols.len(), 5, "expected.tsv: five columns in {line:?}");
            let row = Row {
                ansible: cols[1].into(),
                validate: cols[2].into(),
                plan: cols[3].into(),
                first_error: cols[4].into(),
            };
            (cols[0].to_string(), row)
        })
        .collect()
}

fn write_expected(rows: &BTreeMap<String, Row>) {
    let mut text = format!("{HEADER}\n");
    for (case, row) in rows {
        text.push_str(&format!(
            "{case}\t{}\t{}\t{}\t{}\n",
            row.ansible, row.validate, row.plan, row.first_error
        ));
    }
    std::fs::write(expected_path(), text).expect("write expected.tsv");
}

/// `deployer COMMAND play.yml -i inventory.yml` in the case's folder.
fn deployer(case: &str, command: &str) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_deployer"))
        .args([command, "play.yml", "-i", "inventory.yml"])
        .current_dir(corpus_dir().join(case))
        .env("NO_COLOR", "1")
        .env_remove("DEPLOYER_VAULT_PASSWORD")
        .output()
        .expect("deployer runs")
        .into()
}

/// `accepted` or `rejected`, from an exit code.
fn verdict(output: &Output) -> &'static str {
    if output.code == 0 {
        "accepted"
    } else {
        "rejected"
    }
}

/// The first line naming an error, tabs flattened, or `-`.
fn first_error(output: &Output) -> String {
    format!("{}\n{}", output.stderr, output.stdout)
        .lines()
        .find(|l| l.starts_with("error"))
        .map(|l| l.replace('\t', " "))
        .unwrap_or_else(|| "-".into())
}

/// Today's row of a case (the ansible-core column is left empty).
fn outcome(case: &str) -> Row {
    let validate = deployer(case, "validate");
    let plan = deployer(case, "plan");
    let first = match first_error(&validate).as_str() {
        "-" => first_error(&plan),
        line => line.to_string(),
    };
    Row {
        ansible: String::new(),
        validate: verdict(&validate).into(),
        plan: verdict(&plan).into(),
        first_error: first,
    }
}

/// Every case's outcome, computed on as many threads as the machine has cores.
fn outcomes(cases: &[String]) -> BTreeMap<String, Row> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = cases.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|case| (case.clone(), outcome(case)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a corpus thread"))
            .collect()
    })
}

#[test]
fn corpus_matches_the_expectation_list() {
    let cases = cases();
    assert!(cases.len() >= 60, "the corpus has {} cases", cases.len());
    let expected = read_expected();
    let mut actual = outcomes(&cases);
    for (case, row) in &mut actual {
        row.ansible = expected
            .get(case)
            .map_or_else(|| "unchecked".into(), |e| e.ansible.clone());
    }
    if std::env::var_os("DEPLOYER_REALWORLD_BLESS").is_some() {
        write_expected(&actual);
        return;
    }
    let mut problems = Vec::new();
    for case in expected.keys().filter(|c| !actual.contains_key(*c)) {
        problems.push(format!(
            "{case}: listed in expected.tsv but not in the corpus"
        ));
    }
    for (case, row) in &actual {
        match expected.get(case) {
            None => problems.push(format!("{case}: not in expected.tsv (bless it)")),
            Some(e) if !["accepted", "rejected"].contains(&e.ansible.as_str()) => problems.push(
                format!("{case}: no ansible-core verdict (run tools/ansible_verdicts.py)"),
            ),
            Some(e) if e != row => problems.push(format!(
                "{case}: expected validate={} plan={} `{}`, got validate={} plan={} `{}`",
                e.validate, e.plan, e.first_error, row.validate, row.plan, row.first_error
            )),
            Some(_) => {}
        }
    }
    assert!(
        problems.is_empty(),
        "the corpus differs from tests/realworld/expected.tsv (DEPLOYER_REALWORLD_BLESS=1 \
         rewrites it once the change is intended):\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_case_names_its_source_and_license() {
    for case in cases() {
        let dir = corpus_dir().join(&case);
        let source = std::fs::read_to_string(dir.join("SOURCE")).unwrap_or_default();
        for field in [
            "repo: https://github.com/",
            "commit: ",
            "path: ",
            "license: ",
        ] {
            assert!(source.contains(field), "{case}/SOURCE lacks `{field}`");
        }
        assert!(dir.join("LICENSE").is_file(), "{case} has no LICENSE");
        assert!(
            dir.join("inventory.yml").is_file(),
            "{case} has no inventory"
        );
    }
}
