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

impl Row {
    fn from_cols(cols: &[String]) -> Self {
        let [ansible, validate, plan, first_error] = cols else {
            panic!("expected.tsv: five columns in {cols:?}");
        };
        Row {
            ansible: ansible.clone(),
            validate: validate.clone(),
            plan: plan.clone(),
            first_error: first_error.clone(),
        }
    }

    fn cols(&self) -> Vec<String> {
        let cols = [&self.ansible, &self.validate, &self.plan, &self.first_error];
        cols.into_iter().cloned().collect()
    }
}

/// The rows of a checked-in list of the corpus (`NAME.tsv`), by case: the other columns.
pub fn read_tsv(name: &str) -> BTreeMap<String, Vec<String>> {
    let text = std::fs::read_to_string(corpus_dir().join(name)).unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let mut cols = line.split('\t').map(str::to_string);
            let case = cols.next().unwrap_or_default();
            (case, cols.collect())
        })
        .collect()
}

/// Writes a checked-in list of the corpus: the header, then a line per case.
pub fn write_tsv<'a>(
    name: &str,
    header: &str,
    rows: impl Iterator<Item = (&'a String, Vec<String>)>,
) {
    let mut text = format!("{header}\n");
    for (case, cols) in rows {
        text.push_str(&format!("{case}\t{}\n", cols.join("\t")));
    }
    std::fs::write(corpus_dir().join(name), text).expect("write a list of the corpus");
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
pub fn first_error(output: &Output) -> String {
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

/// `f` of every item, computed on as many threads as the machine has cores.
pub fn in_parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = items.len().div_ceil(threads).max(1);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<_>>()))
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
    let expected: BTreeMap<String, Row> = read_tsv("expected.tsv")
        .into_iter()
        .map(|(case, cols)| (case, Row::from_cols(&cols)))
        .collect();
    let mut actual: BTreeMap<String, Row> =
        in_parallel(&cases, |case| (case.clone(), outcome(case)))
            .into_iter()
            .collect();
    for (case, row) in &mut actual {
        row.ansible = expected
            .get(case)
            .map_or_else(|| "unchecked".into(), |e| e.ansible.clone());
    }
    if std::env::var_os("DEPLOYER_REALWORLD_BLESS").is_some() {
        write_tsv(
            "expected.tsv",
            HEADER,
            actual.iter().map(|(case, row)| (case, row.cols())),
        );
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
