//! The README quotes identifiers defined once in code; this keeps the two from drifting.

use relaybench::metrics::Metric;
use relaybench::outcome::OutcomeKind;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md")
}

#[test]
fn metric_table_matches_the_definitions() {
    let readme = readme();
    for m in Metric::ALL {
        let row = format!("| `{}` | {} | {} |", m.id(), m.unit().label(), m.definition());
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
    assert!(readme.contains("\nbash .ci/run "), "the quick start's test command is .ci/run");
    assert!(readme.contains("cargo test --locked"));
    let ci = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/run")).expect(".ci/run");
    assert_eq!(ci.lines().last(), Some("cargo test --locked"), ".ci/run (the README's test command) ends by running every test");
}

#[test]
fn rule_table_matches_the_rule_definitions() {
    let table = relaybench::conformance::rules::markdown_table();
    assert!(readme().contains(&table), "README's rule table is stale; replace it with `relaybench rules`:\n{table}");
}

#[test]
fn the_catalog_table_and_the_real_key_comparison_match_the_catalog() {
    let readme = readme();
    for p in &relaybench::provider::CATALOG {
        let url = p.base_url.map_or("none documented: give `base_url`".to_owned(), |u| format!("`{u}`"));
        let start = format!("| `{}` |", p.id);
        let line = readme.lines().find(|l| l.starts_with(&start)).unwrap_or_else(|| panic!("README lacks the catalog row of {}", p.id));
        assert!(line.contains(&url) && line.contains(&format!("`{}`", p.key_env)), "{line}");
    }
    // The scenario a user with keys writes, as the README gives it, is a valid scenario.
    let from = readme.find("cat > compare.yaml <<'YAML'\n").expect("compare.yaml block") + "cat > compare.yaml <<'YAML'\n".len();
    let to = from + readme[from..].find("YAML\n").expect("end of block");
    let s = relaybench::scenario::parse(&readme[from..to], std::path::Path::new("compare.yaml")).expect("README compare.yaml parses");
    assert_eq!(s.targets().len(), 3);
}

#[test]
fn the_readme_states_the_rust_version_cargo_enforces() {
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).expect("Cargo.toml");
    let version = manifest.lines().find_map(|l| l.strip_prefix("rust-version = ")).expect("rust-version").trim_matches('"');
    assert!(readme().contains(&format!("(cargo {version} or newer")), "README must name rust-version {version}");
    // hdrhistogram and time need 1.88; cargo refuses an older toolchain with this field.
    let parts: Vec<u32> = version.split('.').map(|p| p.parse().expect("number")).collect();
    assert!(parts >= vec![1, 88], "rust-version {version} is below what the locked dependencies need");
}
