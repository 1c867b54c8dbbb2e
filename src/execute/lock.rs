//! Deploy locks: a run takes a lock on each host of a play that asks for it (`deployer_lock:
//! true`), names who holds it and until when, and releases it when the run ends. A second run
//! fails fast on a held lock; a lock past its expiry (a crashed run) is stale and taken over.
//!
//! The lock is a directory created with `mkdir` (atomic) holding an `owner` file.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::state::HostState;
use crate::modules::spec::parse_bool;
use crate::transport::{ExecRequest, Transport, TransportError, quote};

/// Where the lock lives on a host unless `deployer_lock_path` says otherwise.
pub const DEFAULT_LOCK_PATH: &str = "/tmp/deployer.lock";

/// How long a lock is valid unless `deployer_lock_ttl` (seconds) says otherwise.
const DEFAULT_TTL_SECONDS: u64 = 3600;

/// The outcome of trying to take a host's lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockOutcome {
    /// Taken (or already ours).
    Taken,
    /// Taken over from a run whose lock had expired; says whose.
    TookOverStale(String),
    /// Held by another run; says whose.
    Held(String),
    /// Could not be created (no such folder, no permission); says why.
    Impossible(String),
}

/// Who this run is, written into every lock it takes.
#[derive(Debug, Clone)]
pub struct LockOwner {
    /// A unique id of this run.
    pub run_id: String,
    /// `user@machine` of the controller.
    pub who: String,
}

impl LockOwner {
    /// The owner for this process, running the run `run_id`.
    pub fn current(run_id: &crate::report::RunId) -> Self {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("GITHUB_ACTOR"))
            .unwrap_or_else(|_| "unknown".into());
        let machine = std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "unknown".into());
        LockOwner {
            run_id: run_id.to_string(),
            who: format!("{user}@{machine}"),
        }
    }
}

/// Whether a host's variables ask for a lock, and where it lives and for how long.
pub fn lock_settings(vars: &serde_json::Map<String, Value>) -> Option<(String, u64)> {
    let wanted = vars
        .get("deployer_lock")
        .and_then(parse_bool)
        .unwrap_or(false);
    wanted.then(|| {
        let path = vars
            .get("deployer_lock_path")
            .and_then(Value::as_str)
            .unwrap_or(DEFAULT_LOCK_PATH)
            .to_string();
        let ttl = vars
            .get("deployer_lock_ttl")
            .and_then(Value::as_u64)
            .unwrap_or(DEFAULT_TTL_SECONDS);
        (path, ttl)
    })
}

/// Takes the lock at `path` on a host for `owner`.
pub async fn acquire(
    host: &HostState,
    path: &str,
    ttl: u64,
    owner: &LockOwner,
) -> Result<LockOutcome, TransportError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let info = format!(
        "owner={}\nrun={}\nstarted={}\nexpires={}\n",
        owner.who,
        owner.run_id,
        humantime::format_rfc3339_seconds(SystemTime::now()),
        now + ttl
    );
    let script = format!(
        "L={path}; I={info}; now=$(date +%s)\n\
         if err=$(mkdir \"$L\" 2>&1); then chmod 700 \"$L\"; printf '%s' \"$I\" > \"$L/owner\"; echo taken; exit 0; fi\n\
         [ -d \"$L\" ] || {{ echo impossible; printf '%s\\n' \"$err\"; exit 0; }}\n\
         if grep -qx {run} \"$L/owner\" 2>/dev/null; then echo taken; exit 0; fi\n\
         exp=$(sed -n 's/^expires=//p' \"$L/owner\" 2>/dev/null)\n\
         if [ -n \"$exp\" ] && [ \"$exp\" -lt \"$now\" ]; then echo stale; cat \"$L/owner\"; printf '%s' \"$I\" > \"$L/owner\"; exit 0; fi\n\
         echo held; cat \"$L/owner\" 2>/dev/null; exit 0",
        path = quote(path),
        info = quote(&info),
        run = quote(&format!("run={}", owner.run_id)),
    );
    let out = host.connection.exec(ExecRequest::new(script)).await?;
    let text = out.stdout_text();
    let mut lines = text.lines();
    let verdict = lines.next().unwrap_or_default();
    let rest = lines.collect::<Vec<_>>().join("\n");
    if verdict == "impossible" {
        return Ok(LockOutcome::Impossible(rest.trim().to_string()));
    }
    let holder = describe_holder(&rest);
    Ok(match verdict {
        "taken" => LockOutcome::Taken,
        "stale" => LockOutcome::TookOverStale(holder),
        _ => LockOutcome::Held(holder),
    })
}

