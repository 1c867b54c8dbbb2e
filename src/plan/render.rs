//! The printed form of a [`Plan`]: one view of its steps, rendered as stable indented text for
//! people and pull requests, or as JSON.

use std::fmt::Write;
use std::sync::Arc;

use serde::{Serialize, Serializer};

use super::{Plan, Step};
use crate::compile::{Keyword, Task};

/// One section (`pre_tasks`, `tasks`, `post_tasks`).
#[derive(Serialize)]
struct SectionView {
    /// The section's name (for an include's tasks: the file or role they come from).
    name: String,
    /// Its steps.
    steps: Vec<StepView>,
}

/// A task, or a block with its sections.
#[derive(Serialize)]
struct StepView {
    /// The task's title or the block's name.
    title: String,
    /// `block` for blocks, else the module name (`include_tasks` and `include_role` for dynamic
    /// includes).
    kind: String,
    /// Where it is written.
    location: String,
    /// Its `when` conditions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    when: Vec<String>,
    /// Its tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
    /// Handlers it notifies.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    notify: Vec<String>,
    /// Other keywords worth reviewing (`run_once`, `delegate_to`, `loop`, `become`, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    flags: Vec<String>,
    /// For blocks: the block, rescue and always steps; for includes: the included steps.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    children: Vec<SectionView>,
}

/// The names of a play's sections, in order.
const SECTION_NAMES: [&str; 3] = ["pre_tasks", "tasks", "post_tasks"];

