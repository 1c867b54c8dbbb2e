//! A task's keywords given as templates (`retries: "{{ health_retries }}"`), rendered with a
//! host's variables right before the task runs on it.

use std::borrow::Cow;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::Run;
use super::context::PlayContext;
use super::state::HostState;
use crate::compile::{Keyword, Task, to_bool, to_count, to_seconds, to_text, to_timeout};

impl Run<'_> {
    /// `task` with its templated keywords rendered with `vars` (the host's variables); the task
    /// itself when it has none. A template that cannot be rendered, or renders to a value of the
    /// wrong type, is an error.
    pub fn with_keywords<'t>(
        &self,
        task: &'t Task,
        vars: &Map<String, Value>,
    ) -> Result<Cow<'t, Task>, String> {
        if task.keyword_templates().next().is_none() {
            return Ok(Cow::Borrowed(task));
        }
        let (t, vars) = (self.templater, &Value::Object(vars.clone()));
        let flag = |name: &str, keyword: &Keyword<bool>| keyword.resolve(name, t, vars, to_bool);
        let optional = |name: &str, keyword: &Option<Keyword<bool>>| {
            keyword.as_ref().map(|k| flag(name, k)).transpose()
        };
        let mut resolved = task.clone();
        resolved.ignore_errors = flag("ignore_errors", &task.ignore_errors)?;
        resolved.ignore_unreachable = flag("ignore_unreachable", &task.ignore_unreachable)?;
        resolved.run_once = flag("run_once", &task.run_once)?;
        resolved.throttle = task.throttle.resolve("throttle", t, vars, to_count)?;
        resolved.no_log = flag("no_log", &task.no_log)?;
        resolved.any_errors_fatal = flag("any_errors_fatal", &task.any_errors_fatal)?;
        resolved.check_mode = optional("check_mode", &task.check_mode)?;
        resolved.diff = optional("diff", &task.diff)?;
        resolved.retries = task.retries.resolve("retries", t, vars, to_count)?;
        resolved.delay = task.delay.resolve("delay", t, vars, to_seconds)?;
        resolved.timeout = task.timeout.resolve("timeout", t, vars, to_timeout)?;
        resolved.async_limit = task.async_limit.resolve("async", t, vars, to_timeout)?;
        resolved.poll = task.poll.resolve("poll", t, vars, to_count)?;
        resolved.become_spec.enabled = flag("become", &task.become_spec.enabled)?;
        if let Some(user) = &task.become_spec.user {
            let user = Keyword::Template(user.clone()).resolve("become_user", t, vars, to_text)?;
            resolved.become_spec.user = Some(user.or_default());
        }
        Ok(Cow::Owned(resolved))
    }

    /// `task` as `host` meets it in the walk: its templated keywords rendered with the host's
    /// variables, `run_once` with those of the batch's first host (as Ansible decides it once
    /// per batch). When they cannot be, the task as written (running it then fails the host,
    /// with the reason).
    pub fn step_keywords(
        &self,
        play: &PlayContext<'_>,
        host: &HostState,
        task: &Arc<Task>,
        bound: &Map<String, Value>,
    ) -> Arc<Task> {
        if task.keyword_templates().next().is_none() {
            return Arc::clone(task);
        }
        let resolve = |host: &HostState| {
            self.resolved_vars(play, host, task, bound)
                .and_then(|vars| self.with_keywords(task, &vars).map(Cow::into_owned))
        };
        let Ok(mut resolved) = resolve(host) else {
            return Arc::clone(task);
        };
        if task.run_once.template().is_some()
            && let Some(first) = self.first_of_batch(play)
            && first.name != host.name
        {
            resolved.run_once = resolve(&first).map_or(Keyword::Literal(false), |t| t.run_once);
        }
        Arc::new(resolved)
    }

    /// The first host of the batch still in the play.
    fn first_of_batch(&self, play: &PlayContext<'_>) -> Option<Arc<HostState>> {
        let name = play.batch.iter().find(|h| !self.is_down(h))?;
        self.hosts.lock().expect("hosts lock").get(name).cloned()
    }
}
