//! The static, deterministic graph of a run: for each play, its hosts in batches and the steps
//! every host will walk (after `--limit` and tag selection). `deployer plan` prints it; the same
//! input always gives the same bytes, so it can be reviewed in a pull request.

mod render;

use serde::Serialize;

use crate::compile::{Program, Strategy, Task, TaskNode};
use crate::execute::TagFilter;
use crate::inventory::Inventory;

/// The whole run's graph.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// One entry per play.
    pub plays: Vec<PlayPlan>,
}

/// One play's graph.
#[derive(Debug, Clone, Serialize)]
pub struct PlayPlan {
    /// The play's name.
    pub name: String,
    /// Where it is written.
    pub location: String,
    /// The host pattern.
    pub pattern: String,
    /// `linear` or `free`.
    pub strategy: &'static str,
    /// Host batches, in order.
    pub batches: Vec<Vec<String>>,
    /// `max_fail_percentage`, when set.
    pub max_fail_percentage: Option<f64>,
    /// The steps, section by section.
    pub sections: Vec<SectionPlan>,
    /// The handlers.
    pub handlers: Vec<StepPlan>,
}

/// One section (`pre_tasks`, `tasks`, `post_tasks`).
#[derive(Debug, Clone, Serialize)]
pub struct SectionPlan {
    /// The section's name (for an include's tasks: the file or role they come from).
    pub name: String,
    /// Its steps.
    pub steps: Vec<StepPlan>,
}

/// A task, or a block with its sections.
#[derive(Debug, Clone, Serialize)]
pub struct StepPlan {
    /// The task's title or the block's name.
    pub title: String,
    /// `block` for blocks, else the module name (`include_tasks` and `include_role` for dynamic
    /// includes).
    pub kind: String,
    /// Where it is written.
    pub location: String,
    /// Its `when` conditions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub when: Vec<String>,
    /// Its tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Handlers it notifies.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<String>,
    /// Other keywords worth reviewing (`run_once`, `delegate_to`, `loop`, `become`, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    /// For blocks: the block, rescue and always steps; for includes: the included steps.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<SectionPlan>,
}

/// Builds the plan of a program against an inventory.
pub fn build(
    program: &Program,
    inventory: &Inventory,
    limit: Option<&str>,
    tags: &TagFilter,
) -> Plan {
    let limited: Option<Vec<String>> = limit.map(|l| inventory.limit(l).unwrap_or_default());
    let plays = program
        .plays
        .iter()
        .map(|play| {
            let hosts: Vec<String> = inventory
                .select(&play.hosts)
                .unwrap_or_default()
                .into_iter()
                .filter(|h| limited.as_ref().is_none_or(|l| l.contains(h)))
                .collect();
            let batches = crate::execute::batches(&hosts, &play.serial);
            let names = ["pre_tasks", "tasks", "post_tasks"];
            PlayPlan {
                name: play.name.clone(),
                location: play.span.to_string(),
                pattern: play.hosts.clone(),
                strategy: match play.strategy {
                    Strategy::Linear => "linear",
                    Strategy::Free => "free",
                },
                batches: if hosts.is_empty() {
                    Vec::new()
                } else {
                    batches
                },
                max_fail_percentage: play.max_fail_percentage,
                sections: play
                    .sections
                    .iter()
                    .zip(names)
                    .map(|(nodes, name)| SectionPlan {
                        name: name.to_string(),
                        steps: steps(nodes, tags),
                    })
                    .filter(|s| !s.steps.is_empty())
                    .collect(),
                handlers: play.handlers.iter().map(|h| task_step(h)).collect(),
            }
        })
        .collect();
    Plan { plays }
}

fn steps(nodes: &[TaskNode], tags: &TagFilter) -> Vec<StepPlan> {
    nodes
        .iter()
        .filter_map(|node| match node {
            TaskNode::Task(task) => tags.selects(&task.tags).then(|| task_step(task)),
            TaskNode::Block(block) => {
                let children: Vec<SectionPlan> = [
                    ("block", &block.block),
                    ("rescue", &block.rescue),
                    ("always", &block.always),
                ]
                .into_iter()
                .map(|(name, nodes)| SectionPlan {
                    name: name.to_string(),
                    steps: steps(nodes, tags),
                })
                .filter(|s| !s.steps.is_empty())
                .collect();
                (!children.is_empty()).then(|| StepPlan {
                    title: block.name.clone().unwrap_or_else(|| "block".into()),
                    kind: "block".into(),
                    location: block.span.to_string(),
                    when: Vec::new(),
                    tags: Vec::new(),
                    notify: Vec::new(),
                    flags: Vec::new(),
                    children,
                })
            }
            TaskNode::Include(include) => tags.selects(&include.step.tags).then(|| StepPlan {
                children: include
                    .bodies
                    .iter()
                    .map(|(name, nodes)| SectionPlan {
                        name: name.clone(),
                        steps: steps(nodes, tags),
                    })
                    .filter(|s| !s.steps.is_empty())
                    .collect(),
                ..task_step(&include.step)
            }),
        })
        .collect()
}

fn task_step(task: &Task) -> StepPlan {
    let mut flags = Vec::new();
    if let Some(l) = &task.looping {
        flags.push(format!(
            "loop={}",
            serde_json::to_string(&l.items).unwrap_or_default()
        ));
    }
    if task.run_once {
        flags.push("run_once".into());
    }
    if let Some(d) = &task.delegate_to {
        flags.push(format!("delegate_to={d}"));
    }
    if task.become_spec.enabled {
        flags.push(format!(
            "become={}",
            task.become_spec.user.as_deref().unwrap_or("root")
        ));
    }
    if let Some(r) = &task.register {
        flags.push(format!("register={r}"));
    }
    if task.ignore_errors {
        flags.push("ignore_errors".into());
    }
    if task.no_log {
        flags.push("no_log".into());
    }
    if let Some(until) = &task.until {
        flags.push(format!(
            "until={until} retries={} delay={}",
            task.retries, task.delay
        ));
    }
    StepPlan {
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

pub use render::render_text;
