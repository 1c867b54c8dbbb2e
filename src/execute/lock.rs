//! Deploy locks: a run takes a lock on each host of a play that asks for it (`deployer_lock:
//! true`), names who holds it and until when, and releases it when the run ends. A second run
//! fails fast on a held lock; a lock past its expiry (a crashed run) is stale and taken over.
//!
//! With `deployer_lock_bastion: true` the run also takes one lock on the bastion the hosts are
//! reached through, so that two runs from different controllers cannot deploy through the same
//! bastion at once, even to different hosts.
//!
//! The lock is a directory created with `mkdir` (atomic) holding an `owner` file. It lives in
//! the login user's home folder unless `deployer_lock_path` says otherwise; a lock directory
//! that is a symlink or that the login user does not own is refused, and the `owner` file is
//! replaced by a rename, never written through a link.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use super::context::PlayContext;
use super::state::HostState;
use super::walk::Flow;
use crate::modules::spec::parse_bool;
use crate::report::{Emitter, Event, HostResult, Status};
use crate::template::Templater;
use crate::transport::{ExecRequest, Transport, TransportError, quote};

/// Where the lock lives on a host unless `deployer_lock_path` says otherwise: the login user's
/// home folder, where no other user can create it first (`~/` is the home folder).
pub const DEFAULT_LOCK_PATH: &str = "~/.deployer.lock";

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
    /// The owner for this process, run by `user` on this machine, running the run `run_id`.
    pub fn current(run_id: &crate::report::RunId, user: &str) -> Self {
        let machine = std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "unknown".into());
        LockOwner {
            run_id: run_id.to_string(),
            who: format!("{user}@{machine}"),
        }
    }
}

/// The variables that ask for one kind of lock: the flag, and the one naming its path.
#[derive(Debug, Clone, Copy)]
pub struct LockKind {
    flag: &'static str,
    path: &'static str,
}

impl LockKind {
    /// Whether a host's variables ask for this lock.
    pub fn wanted(&self, vars: &serde_json::Map<String, Value>) -> bool {
        vars.get(self.flag).and_then(parse_bool).unwrap_or(false)
    }

    /// The lock's path as the variables give it (not yet templated), else the default.
    pub fn raw_path<'v>(&self, vars: &'v serde_json::Map<String, Value>) -> &'v str {
        vars.get(self.path)
            .and_then(Value::as_str)
            .unwrap_or(DEFAULT_LOCK_PATH)
    }
}

/// The lock on each host (`deployer_lock`, `deployer_lock_path`).
pub const HOST_LOCK: LockKind = LockKind {
    flag: "deployer_lock",
    path: "deployer_lock_path",
};

/// The lock on the bastion a host is reached through (`deployer_lock_bastion`,
/// `deployer_lock_bastion_path`).
pub const BASTION_LOCK: LockKind = LockKind {
    flag: "deployer_lock_bastion",
    path: "deployer_lock_bastion_path",
};

/// Whether a host's variables ask for a lock of `kind`, and where it lives and for how long
/// (`deployer_lock_ttl` seconds for both kinds).
pub fn lock_settings(
    vars: &serde_json::Map<String, Value>,
    kind: LockKind,
) -> Option<(String, u64)> {
    kind.wanted(vars).then(|| {
        let path = kind.raw_path(vars).to_string();
        let ttl = vars
            .get("deployer_lock_ttl")
            .and_then(Value::as_u64)
            .unwrap_or(DEFAULT_TTL_SECONDS);
        (path, ttl)
    })
}

/// Takes the lock at `path` on a host for `owner`.
pub async fn acquire(
    transport: &dyn Transport,
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
        "{lock}; I={info}; now=$(date +%s)\n\
         write_owner() {{ t=\"$L/owner.$$\"; rm -f \"$t\"; (set -C; printf '%s' \"$I\" > \"$t\") && mv -f \"$t\" \"$L/owner\"; }}\n\
         if err=$(mkdir -m 700 \"$L\" 2>&1); then write_owner; echo taken; exit 0; fi\n\
         if [ -L \"$L\" ] || {{ [ -e \"$L\" ] && ! [ -O \"$L\" ]; }}; then echo impossible; echo \"$L is a link or not owned by $(id -un): refusing it\"; exit 0; fi\n\
         [ -d \"$L\" ] || {{ echo impossible; printf '%s\\n' \"$err\"; exit 0; }}\n\
         if grep -qx {run} \"$L/owner\" 2>/dev/null; then echo taken; exit 0; fi\n\
         exp=$(sed -n 's/^expires=//p' \"$L/owner\" 2>/dev/null)\n\
         if [ -n \"$exp\" ] && [ \"$exp\" -lt \"$now\" ]; then echo stale; cat \"$L/owner\"; write_owner; exit 0; fi\n\
         echo held; cat \"$L/owner\" 2>/dev/null; exit 0",
        lock = lock_var(path),
        info = quote(&info),
        run = quote(&format!("run={}", owner.run_id)),
    );
    let out = transport.exec(ExecRequest::new(script)).await?;
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
        "{}; grep -qx {} \"$L/owner\" 2>/dev/null && rm -rf \"$L\"; exit 0",
        lock_var(path),
        quote(&format!("run={}", owner.run_id))
    );
    transport.exec(ExecRequest::new(script)).await.map(|_| ())
}

