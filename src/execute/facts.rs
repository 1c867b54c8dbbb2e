//! `gather_facts`: one shell probe per host fills a small, documented set of `ansible_*` facts
//! (no Python on the host, unlike Ansible's setup module).

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Map, Value};

use super::Run;
use super::context::PlayContext;
use super::state::HostState;
use crate::report::{Event, HostResult, Status};
use crate::transport::{ExecRequest, Transport};

/// Prints `key=value` lines; every command may be missing on a minimal host.
const PROBE: &str = r#"
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
"#;

impl Run<'_> {
    /// Gathers facts on every host of the batch, in parallel, counted as one `ok` task.
    pub async fn gather_facts(&self, play: &PlayContext<'_>, hosts: &[Arc<HostState>]) {
        self.emitter.emit(Event::TaskStarted {
            task: "Gathering Facts".into(),
            location: play.play.span.to_string(),
            handler: false,
        });
        let probes = hosts.iter().map(|host| async move {
            let _permit = self
                .forks
                .acquire()
                .await
                .expect("the forks semaphore is never closed");
            let started = Instant::now();
            let output = host.connection.exec(ExecRequest::new(PROBE)).await;
            let (status, result) = match output {
                Ok(out) if out.exit_code == 0 => {
                    let facts = facts_from(&out.stdout_text());
                    let mut vars: Map<String, Value> = facts.clone();
                    vars.insert("ansible_facts".into(), Value::Object(strip_prefix(&facts)));
                    host.set_facts(vars);
                    host.count(|s| s.ok += 1);
                    (Status::Ok, serde_json::json!({"changed": false}))
                }
                Ok(out) => {
                    host.count(|s| s.failed += 1);
                    self.mark_down(&host.name);
                    (
                        Status::Failed,
                        serde_json::json!({"failed": true, "msg": out.stderr_text()}),
                    )
                }
                Err(e) => {
                    host.count(|s| s.unreachable += 1);
                    self.mark_down(&host.name);
                    (
                        Status::Unreachable,
                        serde_json::json!({"unreachable": true, "msg": e.to_string()}),
                    )
                }
            };
            self.emitter.emit(Event::HostResult(HostResult {
                host: host.name.clone(),
                delegated_to: None,
                task: "Gathering Facts".into(),
                location: play.play.span.to_string(),
                module: "setup".into(),
                status,
                item: None,
                result,
                diffs: Vec::new(),
                duration: started.elapsed(),
            }));
        });
        futures::future::join_all(probes).await;
    }
}

/// Turns the probe's output into `ansible_*` facts named as Ansible names them.
fn facts_from(output: &str) -> Map<String, Value> {
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
    facts
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
    }
}
