//! The steps of a play as hosts walk them: tasks, blocks and dynamic includes, after tag
//! selection, each task and include step named by a [`StepId`].

use std::sync::Arc;

use crate::compile::{Block, Include, Task, TaskNode};

use super::TagFilter;

/// A step's identity, stable for a given playbook: its section (0 `pre_tasks`, 1 `tasks`,
/// 2 `post_tasks`), its ordinal in walking order within the section (from 1, counting every task
/// and include step whatever the tag selection), and the includes it is in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StepId {
    /// The section.
    pub section: u32,
    /// The ordinal within the section.
    pub ordinal: u32,
    /// The names of the files or roles of the dynamic includes around it, outermost first.
    pub include_path: Vec<String>,
}

impl StepId {
    /// The step's place in the play's walking order: steps compare by section, then ordinal.
    pub fn order(&self) -> u64 {
        Self::key(self.section, self.ordinal)
    }

    /// The place of the end of `section`, after its last step (where handlers are flushed).
    pub fn section_end(section: usize) -> u64 {
        Self::key(section as u32, u32::MAX)
    }

    fn key(section: u32, ordinal: u32) -> u64 {
        (u64::from(section) << 32) | u64::from(ordinal)
    }
}

/// One node of the walk.
pub enum Step<'p> {
    /// A task.
    Task(TaskStep<'p>),
    /// A block with its rescue and always steps.
    Block(BlockStep<'p>),
    /// A dynamic include and the steps of what it may include.
    Include(IncludeStep<'p>),
}

/// A task and its identity.
pub struct TaskStep<'p> {
    /// Its identity.
    pub id: StepId,
    /// The compiled task.
    pub task: &'p Arc<Task>,
}

/// A block's steps.
pub struct BlockStep<'p> {
    /// The compiled block.
    pub block: &'p Block,
    /// The steps tried first.
    pub body: Vec<Step<'p>>,
    /// The steps run when one of `body` failed.
    pub rescue: Vec<Step<'p>>,
    /// The steps run in every case.
    pub always: Vec<Step<'p>>,
}

/// A dynamic include step and the steps of each file or role it may include.
pub struct IncludeStep<'p> {
    /// The include step's identity.
    pub id: StepId,
    /// The compiled include.
    pub include: &'p Include,
    /// The included steps by file or role name (every name compiled before the run).
    pub bodies: Vec<(&'p str, Vec<Step<'p>>)>,
}

impl<'p> IncludeStep<'p> {
    /// The steps included under `name`, when it was compiled before the run.
    pub fn body(&self, name: &str) -> Option<&[Step<'p>]> {
        (self.bodies.iter())
            .find(|(known, _)| *known == name)
            .map(|(_, body)| body.as_slice())
    }
}

/// The steps of every section, numbered, keeping those `tags` selects.
pub(super) fn sections<'p>(sections: &'p [Vec<TaskNode>], tags: &TagFilter) -> Vec<Vec<Step<'p>>> {
    sections
        .iter()
        .enumerate()
        .map(|(section, nodes)| {
            let mut numbering = Numbering {
                section: section as u32,
                next: 0,
                tags,
            };
            numbering.steps(nodes, &[])
        })
        .collect()
}

/// Numbers the steps of one section in walking order.
struct Numbering<'t> {
    section: u32,
    next: u32,
    tags: &'t TagFilter,
}

impl Numbering<'_> {
    fn id(&mut self, include_path: &[String]) -> StepId {
        self.next += 1;
        StepId {
            section: self.section,
            ordinal: self.next,
            include_path: include_path.to_vec(),
        }
    }

    fn steps<'p>(&mut self, nodes: &'p [TaskNode], include_path: &[String]) -> Vec<Step<'p>> {
        let mut steps = Vec::new();
        for node in nodes {
            match node {
                TaskNode::Task(task) => {
                    let id = self.id(include_path);
                    if self.tags.selects(&task.tags) {
                        steps.push(Step::Task(TaskStep { id, task }));
                    }
                }
                TaskNode::Block(block) => {
                    let body = self.steps(&block.block, include_path);
                    let rescue = self.steps(&block.rescue, include_path);
                    let always = self.steps(&block.always, include_path);
                    steps.push(Step::Block(BlockStep {
                        block,
                        body,
                        rescue,
                        always,
                    }));
                }
                TaskNode::Include(include) => {
                    let id = self.id(include_path);
                    let bodies = (include.bodies.iter())
                        .map(|(name, nodes)| {
                            let mut inner = include_path.to_vec();
                            inner.push(name.clone());
                            (name.as_str(), self.steps(nodes, &inner))
                        })
                        .collect();
                    if self.tags.selects(&include.step.tags) {
                        steps.push(Step::Include(IncludeStep {
                            id,
                            include,
                            bodies,
                        }));
                    }
                }
            }
        }
        steps
    }
}