/// Removes the lock at `path` whoever holds it (`deployer unlock`); returns who held it, or
/// why it could not be removed.
pub async fn force_release(
    transport: &dyn Transport,
    path: &str,
) -> Result<Result<Option<String>, String>, TransportError> {
    let script = format!(
        "{}; if [ -d \"$L\" ] || [ -L \"$L\" ]; then cat \"$L/owner\" 2>/dev/null; echo; \
         if err=$(rm -rf \"$L\" 2>&1) && ! [ -e \"$L\" ] && ! [ -L \"$L\" ]; then echo removed; \
         else printf 'failed: %s\\n' \"$(printf '%s' \"${{err:-$L is still there}}\" | head -n 1)\"; fi; fi",
        lock_var(path)
    );
    let out = transport.exec(ExecRequest::new(script)).await?;
    let text = out.stdout_text();
    let last = text.trim_end().lines().last().unwrap_or_default();
    Ok(match last.strip_prefix("failed: ") {
        Some(why) => Err(why.to_string()),
        None => Ok((last == "removed").then(|| describe_holder(&text))),
    })
}

/// The shell assignment of the lock's path to `L`, `~/` standing for the home folder.
fn lock_var(path: &str) -> String {
    match path.strip_prefix("~/") {
        Some(rest) => format!("L=\"$HOME\"/{}", quote(rest)),
        None => format!("L={}", quote(path)),
    }
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

/// Why a lock could not be had: the status the host ends with, and the message.
type Refusal = (Status, String);

/// The bastion locks of a run, by bastion and lock path: the transport to release it through,
/// or why it was refused (every host behind that bastion is refused the same way).
type BastionLocks =
    tokio::sync::Mutex<BTreeMap<(String, String), Result<Arc<dyn Transport>, Refusal>>>;

/// The deploy locks of one run: who the run is, the locks it took (released at the end), and the
/// hosts another run's lock kept out.
pub(super) struct LockService<'a> {
    owner: LockOwner,
    templater: &'a Templater,
    emitter: Emitter,
    /// Host locks taken: the host and the lock's path.
    taken: Mutex<Vec<(Arc<HostState>, String)>>,
    /// Bastion locks taken (or refused).
    bastions: BastionLocks,
    /// Hosts whose lock another run holds.
    locked_out: Mutex<Vec<String>>,
}

impl<'a> LockService<'a> {
    /// The locks of a run by `owner`; lock paths are rendered with `templater`, warnings sent to
    /// `emitter`.
    pub(super) fn new(owner: LockOwner, templater: &'a Templater, emitter: Emitter) -> Self {
        LockService {
            owner,
            templater,
            emitter,
            taken: Mutex::new(Vec::new()),
            bastions: BastionLocks::default(),
            locked_out: Mutex::new(Vec::new()),
        }
    }

    /// Takes the lock on the host's bastion, then the host's own lock, when its variables
    /// (`vars`) ask for them and this run does not hold them yet; why not when one cannot be had.
    pub(super) async fn take(
        &self,
        host: &Arc<HostState>,
        vars: &Map<String, Value>,
    ) -> Result<(), Refusal> {
        let taken = match self.take_bastion_lock(host, vars).await {
            Ok(()) => self.take_host_lock(host, vars).await,
            refused => refused,
        };
        if let Err((Status::Failed, _)) = &taken {
            let mut out = self.locked_out.lock().expect("locked_out lock");
            out.push(host.name.clone());
        }
        taken
    }

    /// The hosts another run's lock kept out, in the order met.
    pub(super) fn locked_out(&self) -> Vec<String> {
        self.locked_out.lock().expect("locked_out lock").clone()
    }

    async fn take_host_lock(
        &self,
        host: &Arc<HostState>,
        vars: &Map<String, Value>,
    ) -> Result<(), Refusal> {
        let Some((raw_path, ttl)) = lock_settings(vars, HOST_LOCK) else {
            return Ok(());
        };
        let held =
            |taken: &[(Arc<HostState>, String)]| taken.iter().any(|(h, _)| h.name == host.name);
        if held(&self.taken.lock().expect("taken lock")) {
            return Ok(());
        }
        let path = self.lock_path(&raw_path, HOST_LOCK, vars)?;
        let outcome = acquire(&host.connection, &path, ttl, &self.owner).await;
        self.judge(&host.name, &format!("the deploy lock {path}"), outcome)?;
        let mut taken = self.taken.lock().expect("taken lock");
        taken.push((Arc::clone(host), path));
        Ok(())
    }

