//! A readable plan, in the layout of `nomad job plan`.

use std::fmt::Write;

use crate::types::{FieldDiff, ObjectDiff, PlanResponse};

/// Prints a plan like `nomad job plan` does: the job, each task group with what the
/// scheduler would do (`(1 create, 2 create/destroy update)`), each task with what its change
/// forces, and changed fields as `+/- image: "old" => "new"` (`+` added, `-` deleted,
/// `+/-` edited, blank for unchanged context). Ends with placement failures and warnings.
pub fn format_plan_diff(plan: &PlanResponse) -> String {
    let mut out = String::new();
    let Some(diff) = &plan.diff else {
        out.push_str("No diff (the plan was made without Diff)\n");
        return out;
    };
    let _ = writeln!(out, "{}Job: {:?}", marker(&diff.kind), diff.id);
    if diff.kind == "Edited" {
        fields_and_objects(&mut out, &diff.fields, &diff.objects, 0);
    }
    for tg in &diff.task_groups {
        let mut updates: Vec<(&String, &u64)> = tg.updates.iter().filter(|(_, n)| **n > 0).collect();
        updates.sort_by_key(|(kind, _)| update_order(kind));
        let counts = updates
            .iter()
            .map(|(kind, n)| format!("{n} {kind}"))
            .collect::<Vec<_>>()
            .join(", ");
        let counts = if counts.is_empty() {
            String::new()
        } else {
            format!(" ({counts})")
        };
        let _ = writeln!(out, "{}Task Group: {:?}{counts}", marker(&tg.kind), tg.name);
        if tg.kind == "Edited" {
            fields_and_objects(&mut out, &tg.fields, &tg.objects, 2);
        }
        for task in &tg.tasks {
            let notes = if task.annotations.is_empty() {
                String::new()
            } else {
                format!(" ({})", task.annotations.join(", "))
            };
            let _ = writeln!(out, "  {}Task: {:?}{notes}", marker(&task.kind), task.name);
            if task.kind == "Edited" {
                fields_and_objects(&mut out, &task.fields, &task.objects, 4);
            }
        }
    }
    out.push_str("\nScheduler dry-run:\n");
    if plan.failed_tg_allocs.is_empty() {
        out.push_str("- All tasks successfully allocated.\n");
    } else {
        for (group, metric) in &plan.failed_tg_allocs {
            let _ = writeln!(out, "- WARNING: Failed to place all allocations.");
            let _ = writeln!(
                out,
                "  Task Group {group:?} (failed to place {} allocation(s)):",
                metric.coalesced_failures + 1
            );
            for (dimension, n) in &metric.dimension_exhausted {
                let _ = writeln!(
                    out,
                    "    * Resources exhausted on {n} nodes: Dimension {dimension:?}"
                );
            }
            for (constraint, n) in &metric.constraint_filtered {
                let _ = writeln!(
                    out,
                    "    * Constraint {constraint:?}: {n} nodes excluded by filter"
                );
            }
        }
    }
    if !plan.warnings.is_empty() {
        let _ = writeln!(out, "\nJob Warnings:\n{}", plan.warnings.trim_end());
    }
    let _ = writeln!(out, "\nJob Modify Index: {}", plan.job_modify_index);
    out
}

/// The order `nomad job plan` lists update types in.
fn update_order(kind: &str) -> usize {
    const ORDER: [&str; 7] = [
        "create",
        "destroy",
        "migrate",
        "in-place update",
        "create/destroy update",
        "canary",
        "ignore",
    ];
    ORDER.iter().position(|k| *k == kind).unwrap_or(ORDER.len())
}

fn marker(kind: &str) -> &'static str {
    match kind {
        "Added" => "+ ",
        "Deleted" => "- ",
        "Edited" => "+/- ",
        _ => "",
    }
}

