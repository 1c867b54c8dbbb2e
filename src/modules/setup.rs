//! `setup`: one shell probe (no Python on the host, unlike Ansible's) fills a small, documented
//! set of `ansible_*` facts, also under `ansible_facts` without the prefix. `gather_facts` runs
//! the same probe. Changes nothing.

use async_trait::async_trait;
use globset::{Glob, GlobSetBuilder};
use serde_json::{Map, Value};

use super::spec::{ArgSpec, ArgType, ModuleSpec};
use super::{Module, ModuleContext, ModuleError, ModuleResult};

static SPEC: ModuleSpec = ModuleSpec {
    name: "setup",
    aliases: &["gather_facts"],
    args: &[
        ArgSpec::new("gather_subset", ArgType::List),
        ArgSpec::new("gather_timeout", ArgType::Int),
        ArgSpec::new("filter", ArgType::List),
        ArgSpec::new("fact_path", ArgType::Str),
    ],
    free_form: false,
    one_of: &[],
    open: false,
};

/// Prints `key=value` lines; every command may be missing on a minimal host.
pub const PROBE: &str = r#"
echo "hostname=$(hostname 2>/dev/null || uname -n)"
echo "fqdn=$(hostname -f 2>/dev/null || hostname 2>/dev/null || uname -n)"
echo "kernel=$(uname -r)"
echo "machine=$(uname -m)"
echo "system=$(uname -s)"
echo "user_id=$(id -un)"
echo "user_uid=$(id -u)"
echo "vcpus=$(nproc 2>/dev/null || echo 1)"
if [ -r /etc/os-release ]; then . /etc/os-release; fi
echo "os_id=${ID:-unknown}"
echo "os_like=${ID_LIKE:-}"
echo "os_version=${VERSION_ID:-}"
echo "os_codename=${VERSION_CODENAME:-}"
if command -v apt-get >/dev/null 2>&1; then echo pkg_mgr=apt; elif command -v dnf >/dev/null 2>&1; then echo pkg_mgr=dnf; elif command -v yum >/dev/null 2>&1; then echo pkg_mgr=yum; elif command -v apk >/dev/null 2>&1; then echo pkg_mgr=apk; else echo pkg_mgr=unknown; fi
if [ -d /run/systemd/system ]; then echo service_mgr=systemd; else echo service_mgr=service; fi
if [ -f /.dockerenv ]; then echo virt=docker; elif [ -f /run/.containerenv ]; then echo virt=podman; \
elif command -v systemd-detect-virt >/dev/null 2>&1; then echo "virt=$(systemd-detect-virt 2>/dev/null)"; fi
py=$(command -v python3 || command -v python || command -v /usr/libexec/platform-python) && \
  echo "python=$("$py" -c 'import sys; print(sys.implementation.name, *sys.version_info, sys.executable)' 2>/dev/null)"
"#;

/// The `setup` module.
pub struct Setup;

#[async_trait]
impl Module for Setup {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    async fn run(
        &self,
        args: &Map<String, Value>,
        ctx: &ModuleContext<'_>,
    ) -> Result<ModuleResult, ModuleError> {
        let patterns: Vec<&str> = args
            .get("filter")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|p| !p.is_empty())
            .collect();
        let mut set = GlobSetBuilder::new();
        for pattern in &patterns {
            match Glob::new(pattern) {
                Ok(glob) => set.add(glob),
                Err(e) => return Ok(ModuleResult::failed(format!("bad filter `{pattern}`: {e}"))),
            };
        }
        let set = set.build().map_err(|e| super::ArgError {
            arg: Some("filter".into()),
            message: e.to_string(),
        })?;
        let out = ctx.run(PROBE).await?;
        if out.exit_code != 0 {
            return Ok(ModuleResult::failed(out.stderr_text()));
        }
        let mut facts = facts_from(&out.stdout_text());
        if !patterns.is_empty() {
            facts.retain(|name, _| set.is_match(name));
        }
        Ok(facts_result(ctx, &facts))
    }
}

/// A result that sets `facts` as variables and under `ansible_facts`, keeping the facts already
/// known there (what a module returning `ansible_facts` does in Ansible).
pub fn facts_result(ctx: &ModuleContext<'_>, facts: &Map<String, Value>) -> ModuleResult {
    let known = ctx
        .vars
        .get("ansible_facts")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    ModuleResult {
        facts: with_namespace(facts, &known),
        ..ModuleResult::ok()
    }
}

/// The variables facts set: each `ansible_*` fact, and `ansible_facts` (the facts already known,
/// `known`, with these added under their names without the prefix).
pub fn with_namespace(
    facts: &Map<String, Value>,
    known: &Map<String, Value>,
) -> Map<String, Value> {
    let mut vars = facts.clone();
    let mut namespaced = known.clone();
    namespaced.extend(strip_prefix(facts));
    vars.insert("ansible_facts".into(), Value::Object(namespaced));
    vars
}

