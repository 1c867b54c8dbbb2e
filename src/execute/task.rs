//! Running one task on one host: conditions, loops, templated arguments, the module itself,
//! `until` retries, `changed_when`/`failed_when`, `register`, notifications and counts.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::context::{PlayContext, strip_omitted};
use super::deadline::Deadlined;
use super::state::HostState;
use super::traced::Traced;
use super::{BecomePassword, Run};
use crate::compile::{Task, strip_braces};
use crate::modules::{
    Control, ModuleContext, ModuleError, ModuleKind, ModuleResult, ReleaseSwitch,
};
use crate::report::{Event, HostResult, HostStats, Status};
use crate::template::insert_data;
use crate::transport::{Become, LocalTransport, Transport, TransportError};

/// The message shown instead of a `no_log` task's result.
const CENSORED: &str =
    "the output has been hidden due to the fact that 'no_log: true' was specified for this result";

/// How a task ended on a host, for the walker.
#[derive(Debug, Clone)]
pub struct TaskOutcome {
    /// Its status.
    pub status: Status,
    /// The registered result.
    pub registered: Value,
    /// Facts it set.
    pub facts: Map<String, Value>,
    /// What it asks the executor to do.
    pub control: Option<Control>,
    /// The release switch it made.
    pub switch: Option<ReleaseSwitch>,
}