/// Serializes a play's sections as their views.
pub(super) fn sections<S: Serializer>(sections: &[Vec<Step<'_>>], s: S) -> Result<S::Ok, S::Error> {
    section_views(sections).serialize(s)
}

/// Serializes a play's handlers as their views.
pub(super) fn handlers<S: Serializer>(handlers: &&[Arc<Task>], s: S) -> Result<S::Ok, S::Error> {
    let views: Vec<StepView> = handlers.iter().map(|h| task_view(h)).collect();
    views.serialize(s)
}

fn section_views(sections: &[Vec<Step<'_>>]) -> Vec<SectionView> {
    sections
        .iter()
        .zip(SECTION_NAMES)
        .filter_map(|(steps, name)| view_section(name, steps))
        .collect()
}

/// A section's view; `None` when no step of it is selected.
fn view_section(name: &str, steps: &[Step<'_>]) -> Option<SectionView> {
    let steps: Vec<StepView> = steps.iter().filter_map(view).collect();
    (!steps.is_empty()).then(|| SectionView {
        name: name.to_string(),
        steps,
    })
}

/// A step's view; `None` for a block with no step selected.
fn view(step: &Step<'_>) -> Option<StepView> {
    match step {
        Step::Task(t) => Some(task_view(t.task)),
        Step::Block(b) => {
            let children: Vec<SectionView> = [
                ("block", &b.body),
                ("rescue", &b.rescue),
                ("always", &b.always),
            ]
            .into_iter()
            .filter_map(|(name, steps)| view_section(name, steps))
            .collect();
            (!children.is_empty()).then(|| StepView {
                title: b.block.name.clone().unwrap_or_else(|| "block".into()),
                kind: "block".into(),
                location: b.block.span.to_string(),
                when: Vec::new(),
                tags: Vec::new(),
                notify: Vec::new(),
                flags: Vec::new(),
                children,
            })
        }
        Step::Include(i) => Some(StepView {
            children: (i.bodies.iter())
                .filter_map(|(name, steps)| view_section(name, steps))
                .collect(),
            ..task_view(&i.include.step)
        }),
    }
}

/// A boolean keyword among a step's flags: its name when true, `name=template` when templated.
fn flag(flags: &mut Vec<String>, name: &str, keyword: &Keyword<bool>) {
    match keyword {
        Keyword::Literal(true) => flags.push(name.into()),
        Keyword::Literal(false) => {}
        Keyword::Template(template) => flags.push(format!("{name}={template}")),
    }
}

fn task_view(task: &Task) -> StepView {
    let mut flags = Vec::new();
    if let Some(l) = &task.looping {
        flags.push(format!(
            "loop={}",
            serde_json::to_string(&l.items).unwrap_or_default()
        ));
    }
    flag(&mut flags, "run_once", &task.run_once);
    if let Some(d) = &task.delegate_to {
        flags.push(format!("delegate_to={d}"));
    }
    let user = task.become_spec.user.as_deref().unwrap_or("root");
    match &task.become_spec.enabled {
        Keyword::Literal(true) => flags.push(format!("become={user}")),
        Keyword::Literal(false) => {}
        Keyword::Template(when) => flags.push(format!("become={user} if {when}")),
    }
    if let Some(r) = &task.register {
        flags.push(format!("register={r}"));
    }
    if task.throttle != Keyword::Literal(0) {
        flags.push(format!("throttle={}", task.throttle));
    }
    flag(&mut flags, "ignore_errors", &task.ignore_errors);
    flag(&mut flags, "no_log", &task.no_log);
    if let Some(until) = &task.until {
        flags.push(format!(
            "until={until} retries={} delay={}",
            task.retries, task.delay
        ));
    }
    StepView {
        title: task.title(),
        kind: task.module.spec().name.to_string(),
        location: task.span.to_string(),
        when: task.when.clone(),
        tags: task.tags.clone(),
        notify: task.notify.clone(),
        flags,
        children: Vec::new(),
    }
}

/// Renders the plan as text for people and pull requests.
pub fn render_text(plan: &Plan) -> String {
    let mut out = String::new();
    for (i, play) in plan.plays.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = writeln!(out, "PLAY {} [{}]  ({})", i + 1, play.name, play.location);
        let _ = writeln!(
            out,
            "  hosts: {}  strategy: {}",
            play.pattern, play.strategy
        );
        if let Some(max) = play.max_fail_percentage {
            let _ = writeln!(out, "  max_fail_percentage: {max}");
        }
        if play.batches.is_empty() {
            let _ = writeln!(out, "  (no hosts match)");
        }
        for (b, batch) in play.batches.iter().enumerate() {
            let _ = writeln!(out, "  batch {}: {}", b + 1, batch.join(", "));
        }
        let mut number = 0;
        for section in &section_views(&play.sections) {
            section_text(&mut out, section, 1, &mut number);
        }
        if !play.handlers.is_empty() {
            let _ = writeln!(out, "  handlers:");
            for h in play.handlers.iter() {
                step_text(&mut out, &task_view(h), 2, None);
            }
        }
    }
    out
}

fn section_text(out: &mut String, section: &SectionView, depth: usize, number: &mut usize) {
    let _ = writeln!(out, "{}{}:", "  ".repeat(depth), section.name);
    for step in &section.steps {
        // Blocks only group steps; tasks and includes are steps themselves.
        if step.kind == "block" {
            step_text(out, step, depth + 1, None);
        } else {
            *number += 1;
            step_text(out, step, depth + 1, Some(*number));
        }
        for child in &step.children {
            section_text(out, child, depth + 2, number);
        }
    }
}

fn step_text(out: &mut String, step: &StepView, depth: usize, number: Option<usize>) {
    let indent = "  ".repeat(depth);
    let prefix = number.map(|n| format!("{n}. ")).unwrap_or_default();
    let _ = writeln!(
        out,
        "{indent}{prefix}{} ({})  {}",
        step.title, step.kind, step.location
    );
    let detail = format!("{indent}   ");
    if !step.when.is_empty() {
        let _ = writeln!(out, "{detail}when: {}", step.when.join(" and "));
    }
    if !step.tags.is_empty() {
        let _ = writeln!(out, "{detail}tags: {}", step.tags.join(", "));
    }
    if !step.notify.is_empty() {
        let _ = writeln!(out, "{detail}notify: {}", step.notify.join(", "));
    }
    for flag in &step.flags {
        let _ = writeln!(out, "{detail}{flag}");
    }
}
