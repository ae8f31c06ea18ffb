//! The README quotes identifiers defined once in code; this keeps the two from drifting.

use relaybench::metrics::{Metric, Unit};
use relaybench::outcome::OutcomeKind;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md")
}

#[test]
fn metric_table_matches_the_definitions() {
    let readme = readme();
    for m in Metric::ALL {
        let unit = match m.unit() {
            Unit::Micros => "ms",
            Unit::MilliTokensPerS => "tokens/s",
        };
        let row = format!("| `{}` | {} | {} |", m.id(), unit, m.definition());
        assert!(readme.contains(&row), "README lacks the row:\n{row}");
    }
}

#[test]
fn outcome_table_matches_the_definitions() {
    let readme = readme();
    for k in OutcomeKind::ALL {
        let row = format!("| `{}` | {} |", k.id(), k.description());
        assert!(readme.contains(&row), "README lacks the row:\n{row}");
    }
}

#[test]
fn quick_start_commands_are_the_ones_ci_and_users_run() {
    let readme = readme();
    assert!(readme.contains("cargo run --release -- run scenarios/smoke.yaml"));
    assert!(readme.contains("cargo test --locked"));
    let ci = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/run")).expect(".ci/run");
    assert_eq!(ci.lines().last(), Some("cargo test --locked"), ".ci/run ends with the README's test command");
}

#[test]
fn rule_table_matches_the_rule_definitions() {
    let table = relaybench::conformance::rules::markdown_table();
    assert!(readme().contains(&table), "README's rule table is stale; replace it with `relaybench rules`:\n{table}");
}
