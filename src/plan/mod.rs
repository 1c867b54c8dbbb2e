//! The executable plan of a run: for each play, its hosts (after `--limit`) in batches and the
//! steps every host walks (after tag selection), each with a stable [`StepId`]. [`build`] makes
//! it, `execute` runs it and `deployer plan` prints it; the same input always gives the same
//! bytes, so it can be reviewed in a pull request.

mod batches;
mod render;
mod step;
mod tags;

use serde::Serialize;

use crate::compile::{Play, Program, Strategy};
use crate::inventory::Inventory;
pub use batches::{batches, exceeds};
pub use render::render_text;
pub use step::{BlockStep, IncludeStep, Step, StepId, TaskStep};
pub use tags::TagFilter;

/// The whole run.
#[derive(Serialize)]
pub struct Plan<'p> {
    /// The program the plan was built from (its `-e` values are needed at run time).
    #[serde(skip)]
    pub program: &'p Program,
    /// One entry per play.
    pub plays: Vec<PlayPlan<'p>>,
}

/// One play: its hosts, batches and steps.
#[derive(Serialize)]
pub struct PlayPlan<'p> {
    /// The compiled play (its variables, handlers and settings).
    #[serde(skip)]
    pub play: &'p Play,
    /// The play's name.
    pub name: String,
    /// Where it is written.
    pub location: String,
    /// The host pattern.
    pub pattern: String,
    /// `linear` or `free`.
    pub strategy: &'static str,
    /// The hosts the pattern selects, narrowed by `--limit`, in inventory order.
    #[serde(skip)]
    pub hosts: Vec<String>,
    /// Host batches, in order.
    pub batches: Vec<Vec<String>>,
    /// `max_fail_percentage`, when set.
    pub max_fail_percentage: Option<f64>,
    /// The steps of `pre_tasks`, `tasks` and `post_tasks` (every section, even empty: handlers
    /// are flushed at the end of each).
    #[serde(serialize_with = "render::sections")]
    pub sections: Vec<Vec<Step<'p>>>,
    /// The handlers.
    #[serde(serialize_with = "render::handlers")]
    pub handlers: &'p [std::sync::Arc<crate::compile::Task>],
}

/// `--limit` resolved against an inventory: the hosts it lets through.
pub struct Limit(Option<Vec<String>>);

impl Limit {
    /// Resolves `limit` (a malformed one lets no host through; `lib::check_limit` refuses it
    /// first).
    pub fn new(inventory: &Inventory, limit: Option<&str>) -> Self {
        Limit(limit.map(|l| inventory.limit(l).unwrap_or_default()))
    }

    /// Whether `host` is let through.
    pub fn allows(&self, host: &str) -> bool {
        self.0
            .as_ref()
            .is_none_or(|hosts| hosts.iter().any(|h| h == host))
    }
}

/// Builds the plan of a program against an inventory, for the hosts `limit` lets through and the
/// steps `tags` selects.
pub fn build<'p>(
    program: &'p Program,
    inventory: &Inventory,
    limit: &Limit,
    tags: &TagFilter,
) -> Plan<'p> {
    let plays = program
        .plays
        .iter()
        .map(|play| {
            let hosts = play_hosts(inventory, play, limit);
            PlayPlan {
                play,
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
                    batches(&hosts, &play.serial)
                },
                hosts,
                max_fail_percentage: play.max_fail_percentage,
                sections: step::sections(&play.sections, tags),
                handlers: &play.handlers,
            }
        })
        .collect();
    Plan { program, plays }
}

/// The hosts a play's pattern selects in `inventory`, narrowed by `limit`, in inventory order.
pub fn play_hosts(inventory: &Inventory, play: &Play, limit: &Limit) -> Vec<String> {
    (inventory
        .select(&play.hosts)
        .unwrap_or_default()
        .into_iter())
    .filter(|h| limit.allows(h))
    .collect()
}

impl Plan<'_> {
    /// Every host some play targets, in first-seen order.
    pub fn hosts(&self) -> Vec<String> {
        let mut hosts: Vec<String> = Vec::new();
        for host in self.plays.iter().flat_map(|p| &p.hosts) {
            if !hosts.contains(host) {
                hosts.push(host.clone());
            }
        }
        hosts
    }
}