fn fields_and_objects(out: &mut String, fields: &[FieldDiff], objects: &[ObjectDiff], indent: usize) {
    let width = fields.iter().map(|f| f.name.len()).max().unwrap_or(0);
    for field in fields {
        let pad = " ".repeat(indent);
        let name = format!("{}:", field.name);
        let value = match field.kind.as_str() {
            "Added" => format!("{:?}", field.new),
            "Deleted" => format!("{:?}", field.old),
            "Edited" => format!("{:?} => {:?}", field.old, field.new),
            _ => format!("{:?}", field.new),
        };
        let notes = if field.annotations.is_empty() {
            String::new()
        } else {
            format!(" ({})", field.annotations.join(", "))
        };
        let mark = match marker(&field.kind) {
            "" => "    ",
            m => m,
        };
        let _ = writeln!(out, "{pad}{mark:<4}{name:<w$} {value}{notes}", w = width + 1);
    }
    for object in objects {
        let pad = " ".repeat(indent);
        let _ = writeln!(out, "{pad}{}{} {{", marker(&object.kind), object.name);
        fields_and_objects(out, &object.fields, &object.objects, indent + 2);
        let _ = writeln!(out, "{pad}    }}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prints_groups_tasks_and_changed_fields() {
        let plan: PlanResponse = serde_json::from_value(json!({
            "Diff": {"Type": "Edited", "ID": "web", "Fields": [], "Objects": [],
                "TaskGroups": [{"Type": "Edited", "Name": "web",
                    "Fields": [{"Type": "Edited", "Name": "Count", "Old": "2", "New": "3", "Annotations": ["forces create"]}],
                    "Updates": {"create": 1, "create/destroy update": 2},
                    "Tasks": [{"Type": "Edited", "Name": "web", "Annotations": ["forces create/destroy update"],
                        "Objects": [{"Type": "Edited", "Name": "Config", "Fields": [
                            {"Type": "Edited", "Name": "image", "Old": "app:1", "New": "app:2"},
                            {"Type": "None", "Name": "args[0]", "Old": "serve", "New": "serve"}]}]}]}]},
            "JobModifyIndex": 7, "Warnings": ""
        }))
        .expect("plan");
        let text = format_plan_diff(&plan);
        let expected = "\
+/- Job: \"web\"
+/- Task Group: \"web\" (1 create, 2 create/destroy update)
  +/- Count: \"2\" => \"3\" (forces create)
  +/- Task: \"web\" (forces create/destroy update)
    +/- Config {
      +/- image:   \"app:1\" => \"app:2\"
          args[0]: \"serve\"
        }

Scheduler dry-run:
- All tasks successfully allocated.

Job Modify Index: 7
";
        assert_eq!(text, expected);
    }

    #[test]
    fn new_job_and_placement_failures() {
        let plan: PlanResponse = serde_json::from_value(json!({
            "Diff": {"Type": "Added", "ID": "web", "Fields": [{"Type": "Added", "Name": "Priority", "Old": "", "New": "50"}],
                "TaskGroups": [{"Type": "Added", "Name": "web", "Updates": {"create": 3},
                    "Tasks": [{"Type": "Added", "Name": "web", "Annotations": ["forces create"]}]}]},
            "FailedTGAllocs": {"web": {"CoalescedFailures": 2, "DimensionExhausted": {"memory": 4}}},
            "JobModifyIndex": 0, "Warnings": "Group \"web\" uses a deprecated field"
        }))
        .expect("plan");
        let text = format_plan_diff(&plan);
        assert!(
            text.starts_with(
                "+ Job: \"web\"\n+ Task Group: \"web\" (3 create)\n  + Task: \"web\" (forces create)\n"
            ),
            "{text}"
        );
        assert!(
            !text.contains("Priority"),
            "an added job's fields are not listed: {text}"
        );
        assert!(
            text.contains("Task Group \"web\" (failed to place 3 allocation(s)):"),
            "{text}"
        );
        assert!(
            text.contains("Resources exhausted on 4 nodes: Dimension \"memory\""),
            "{text}"
        );
        assert!(
            text.contains("Job Warnings:\nGroup \"web\" uses a deprecated field"),
            "{text}"
        );
    }
}
