//! The text form of a [`Plan`]: stable, indented, one line per step.

use std::fmt::Write;

use super::{Plan, SectionPlan, StepPlan};

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
        for section in &play.sections {
            section_text(&mut out, section, 1, &mut number);
        }
        if !play.handlers.is_empty() {
            let _ = writeln!(out, "  handlers:");
            for h in &play.handlers {
                step_text(&mut out, h, 2, None);
            }
        }
    }
    out
}

fn section_text(out: &mut String, section: &SectionPlan, depth: usize, number: &mut usize) {
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

fn step_text(out: &mut String, step: &StepPlan, depth: usize, number: Option<usize>) {
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