/// Releases the lock at `path` if this run holds it.
pub async fn release(
    transport: &dyn Transport,
    path: &str,
    owner: &LockOwner,
) -> Result<(), TransportError> {
    let script = format!(
        "L={}; grep -qx {} \"$L/owner\" 2>/dev/null && rm -rf \"$L\"; exit 0",
        quote(path),
        quote(&format!("run={}", owner.run_id))
    );
    transport.exec(ExecRequest::new(script)).await.map(|_| ())
}

/// Removes the lock at `path` whoever holds it (`deployer unlock`); returns who held it.
pub async fn force_release(
    transport: &dyn Transport,
    path: &str,
) -> Result<Option<String>, TransportError> {
    let script = format!(
        "L={}; if [ -d \"$L\" ]; then cat \"$L/owner\" 2>/dev/null; rm -rf \"$L\"; echo; echo removed; fi",
        quote(path)
    );
    let out = transport.exec(ExecRequest::new(script)).await?;
    let text = out.stdout_text();
    Ok(text
        .trim_end()
        .ends_with("removed")
        .then(|| describe_holder(&text)))
}

/// `owner=... run=... started=...` as one readable phrase.
fn describe_holder(owner_file: &str) -> String {
    let field = |k: &str| {
        owner_file
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or("?")
            .to_string()
    };
    format!(
        "{} (run {}, since {})",
        field("owner"),
        field("run"),
        field("started")
    )
}