impl Run<'_> {
    /// Runs `task` on `host` and records its result; `bound` holds the loop variables of the
    /// includes around it; `rescuable` says a failure will be handled by a rescue section (and so
    /// is not counted as a failure).
    pub async fn run_task(
        &self,
        play: &PlayContext<'_>,
        host: &HostState,
        task: &Task,
        bound: &Map<String, Value>,
        rescuable: bool,
    ) -> TaskOutcome {
        let started = Instant::now();
        let resolved = self
            .resolved_vars(play, host, task, bound)
            .and_then(|vars| match self.with_keywords(task, &vars) {
                Ok(task) => Ok((task, vars)),
                // A loop renders its keywords again for each item (they may read `item`), as
                // Ansible does.
                Err(_) if task.looping.is_some() => Ok((Cow::Borrowed(task), vars)),
                Err(e) => Err(at_task(task, e)),
            });
        let (task, vars) = match resolved {
            Ok(resolved) => resolved,
            Err(message) => {
                let outcome = failed_outcome(task, message);
                self.record(play, host, task, &outcome, rescuable, started.elapsed());
                return outcome;
            }
        };
        let task = task.as_ref();
        let mut outcome = match &task.looping {
            None => self.run_single(host, task, &vars).await,
            Some(_) => self.run_loop(host, task, vars).await,
        };
        if outcome.status == Status::Changed
            && let Some(name) = task
                .notify
                .iter()
                .find(|n| !play.play.handlers.iter().any(|h| h.answers(n)))
        {
            outcome = failed_outcome(
                task,
                format!(
                    "The requested handler '{name}' was not found in either the main handlers \
                     list nor in the listening handlers list"
                ),
            );
        }
        self.record(play, host, task, &outcome, rescuable, started.elapsed());
        outcome
    }

    /// The variables `task` reads on `host`, resolved; why not when one cannot be.
    pub fn resolved_vars(
        &self,
        play: &PlayContext<'_>,
        host: &HostState,
        task: &Task,
        bound: &Map<String, Value>,
    ) -> Result<Map<String, Value>, String> {
        let mut vars = self.task_vars(play, host, Some(task), bound);
        self.templater
            .resolve_vars(&mut vars, task.reads.iter().cloned())?;
        Ok(vars)
    }

    /// Registers, counts, notifies and reports a finished task.
    pub(super) fn record(
        &self,
        play: &PlayContext<'_>,
        host: &HostState,
        task: &Task,
        outcome: &TaskOutcome,
        rescuable: bool,
        took: Duration,
    ) {
        host.remember(task, &outcome.facts, &outcome.registered);
        if rescuable && outcome.status == Status::Failed {
            host.set_facts(failure_facts(task, &outcome.registered));
        }
        // Like Ansible, `meta` tasks are not counted in the recap.
        if task.module.kind() != ModuleKind::Meta {
            host.count(|s| count(s, outcome, rescuable));
        }
        if outcome.status == Status::Changed {
            notify(play, host, task);
        }
        if task.looping.is_none()
            || outcome.status != Status::Ok && outcome.status != Status::Changed
        {
            self.report(host, task, outcome.status, None, &outcome.registered, took);
        }
    }

    /// Sends a result event, hiding it when the task is `no_log`.
    pub(super) fn report(
        &self,
        host: &HostState,
        task: &Task,
        status: Status,
        item: Option<String>,
        result: &Value,
        took: Duration,
    ) {
        let (result, item) = if task.no_log.or(true) {
            let changed = result.get("changed").cloned().unwrap_or(Value::Bool(false));
            (
                serde_json::json!({"censored": CENSORED, "changed": changed}),
                item.map(|_| "(censored)".to_string()),
            )
        } else {
            (result.clone(), item)
        };
        let diffs = result
            .get("diff")
            .and_then(Value::as_array)
            .map(|d| {
                d.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        self.emitter.emit(Event::HostResult(HostResult {
            host: host.name.clone(),
            delegated_to: task.delegate_to.clone(),
            task: task.title(),
            location: task.span.to_string(),
            module: task.module.spec().name.to_string(),
            status,
            item,
            result,
            diffs,
            duration: took,
        }));
    }

    async fn run_loop(
        &self,
        host: &HostState,
        task: &Task,
        mut vars: Map<String, Value>,
    ) -> TaskOutcome {
        let looping = task.looping.as_ref().expect("a loop");
        let items = match self.loop_items(task, &vars) {
            Ok(items) => items,
            // Like Ansible, a loop that cannot be rendered (`loop: "{{ users }}"` with `users`
            // undefined) fails the task only when its `when` holds without the item.
            Err(message) => {
                let context = Value::Object(vars);
                return self
                    .unless_when_holds(task, &context)
                    .unwrap_or_else(|| failed_outcome(task, message));
            }
        };
        if items.is_empty() {
            return empty_loop_outcome();
        }
        let mut results = Vec::new();
        let (mut changed, mut failed, mut all_skipped) = (false, false, true);
        let mut failures_ignored = true;
        let mut facts = Map::new();
        let mut switch = None;
        for (index, item) in items.iter().cloned().enumerate() {
            if index > 0 && looping.pause > 0.0 {
                tokio::time::sleep(Duration::from_secs_f64(looping.pause)).await;
            }
            insert_data(&mut vars, looping.bind(index, &items));
            let started = Instant::now();
            let (item_task, outcome) = match self.with_keywords(task, &vars) {
                Ok(item_task) => {
                    let outcome = self.run_single(host, &item_task, &vars).await;
                    (item_task, outcome)
                }
                Err(message) => (
                    Cow::Borrowed(task),
                    failed_outcome(task, at_task(task, message)),
                ),
            };
            if outcome.status == Status::Unreachable {
                return outcome;
            }
            changed |= outcome.registered.get("changed") == Some(&Value::Bool(true));
            failed |= matches!(outcome.status, Status::Failed | Status::Ignored);
            failures_ignored &= outcome.status != Status::Failed;
            all_skipped &= outcome.status == Status::Skipped;
            facts.extend(outcome.facts);
            switch = outcome.switch.or(switch);
            let label = self.item_label(task, &vars, &item);
            let mut registered = outcome.registered;
            if let Value::Object(map) = &mut registered {
                map.insert(looping.var.clone(), item);
                map.insert(
                    "ansible_loop_var".into(),
                    Value::String(looping.var.clone()),
                );
            }
            self.report(
                host,
                &item_task,
                outcome.status,
                Some(label),
                &registered,
                started.elapsed(),
            );
            results.push(registered);
        }
        let mut registered = Map::new();
        registered.insert("results".into(), Value::Array(results));
        registered.insert("changed".into(), Value::Bool(changed));
        registered.insert("failed".into(), Value::Bool(failed));
        if failed {
            registered.insert(
                "msg".into(),
                Value::String("One or more items failed".into()),
            );
        }
        if all_skipped {
            registered.insert("skipped".into(), Value::Bool(true));
        }
        let status = if failed && failures_ignored {
            Status::Ignored
        } else if failed {
            Status::Failed
        } else if all_skipped {
            Status::Skipped
        } else if changed {
            Status::Changed
        } else {
            Status::Ok
        };
        TaskOutcome {
            status,
            registered: Value::Object(registered),
            facts,
            control: None,
            switch,
        }
    }

    /// The outcome of `task` when one of its `when` conditions is false (skipped) or cannot be
    /// evaluated (failed); `None` when they all hold.
    pub(super) fn unless_when_holds(&self, task: &Task, context: &Value) -> Option<TaskOutcome> {
        for condition in &task.when {
            match self
                .templater
                .eval_condition(strip_braces(condition), context)
            {
                Ok(true) => {}
                Ok(false) => return Some(skipped_outcome(condition)),
                Err(e) => {
                    let message = format!("the condition `{condition}` failed: {e}");
                    return Some(failed_outcome(task, at_task(task, message)));
                }
            }
        }
        None
    }

    /// The loop's items, rendered and shaped per the loop kind.
    pub(super) fn loop_items(
        &self,
        task: &Task,
        vars: &Map<String, Value>,
    ) -> Result<Vec<Value>, String> {
        let looping = task.looping.as_ref().expect("a loop");
        let context = Value::Object(vars.clone());
        looping
            .items(self.templater, &context, task.module.spec().name)
            .map_err(|e| at_task(task, format!("cannot render the loop: {e}")))
    }

    pub(super) fn item_label(
        &self,
        task: &Task,
        vars: &Map<String, Value>,
        item: &Value,
    ) -> String {
        let label = task.looping.as_ref().and_then(|l| l.label.as_ref());
        match label {
            Some(template) => self
                .templater
                .render_str(template, &Value::Object(vars.clone()))
                .unwrap_or_else(|_| template.clone()),
            None => crate::template::python_str(item),
        }
    }

    /// Runs the task once (for one item, or without a loop): `when`, the module, retries, and the
    /// `changed_when`/`failed_when` overrides.
    pub(super) async fn run_single(
        &self,
        host: &HostState,
        task: &Task,
        vars: &Map<String, Value>,
    ) -> TaskOutcome {
        let context = Value::Object(vars.clone());
        if let Some(outcome) = self.unless_when_holds(task, &context) {
            return outcome;
        }
        let mut attempts = 0;
        loop {
            attempts += 1;
            let result = match time_limit(task) {
                None => self.run_module(host, task, &context, None).await,
                Some((limit, message)) => {
                    // The commands end at the same deadline (killed on the host): a command that
                    // reports it is the task reaching it.
                    let deadline = tokio::time::Instant::now() + limit;
                    let running = self.run_module(host, task, &context, Some(deadline));
                    match tokio::time::timeout_at(deadline, running).await {
                        Err(_) | Ok(Err(ModuleError::Transport(TransportError::Timeout(_)))) => {
                            Ok(ModuleResult::failed(message))
                        }
                        Ok(result) => result,
                    }
                }
            };
            let mut result = match result {
                Ok(result) => result,
                Err(ModuleError::Transport(e)) if e.is_unreachable() => {
                    return TaskOutcome {
                        status: Status::Unreachable,
                        registered: serde_json::json!({"unreachable": true, "msg": e.to_string(), "changed": false}),
                        facts: Map::new(),
                        control: None,
                        switch: None,
                    };
                }
                Err(e) => ModuleResult::failed(e.to_string()),
            };
            if let Some(change) = result.inventory.take().filter(|_| !result.failed) {
                match self.change_inventory(&host.name, &change) {
                    Ok(changed) => result.changed = changed,
                    Err(message) => result = ModuleResult::failed(at_task(task, message)),
                }
            }
            if let Err(message) = self.apply_overrides(task, &context, &mut result) {
                result = ModuleResult::failed(message);
            }
            let Some(until) = &task.until else {
                return self.outcome(task, result, attempts, false);
            };
            result.data.insert("attempts".into(), Value::from(attempts));
            let holds = self
                .condition_on_result(task, &context, &result, until)
                .unwrap_or(false);
            if holds || attempts > task.retries.or(0) as usize {
                return self.outcome(task, result, attempts, !holds);
            }
            tokio::time::sleep(Duration::from_secs_f64(task.delay.or(0.0))).await;
        }
    }

    pub(super) fn outcome(
        &self,
        task: &Task,
        mut result: ModuleResult,
        attempts: usize,
        retries_exhausted: bool,
    ) -> TaskOutcome {
        if task.until.is_some() {
            result.data.insert("attempts".into(), Value::from(attempts));
            if retries_exhausted {
                result.failed = true;
                result.msg.get_or_insert_with(|| "retries exhausted".into());
            }
        }
        let status = if result.failed && task.ignore_errors.or(false) {
            Status::Ignored
        } else if result.failed {
            Status::Failed
        } else if result.skipped {
            Status::Skipped
        } else if result.changed {
            Status::Changed
        } else {
            Status::Ok
        };
        let mut registered = result.to_registered();
        if !result.diffs.is_empty()
            && let Value::Object(map) = &mut registered
        {
            let diffs = result
                .diffs
                .iter()
                .map(|d| Value::String(unified_diff(d)))
                .collect();
            map.insert("diff".into(), Value::Array(diffs));
        }
        TaskOutcome {
            status,
            registered,
            facts: result.facts,
            control: result.control,
            switch: result.switch,
        }
    }

    /// Evaluates `changed_when` and `failed_when` with the result visible under the register name.
    fn apply_overrides(
        &self,
        task: &Task,
        context: &Value,
        result: &mut ModuleResult,
    ) -> Result<(), String> {
        if let Some(conditions) = &task.changed_when {
            result.changed = self.all_hold(task, context, result, conditions)?;
        }
        if let Some(conditions) = &task.failed_when {
            let failed = self.all_hold(task, context, result, conditions)?;
            result.failed = failed;
            if !failed {
                result.msg = None;
            }
        }
        Ok(())
    }

    fn all_hold(
        &self,
        task: &Task,
        context: &Value,
        result: &ModuleResult,
        conditions: &[String],
    ) -> Result<bool, String> {
        for condition in conditions {
            if !self.condition_on_result(task, context, result, condition)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn condition_on_result(
        &self,
        task: &Task,
        context: &Value,
        result: &ModuleResult,
        condition: &str,
    ) -> Result<bool, String> {
        let mut vars = context.as_object().cloned().unwrap_or_default();
        let registered = result.to_registered();
        if let Some(name) = &task.register {
            vars.insert(name.clone(), registered.clone());
        }
        if let Value::Object(fields) = registered {
            for (k, v) in fields {
                vars.entry(k).or_insert(v);
            }
        }
        self.templater
            .eval_condition(strip_braces(condition), &Value::Object(vars))
            .map_err(|e| format!("the condition `{condition}` failed: {e}"))
    }

    /// Renders the arguments and runs the module through the right connection.
    async fn run_module(
        &self,
        host: &HostState,
        task: &Task,
        context: &Value,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<ModuleResult, ModuleError> {
        let rendered = match self.templater.render_value(&task.args, context) {
            Ok(Value::Object(args)) => args,
            Ok(_) => {
                return Ok(ModuleResult::failed(
                    "the module arguments must be a mapping",
                ));
            }
            Err(e) => {
                return Ok(ModuleResult::failed(at_task(
                    task,
                    format!("template error in the arguments: {e}"),
                )));
            }
        };
        let mut rendered = rendered;
        strip_omitted(&mut rendered);
        let spec = task.module.spec();
        if let Some(problem) = spec.validate(&rendered).into_iter().next() {
            return Ok(ModuleResult::failed(at_task(task, problem.message)));
        }
        let args = spec.normalise(&rendered)?;
        let delegate = match &task.delegate_to {
            Some(target) => match self.templater.render_str(target, context) {
                Ok(name) => Some(name),
                Err(e) => {
                    return Ok(ModuleResult::failed(format!(
                        "cannot render delegate_to: {e}"
                    )));
                }
            },
            None => None,
        };
        let on_controller = task.module.runs_on_controller();
        let delegate = match delegate {
            Some(name) if on_controller && self.is_controller(&name) => None,
            Some(name) if on_controller => {
                return Ok(ModuleResult::failed(at_task(
                    task,
                    format!(
                        "{} runs on the controller; delegate_to `{name}` (another host) is not supported",
                        spec.name
                    ),
                )));
            }
            other => other,
        };
        let transport: Arc<dyn Transport>;
        let via: &dyn Transport = match delegate.as_deref() {
            Some(name) if name != host.name => {
                transport = self.delegate(name).await?;
                transport.as_ref()
            }
            _ => match self.connection_for(host, &task.connection, context).await? {
                Some(own) => {
                    transport = own;
                    transport.as_ref()
                }
                None => &host.connection,
            },
        };
        let traced;
        let via: &dyn Transport = if task.no_log.or(true) {
            via
        } else {
            traced = Traced {
                inner: via,
                host: &host.name,
            };
            &traced
        };
        let deadlined;
        let via: &dyn Transport = match deadline {
            Some(deadline) => {
                deadlined = Deadlined {
                    inner: via,
                    deadline,
                };
                &deadlined
            }
            None => via,
        };
        let check_mode = task.check_mode_or(self.options.check);
        let environment = self.render_environment(task, context)?;
        let ctx = ModuleContext {
            host: &host.name,
            transport: via,
            become_user: become_for(task, context, &self.options.become_password),
            env: environment,
            check_mode,
            diff: task.diff_or(self.options.diff),
            vars: context,
            templater: self.templater,
            search_paths: &task.search_paths,
        };
        task.module.run(&args, &ctx).await
    }

    fn render_environment(
        &self,
        task: &Task,
        context: &Value,
    ) -> Result<Vec<(String, String)>, ModuleError> {
        let mut env: Vec<(String, String)> = Vec::new();
        for layer in &task.environment {
            let rendered = self.templater.render_value(layer, context).map_err(|e| {
                crate::modules::ArgError {
                    arg: None,
                    message: format!("cannot render `environment`: {e}"),
                }
            })?;
            let Value::Object(layer) = rendered else {
                return Err(crate::modules::ArgError {
                    arg: None,
                    message: format!(
                        "`environment` must be a mapping, not {}",
                        crate::modules::spec::kind(&rendered)
                    ),
                }
                .into());
            };
            for (name, text) in environment_variables(layer)? {
                env.retain(|(n, _)| *n != name);
                env.push((name, text));
            }
        }
        Ok(env)
    }

    /// The transport for a `delegate_to` target: the controller for `localhost`, else the
    /// inventory host's connection.
    async fn delegate(&self, name: &str) -> Result<Arc<dyn Transport>, ModuleError> {
        if self.is_controller(name) {
            return Ok(Arc::new(LocalTransport));
        }
        let vars = self.inventory().host_vars(name);
        Ok(self.connector.connect(name, &vars).await?)
    }

    /// Whether `delegate_to: name` means the controller: `localhost` or `127.0.0.1`, not
    /// connected to otherwise than locally.
    fn is_controller(&self, name: &str) -> bool {
        matches!(name, "localhost" | "127.0.0.1")
            && self
                .inventory()
                .host_vars(name)
                .get("ansible_connection")
                .and_then(Value::as_str)
                .is_none_or(|c| c == "local")
    }
}

/// The shorter of a task's `timeout` and `async` limits, and what to say when it is reached.
fn time_limit(task: &Task) -> Option<(Duration, String)> {
    let timeout = task.timeout.or(None).map(|limit| {
        let message = format!(
            "the task did not finish within its timeout ({} s) and was stopped",
            limit.as_secs()
        );
        (limit, message)
    });
    let asynchronous = task.async_limit.or(None).map(|limit| {
        let message = format!(
            "async task did not complete within the requested time - {}s",
            limit.as_secs()
        );
        (limit, message)
    });
    [timeout, asynchronous]
        .into_iter()
        .flatten()
        .min_by_key(|(limit, _)| *limit)
}

/// A rendered `environment` mapping as variables, their names checked, their values as text.
fn environment_variables(layer: Map<String, Value>) -> Result<Vec<(String, String)>, ModuleError> {
    let mut env = Vec::new();
    for (name, value) in layer {
        if !crate::transport::is_env_name(&name) {
            return Err(crate::modules::ArgError {
                arg: Some(name),
                message: "not a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*)".into(),
            }
            .into());
        }
        // As Ansible passes it: Python's `str()` of the value (`True`, `1`, `['a']`).
        env.push((name, crate::template::python_str(&value)));
    }
    Ok(env)
}

/// Marks the handlers `task` notifies as pending on `host`.
fn notify(play: &PlayContext<'_>, host: &HostState, task: &Task) {
    let mut pending = host.notified.lock().expect("notified lock");
    for name in &task.notify {
        for (index, handler) in play.play.handlers.iter().enumerate() {
            if handler.answers(name) {
                pending.insert(index);
            }
        }
    }
}

/// `become` settings rendered for a task: the user, and a password from the host's variables or
/// else the controller's (`DEPLOYER_BECOME_PASSWORD`). Like Ansible, none when the login user
/// (`ansible_user`) already is the become user.
fn become_for(task: &Task, context: &Value, fallback: &BecomePassword) -> Option<Become> {
    if !task.become_spec.enabled.or(false) {
        return None;
    }
    let user = task.become_spec.user.as_deref().unwrap_or("root");
    let login = ["ansible_user", "ansible_ssh_user"]
        .iter()
        .find_map(|k| context.get(k).and_then(Value::as_str));
    if login == Some(user) {
        return None;
    }
    let password = [
        "ansible_become_password",
        "ansible_become_pass",
        "ansible_sudo_pass",
    ]
    .iter()
    .find_map(|k| context.get(k).and_then(Value::as_str).map(str::to_string))
    .or_else(|| fallback.0.clone());
    Some(Become {
        user: user.to_string(),
        password,
    })
}

fn skipped_outcome(condition: &str) -> TaskOutcome {
    TaskOutcome {
        status: Status::Skipped,
        registered: serde_json::json!({
            "changed": false,
            "skipped": true,
            "skip_reason": "Conditional result was False",
            "false_condition": condition,
        }),
        facts: Map::new(),
        control: None,
        switch: None,
    }
}

/// A loop over no items: skipped, as Ansible counts and registers it.
fn empty_loop_outcome() -> TaskOutcome {
    TaskOutcome {
        status: Status::Skipped,
        registered: serde_json::json!({
            "changed": false,
            "results": [],
            "skipped": true,
            "skipped_reason": "No items in the list",
        }),
        facts: Map::new(),
        control: None,
        switch: None,
    }
}

/// `message` pointing at the task, the way Ansible locates a template error.
fn at_task(task: &Task, message: String) -> String {
    let span = &task.span;
    format!(
        "{message}. The error appears to be in '{}': line {}, column {}",
        span.source.path.display(),
        span.line,
        span.column
    )
}

/// `ansible_failed_task` and `ansible_failed_result`, which a `rescue` section (and the tasks
/// after it) see, as in Ansible; a `no_log` task's result stays censored.
fn failure_facts(task: &Task, result: &Value) -> [(String, Value); 2] {
    let failed_task = serde_json::json!({
        "name": task.name.clone().unwrap_or_default(),
        "action": task.module.spec().name,
        "args": task.args,
    });
    let result = match task.no_log.or(true) {
        true => serde_json::json!({"censored": CENSORED, "failed": true}),
        false => result.clone(),
    };
    [
        ("ansible_failed_task".into(), failed_task),
        ("ansible_failed_result".into(), result),
    ]
}

/// A task that failed before its module ran (a variable, loop or condition that cannot be
/// rendered); `ignore_errors` lets it through, as Ansible does.
fn failed_outcome(task: &Task, message: String) -> TaskOutcome {
    TaskOutcome {
        status: if task.ignore_errors.or(false) {
            Status::Ignored
        } else {
            Status::Failed
        },
        registered: serde_json::json!({"changed": false, "failed": true, "msg": message}),
        facts: Map::new(),
        control: None,
        switch: None,
    }
}

/// Adds a task's outcome to its host's recap counts, as Ansible counts them (a failure that a
/// rescue section will handle is not counted as failed).
fn count(s: &mut HostStats, outcome: &TaskOutcome, rescuable: bool) {
    match outcome.status {
        Status::Ok => s.ok += 1,
        Status::Changed => {
            s.ok += 1;
            s.changed += 1;
        }
        Status::Skipped => s.skipped += 1,
        // Like Ansible: a failure let through counts as ok, and as changed when it changed.
        Status::Ignored => {
            s.ok += 1;
            s.ignored += 1;
            if outcome.registered["changed"] == true {
                s.changed += 1;
            }
        }
        Status::Failed if rescuable => {}
        Status::Failed => s.failed += 1,
        Status::Unreachable => s.unreachable += 1,
    }
}

/// A unified diff of a before/after pair, as `--diff` shows it.
fn unified_diff(diff: &crate::modules::Diff) -> String {
    similar::TextDiff::from_lines(&diff.before, &diff.after)
        .unified_diff()
        .header(
            &format!("before: {}", diff.label),
            &format!("after: {}", diff.label),
        )
        .to_string()
}