    /// The bastion lock is taken once per bastion, by the first host behind it to get here;
    /// the hosts after it share the outcome. A host reached directly has no bastion to lock.
    async fn take_bastion_lock(
        &self,
        host: &HostState,
        vars: &Map<String, Value>,
    ) -> Result<(), Refusal> {
        let Some((raw_path, ttl)) = lock_settings(vars, BASTION_LOCK) else {
            return Ok(());
        };
        let path = self.lock_path(&raw_path, BASTION_LOCK, vars)?;
        let connection = host
            .connection
            .get()
            .await
            .map_err(|e| (Status::Unreachable, e.to_string()))?;
        let Some(bastion) = connection.bastion() else {
            return Ok(());
        };
        let label = bastion.describe();
        let mut taken = self.bastions.lock().await;
        if let Some(known) = taken.get(&(label.clone(), path.clone())) {
            return known.as_ref().map(|_| ()).map_err(Clone::clone);
        }
        let outcome = acquire(bastion.as_ref(), &path, ttl, &self.owner).await;
        let subject = format!("the deploy lock {path} on the bastion {label}");
        let verdict = self.judge(&format!("bastion {label}"), &subject, outcome);
        taken.insert((label, path), verdict.clone().map(|()| bastion));
        verdict
    }

    fn lock_path(
        &self,
        raw: &str,
        kind: LockKind,
        vars: &Map<String, Value>,
    ) -> Result<String, Refusal> {
        self.templater
            .render_str(raw, &Value::Object(vars.clone()))
            .map_err(|e| (Status::Failed, format!("bad `{}`: {e}", kind.path)))
    }

    /// Turns the outcome of taking `subject` (on `place`) into a refusal, or warns that a stale
    /// lock was taken over.
    fn judge(
        &self,
        place: &str,
        subject: &str,
        outcome: Result<LockOutcome, TransportError>,
    ) -> Result<(), Refusal> {
        match outcome {
            Ok(LockOutcome::Taken) => Ok(()),
            Ok(LockOutcome::TookOverStale(who)) => {
                self.emitter.emit(Event::Warning {
                    message: format!("{place}: took over the stale deploy lock of {who}"),
                });
                Ok(())
            }
            Ok(LockOutcome::Held(who)) => {
                Err((Status::Failed, format!("{subject} is held by {who}")))
            }
            Ok(LockOutcome::Impossible(why)) => {
                Err((Status::Failed, format!("cannot take {subject}: {why}")))
            }
            Err(e) => Err((Status::Unreachable, e.to_string())),
        }
    }

    /// Releases every lock this run took: the hosts' first, then the bastions'.
    pub(super) async fn release_all(&self) {
        let taken = std::mem::take(&mut *self.taken.lock().expect("taken lock"));
        for (host, path) in taken {
            self.release_or_warn(&host.name, &host.connection, &path)
                .await;
        }
        let bastions = std::mem::take(&mut *self.bastions.lock().await);
        for ((label, path), taken) in bastions {
            if let Ok(transport) = taken {
                let place = format!("bastion {label}");
                self.release_or_warn(&place, transport.as_ref(), &path)
                    .await;
            }
        }
    }

    async fn release_or_warn(&self, place: &str, transport: &dyn Transport, path: &str) {
        if let Err(e) = release(transport, path, &self.owner).await {
            self.emitter.emit(Event::Warning {
                message: format!("{place}: could not release the deploy lock {path}: {e}"),
            });
        }
    }
}

impl super::Run<'_> {
    /// Takes the deploy locks the host asks for; when one cannot be had, counts and reports the
    /// host and returns the flow it stops with.
    pub(super) async fn take_lock(
        &self,
        play: &PlayContext<'_>,
        host: &Arc<HostState>,
    ) -> Option<Flow> {
        let vars = self.task_vars(play, host, None, &Map::new());
        let started = Instant::now();
        let (status, message) = self.locks.take(host, &vars).await.err()?;
        host.count(|s| match status {
            Status::Unreachable => s.unreachable += 1,
            _ => s.failed += 1,
        });
        self.emitter.emit(Event::HostResult(HostResult {
            host: host.name.clone(),
            delegated_to: None,
            task: "Take the deploy lock".into(),
            location: play.play.span.to_string(),
            module: "lock".into(),
            status,
            item: None,
            result: serde_json::json!({"failed": true, "msg": message}),
            diffs: Vec::new(),
            duration: started.elapsed(),
        }));
        Some(if status == Status::Failed {
            Flow::Failed
        } else {
            Flow::Unreachable
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::LocalTransport;
    use serde_json::json;

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
        let host = LocalTransport;
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
                .unwrap()
                .map(|w| w.contains("run r4")),
            Some(true)
        );
    }

    #[tokio::test]
    async fn a_lock_that_cannot_be_created_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing/lock").display().to_string();
        match acquire(&LocalTransport, &path, 60, &owner("r1"))
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
            lock_settings(&vars, HOST_LOCK),
            Some((DEFAULT_LOCK_PATH.to_string(), 5))
        );
        assert_eq!(lock_settings(&vars, BASTION_LOCK), None);
        let vars = json!({"deployer_lock_bastion": true, "deployer_lock_bastion_path": "/tmp/b"})
            .as_object()
            .unwrap()
            .clone();
        assert_eq!(
            lock_settings(&vars, BASTION_LOCK),
            Some(("/tmp/b".to_string(), 3600))
        );
        assert_eq!(lock_settings(&serde_json::Map::new(), HOST_LOCK), None);
    }
}