impl super::Run<'_> {
    /// Takes the host's deploy lock when its variables ask for one and this run does not hold it
    /// yet. Returns the flow to stop with when the lock cannot be had.
    pub(super) async fn take_lock(
        &self,
        play: &super::context::PlayContext<'_>,
        host: &HostState,
    ) -> Option<super::walk::Flow> {
        use super::walk::Flow;
        use crate::report::{Event, HostResult, Status};
        let vars = self.task_vars(play, host, None);
        let (raw_path, ttl) = lock_settings(&vars)?;
        let rendered = self.templater.render_str(&raw_path, &Value::Object(vars));
        if self
            .locks
            .lock()
            .expect("locks lock")
            .iter()
            .any(|(h, _)| *h == host.name)
        {
            return None;
        }
        let started = std::time::Instant::now();
        let (status, message) = match &rendered {
            Err(e) => (
                Some(Status::Failed),
                Some(format!("bad `deployer_lock_path`: {e}")),
            ),
            Ok(path) => match acquire(host, path, ttl, &self.owner).await {
                Ok(LockOutcome::Taken) => (None, None),
                Ok(LockOutcome::TookOverStale(who)) => (
                    None,
                    Some(format!("took over the stale deploy lock of {who}")),
                ),
                Ok(LockOutcome::Held(who)) => (
                    Some(Status::Failed),
                    Some(format!("the deploy lock {path} is held by {who}")),
                ),
                Ok(LockOutcome::Impossible(why)) => (
                    Some(Status::Failed),
                    Some(format!("cannot take the deploy lock {path}: {why}")),
                ),
                Err(e) => (Some(Status::Unreachable), Some(e.to_string())),
            },
        };
        let Some(status) = status else {
            self.locks
                .lock()
                .expect("locks lock")
                .push((host.name.clone(), rendered.unwrap_or(raw_path)));
            if let Some(message) = message {
                self.emitter.emit(Event::Warning {
                    message: format!("{}: {message}", host.name),
                });
            }
            return None;
        };
        host.count(|s| match status {
            Status::Unreachable => s.unreachable += 1,
            _ => s.failed += 1,
        });
        if status == Status::Failed {
            self.locked_out
                .lock()
                .expect("locked_out lock")
                .push(host.name.clone());
        }
        self.emitter.emit(Event::HostResult(HostResult {
            host: host.name.clone(),
            delegated_to: None,
            task: "Take the deploy lock".into(),
            location: play.play.span.to_string(),
            module: "lock".into(),
            status,
            item: None,
            result: serde_json::json!({"failed": true, "msg": message.unwrap_or_default()}),
            diffs: Vec::new(),
            duration: started.elapsed(),
        }));
        Some(if status == Status::Failed {
            Flow::Failed
        } else {
            Flow::Unreachable
        })
    }

    /// Releases every lock this run took.
    pub(super) async fn release_locks(&self) {
        let locks = std::mem::take(&mut *self.locks.lock().expect("locks lock"));
        for (name, path) in locks {
            let host = self.hosts.lock().expect("hosts lock").get(&name).cloned();
            if let Some(host) = host
                && let Err(e) = release(&host.connection, &path, &self.owner).await
            {
                self.emitter.emit(crate::report::Event::Warning {
                    message: format!("{name}: could not release the deploy lock {path}: {e}"),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{Connector, LocalTransport};
    use serde_json::json;
    use std::sync::Arc;

    fn local_host() -> HostState {
        let vars = json!({"ansible_connection": "local"})
            .as_object()
            .unwrap()
            .clone();
        HostState::new(
            "localhost",
            vars,
            Arc::new(Connector::new(Default::default())),
        )
    }

    fn owner(run: &str) -> LockOwner {
        LockOwner {
            run_id: run.into(),
            who: "ci@box".into(),
        }
    }

    #[tokio::test]
    async fn a_lock_is_exclusive_until_released_or_stale() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock").display().to_string();
        let host = local_host();
        assert_eq!(
            acquire(&host, &path, 60, &owner("r1")).await.unwrap(),
            LockOutcome::Taken
        );
        assert_eq!(
            acquire(&host, &path, 60, &owner("r1")).await.unwrap(),
            LockOutcome::Taken,
            "re-entrant"
        );
        match acquire(&host, &path, 60, &owner("r2")).await.unwrap() {
            LockOutcome::Held(who) => assert!(who.starts_with("ci@box (run r1, since "), "{who}"),
            other => panic!("{other:?}"),
        }
        release(&LocalTransport, &path, &owner("r2")).await.unwrap();
        assert!(
            std::path::Path::new(&path).exists(),
            "only the holder releases"
        );
        release(&LocalTransport, &path, &owner("r1")).await.unwrap();
        assert!(!std::path::Path::new(&path).exists());
        // A lock whose expiry has passed is taken over.
        acquire(&host, &path, 0, &owner("r3")).await.unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        assert!(
            matches!(acquire(&host, &path, 60, &owner("r4")).await.unwrap(), LockOutcome::TookOverStale(w) if w.contains("run r3"))
        );
        assert_eq!(
            force_release(&LocalTransport, &path)
                .await
                .unwrap()
                .map(|w| w.contains("run r4")),
            Some(true)
        );
    }

    #[tokio::test]
    async fn a_lock_that_cannot_be_created_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing/lock").display().to_string();
        match acquire(&local_host(), &path, 60, &owner("r1"))
            .await
            .unwrap()
        {
            LockOutcome::Impossible(why) => assert!(why.contains("No such file"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn settings_come_from_variables() {
        let vars = json!({"deployer_lock": "yes", "deployer_lock_ttl": 5})
            .as_object()
            .unwrap()
            .clone();
        assert_eq!(
            lock_settings(&vars),
            Some((DEFAULT_LOCK_PATH.to_string(), 5))
        );
        assert_eq!(lock_settings(&serde_json::Map::new()), None);
    }
}