/// Turns the probe's output into `ansible_*` facts named as Ansible names them.
pub fn facts_from(output: &str) -> Map<String, Value> {
    let raw: std::collections::HashMap<&str, &str> =
        output.lines().filter_map(|l| l.split_once('=')).collect();
    let get = |k: &str| raw.get(k).copied().unwrap_or_default().to_string();
    let os_id = get("os_id");
    let family = os_family(&os_id, &get("os_like"));
    let mut facts = Map::new();
    let mut put = |k: &str, v: Value| {
        facts.insert(format!("ansible_{k}"), v);
    };
    put(
        "hostname",
        Value::String(
            get("hostname")
                .split('.')
                .next()
                .unwrap_or_default()
                .to_string(),
        ),
    );
    put("nodename", Value::String(get("hostname")));
    put("fqdn", Value::String(get("fqdn")));
    put("kernel", Value::String(get("kernel")));
    put("architecture", Value::String(get("machine")));
    put("machine", Value::String(get("machine")));
    put("system", Value::String(get("system")));
    put("user_id", Value::String(get("user_id")));
    put(
        "user_uid",
        Value::from(get("user_uid").parse::<u64>().unwrap_or_default()),
    );
    put(
        "processor_vcpus",
        Value::from(get("vcpus").parse::<u64>().unwrap_or(1)),
    );
    put("distribution", Value::String(distribution_name(&os_id)));
    put("distribution_version", Value::String(get("os_version")));
    put(
        "distribution_major_version",
        Value::String(
            get("os_version")
                .split('.')
                .next()
                .unwrap_or_default()
                .to_string(),
        ),
    );
    put("distribution_release", Value::String(get("os_codename")));
    put("os_family", Value::String(family.to_string()));
    put("pkg_mgr", Value::String(get("pkg_mgr")));
    put("service_mgr", Value::String(get("service_mgr")));
    let (virtualization_type, virtualization_role) = match get("virt").as_str() {
        "" | "none" => ("NA".to_string(), "NA"),
        kind => (kind.to_string(), "guest"),
    };
    put("virtualization_type", Value::String(virtualization_type));
    put(
        "virtualization_role",
        Value::String(virtualization_role.into()),
    );
    if let Some((python, version)) = python_facts(&get("python")) {
        put("python", python);
        put("python_version", Value::String(version));
    }
    facts
}

/// `ansible_python` and `ansible_python_version` from the probe's `python=IMPL MAJOR MINOR MICRO
/// RELEASELEVEL SERIAL EXECUTABLE` line, as Ansible's setup gives them.
fn python_facts(line: &str) -> Option<(Value, String)> {
    let words: Vec<&str> = line.splitn(7, ' ').collect();
    let [
        implementation,
        major,
        minor,
        micro,
        level,
        serial,
        executable,
    ] = words[..]
    else {
        return None;
    };
    let number = |word: &str| word.parse::<u64>().ok();
    let (major, minor, micro) = (number(major)?, number(minor)?, number(micro)?);
    let serial = number(serial)?;
    let python = serde_json::json!({
        "executable": executable,
        "has_sslcontext": true,
        "type": implementation,
        "version": {"major": major, "minor": minor, "micro": micro, "releaselevel": level, "serial": serial},
        "version_info": [major, minor, micro, level, serial],
    });
    Some((python, format!("{major}.{minor}.{micro}")))
}

/// `ansible_facts` holds the same facts without the `ansible_` prefix.
fn strip_prefix(facts: &Map<String, Value>) -> Map<String, Value> {
    facts
        .iter()
        .map(|(k, v)| (k.trim_start_matches("ansible_").to_string(), v.clone()))
        .collect()
}

fn distribution_name(os_id: &str) -> String {
    match os_id {
        "debian" => "Debian".into(),
        "ubuntu" => "Ubuntu".into(),
        "centos" => "CentOS".into(),
        "rhel" => "RedHat".into(),
        "fedora" => "Fedora".into(),
        "alpine" => "Alpine".into(),
        "rocky" => "Rocky".into(),
        "almalinux" => "AlmaLinux".into(),
        other => {
            let mut chars = other.chars();
            chars
                .next()
                .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
        }
    }
}

fn os_family(os_id: &str, like: &str) -> &'static str {
    let is = |name: &str| os_id == name || like.split_whitespace().any(|l| l == name);
    if is("debian") || is("ubuntu") {
        "Debian"
    } else if is("rhel") || is("fedora") || is("centos") {
        "RedHat"
    } else if is("alpine") {
        "Alpine"
    } else if is("suse") {
        "Suse"
    } else if is("arch") {
        "Archlinux"
    } else {
        "Linux"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_output_becomes_ansible_facts() {
        let facts = facts_from(
            "hostname=app1.example\nfqdn=app1.example\nos_id=ubuntu\nos_like=debian\nos_version=22.04\nuser_uid=1000\nvcpus=4\n",
        );
        assert_eq!(facts["ansible_hostname"], "app1");
        assert_eq!(facts["ansible_distribution"], "Ubuntu");
        assert_eq!(facts["ansible_os_family"], "Debian");
        assert_eq!(facts["ansible_distribution_major_version"], "22");
        assert_eq!(facts["ansible_user_uid"], 1000);
        assert_eq!(strip_prefix(&facts)["os_family"], "Debian");
        let known = Map::from_iter([("other".to_string(), Value::from(1))]);
        let vars = with_namespace(&facts, &known);
        assert_eq!(vars["ansible_facts"]["other"], 1);
        assert_eq!(vars["ansible_facts"]["hostname"], "app1");
        assert!(facts.get("ansible_python").is_none());
        assert_eq!(facts["ansible_virtualization_type"], "NA");
        let in_docker = facts_from("virt=docker\n");
        assert_eq!(in_docker["ansible_virtualization_type"], "docker");
        assert_eq!(in_docker["ansible_virtualization_role"], "guest");
    }

    #[test]
    fn the_hosts_python_is_described_as_ansible_describes_it() {
        let facts = facts_from("python=cpython 3 11 2 final 0 /usr/bin/python3\n");
        assert_eq!(facts["ansible_python_version"], "3.11.2");
        let python = &facts["ansible_python"];
        assert_eq!(python["executable"], "/usr/bin/python3");
        assert_eq!(python["version"]["minor"], 11);
        assert_eq!(
            python["version_info"],
            serde_json::json!([3, 11, 2, "final", 0])
        );
        assert!(facts_from("python=\n").get("ansible_python").is_none());
    }
}
