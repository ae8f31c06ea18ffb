//! The README and the guide under `docs/` quote identifiers, tables and commands defined
//! once in code; these tests keep the two from drifting, and hold the scenario schema and
//! the generated reference page to the types the loader reads.

use std::path::{Path, PathBuf};

use clap::Parser;
use relaybench::cli::Cli;
use relaybench::metrics::Metric;
use relaybench::outcome::OutcomeKind;
use relaybench::scenario::schema;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every page of the guide, by its path under the repository.
fn guide_pages() -> Vec<String> {
    let mut pages: Vec<String> = std::fs::read_dir(root().join("docs"))
        .expect("docs/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md"))
        .map(|n| format!("docs/{n}"))
        .collect();
    pages.sort();
    pages
}

#[test]
fn the_metric_and_outcome_tables_match_the_definitions() {
    let page = read("docs/metrics.md");
    for m in Metric::ALL {
        let row = format!("| `{}` | {} | {} |", m.id(), m.unit().label(), m.definition());
        assert!(page.contains(&row), "docs/metrics.md lacks the row:\n{row}");
    }
    for k in OutcomeKind::ALL {
        let row = format!("| `{}` | {} |", k.id(), k.description());
        assert!(page.contains(&row), "docs/metrics.md lacks the row:\n{row}");
    }
}

#[test]
fn the_rule_table_matches_the_rule_definitions() {
    let table = relaybench::conformance::rules::markdown_table();
    assert!(read("docs/conformance.md").contains(&table), "docs/conformance.md's rule table is stale; replace it with `relaybench rules`:\n{table}");
}

#[test]
fn the_catalog_table_and_the_real_key_comparison_match_the_catalog() {
    let page = read("docs/comparing-relays.md");
    for p in &relaybench::provider::CATALOG {
        let url = p.base_url.map_or("none documented: give `base_url`".to_owned(), |u| format!("`{u}`"));
        let start = format!("| `{}` |", p.id);
        let line = page.lines().find(|l| l.starts_with(&start)).unwrap_or_else(|| panic!("docs/comparing-relays.md lacks the catalog row of {}", p.id));
        assert!(line.contains(&url) && line.contains(&format!("`{}`", p.key_env)), "{line}");
    }
    // The scenario a user with keys writes, as the page gives it, is a valid scenario.
    let open = "cat > compare.yaml <<'YAML'\n";
    let from = page.find(open).expect("compare.yaml block") + open.len();
    let to = from + page[from..].find("YAML\n").expect("end of block");
    let s = relaybench::scenario::parse(&page[from..to], Path::new("compare.yaml")).expect("the page's compare.yaml parses");
    assert_eq!(s.targets().len(), 3);
}

#[test]
fn the_readme_gives_the_two_set_up_commands_and_the_rust_version() {
    let readme = read("README.md");
    assert!(readme.contains("\ncargo run --release -- run scenarios/smoke.yaml "), "the README's main job is the smoke run");
    assert!(readme.contains("\nbash .ci/run "), "the README's test command is .ci/run");
    let ci = read(".ci/run");
    assert_eq!(ci.lines().last(), Some("cargo test --locked"), ".ci/run (the README's test command) ends by running every test");
    let manifest = read("Cargo.toml");
    let version = manifest.lines().find_map(|l| l.strip_prefix("rust-version = ")).expect("rust-version").trim_matches('"');
    assert!(readme.contains(&format!("(cargo {version} or newer")), "README must name rust-version {version}");
    // hdrhistogram and time need 1.88; cargo refuses an older toolchain with this field.
    let parts: Vec<u32> = version.split('.').map(|p| p.parse().expect("number")).collect();
    assert!(parts >= vec![1, 88], "rust-version {version} is below what the locked dependencies need");
}

#[test]
fn the_readme_is_short_and_links_every_page_of_the_guide() {
    let readme = read("README.md");
    let lines = readme.lines().count();
    assert!(lines < 250, "the README has {lines} lines; the detail belongs in docs/");
    for page in guide_pages() {
        assert!(readme.contains(&format!("]({page})")), "the README does not link {page}");
    }
}

/// Relative links of a Markdown text: `](target)` not starting with a scheme or `#`.
fn relative_links(text: &str) -> Vec<String> {
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .filter(|t| !t.contains("://") && !t.starts_with('#') && !t.starts_with("mailto:"))
        .map(|t| t.split('#').next().unwrap_or(t).to_owned())
        .collect()
}

#[test]
fn every_relative_link_points_at_a_file() {
    let mut checked = 0;
    for page in std::iter::once("README.md".to_owned()).chain(guide_pages()) {
        let dir = root().join(&page).parent().expect("folder").to_path_buf();
        for link in relative_links(&read(&page)) {
            assert!(dir.join(&link).exists(), "{page} links {link}, which does not exist");
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} links found: the link reader is broken");
    // The reader itself: a broken link is found.
    assert_eq!(relative_links("see [a](docs/missing.md#x) and [b](https://x.test/y)"), vec!["docs/missing.md"]);
}

/// The commands of the `sh` blocks of a page, one per line, comments and continuation
/// lines left out: what a user copies.
fn shell_commands(text: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut in_sh = false;
    for line in text.lines() {
        match line.trim_start() {
            "```sh" => in_sh = true,
            "```" => in_sh = false,
            l if in_sh && !l.starts_with('#') => commands.push(l.split(" # ").next().unwrap_or(l).trim().to_owned()),
            _ => {}
        }
    }
    commands
}

/// A relaybench command line quoted in the guide: what follows `relaybench` or
/// `cargo run --release --`, up to a redirection or a pipe.
fn relaybench_args(command: &str) -> Option<Vec<String>> {
    let rest = command.strip_prefix("cargo run --release -- ").or_else(|| command.strip_prefix("relaybench "))?;
    let rest = rest.split(['>', '|']).next().unwrap_or(rest);
    Some(std::iter::once("relaybench".to_owned()).chain(rest.split_whitespace().map(str::to_owned)).collect())
}

#[test]
fn every_command_the_guide_quotes_is_one_that_runs() {
    let benches = read("Cargo.toml");
    let mut parsed = 0;
    for page in std::iter::once("README.md".to_owned()).chain(guide_pages()) {
        for command in shell_commands(&read(&page)) {
            if let Some(args) = relaybench_args(&command) {
                let cli = Cli::try_parse_from(&args).unwrap_or_else(|e| panic!("{page}: `{command}` is not a relaybench command line: {e}"));
                // A quoted scenario of this repository is one the loader takes.
                if let relaybench::cli::Command::Run { scenario, .. } | relaybench::cli::Command::Validate { scenario, .. } = &cli.command {
                    if scenario.starts_with("scenarios") {
                        relaybench::scenario::load(&root().join(scenario)).unwrap_or_else(|e| panic!("{page}: `{command}`: {e}"));
                    }
                }
                parsed += 1;
            } else if let Some(bench) = command.strip_prefix("cargo bench --bench ") {
                let name = bench.split_whitespace().next().unwrap_or_default();
                assert!(benches.contains(&format!("name = \"{name}\"")), "{page}: `{command}` names no bench of Cargo.toml");
            } else if let Some(test) = command.strip_prefix("cargo test --test ") {
                let name = test.split_whitespace().next().unwrap_or_default();
                assert!(root().join("tests").join(format!("{name}.rs")).exists(), "{page}: `{command}` names no test file");
            }
        }
    }
    assert!(parsed >= 10, "only {parsed} relaybench commands found in the guide's sh blocks");
    // The parser refuses what is not a command line, so the loop above can fail.
    assert!(Cli::try_parse_from(["relaybench", "runn", "scenarios/smoke.yaml"]).is_err());
}

#[test]
fn the_scenario_schema_file_is_the_one_the_code_derives() {
    let on_disk = read(schema::SCHEMA_PATH);
    assert!(
        on_disk == schema::scenario_schema_text(),
        "{} is stale: run `cargo run -- scenario-schema > {}`",
        schema::SCHEMA_PATH,
        schema::SCHEMA_PATH
    );
}

#[test]
fn the_scenario_reference_page_is_the_one_the_schema_gives() {
    let on_disk = read("docs/scenario-reference.md");
    assert!(
        on_disk == schema::reference_markdown(),
        "docs/scenario-reference.md is stale: run `cargo run -- scenario-schema --markdown > docs/scenario-reference.md`"
    );
    // Each field the loader reads has its row; a few read through their own functions.
    for row in ["| `max_tokens` | [OutputSize](#outputsize) | *required*", "| `jitter` | number | `0.25` | 0 to 10 |", "| `timeout` | [Duration](#duration) | `120s` |"] {
        assert!(on_disk.contains(row), "the reference lacks {row}");
    }
}

fn compiled_schema() -> jsonschema::Validator {
    jsonschema::validator_for(&schema::scenario_schema()).expect("the scenario schema compiles")
}

fn scenario_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("scenarios"))
        .expect("scenarios/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_shipped_scenario_points_editors_at_the_schema_and_validates() {
    let validator = compiled_schema();
    let files = scenario_files();
    assert!(files.len() >= 10, "{} scenarios", files.len());
    for path in files {
        let text = std::fs::read_to_string(&path).expect("scenario");
        assert_eq!(text.lines().next(), Some("# yaml-language-server: $schema=../schemas/scenario.schema.json"), "{}", path.display());
        let value = relaybench::yaml::to_json(&text).expect("YAML");
        let errors: Vec<String> = validator.iter_errors(&value).map(|e| format!("{} at {}", e, e.instance_path())).collect();
        assert!(errors.is_empty(), "{} breaks the schema:\n{}", path.display(), errors.join("\n"));
        relaybench::scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn scenarios_the_loader_refuses_the_schema_refuses_too() {
    let validator = compiled_schema();
    let good = "name: ok\nmodel: m\ntarget: mock\nrequests: [{max_tokens: 16, prompt: hi}]\nload: {concurrency: 2, requests: 4}\n";
    let check = |yaml: &str| -> (bool, bool) {
        let parser = relaybench::scenario::parse(yaml, Path::new("t.yaml")).is_ok();
        let schema = validator.is_valid(&relaybench::yaml::to_json(yaml).expect("YAML"));
        (parser, schema)
    };
    assert_eq!(check(good), (true, true), "the control scenario is valid to both");
    let broken = [
        ("an unknown top-level key", "seeed: 3\n"),
        ("an unknown template key", "requests: [{max_tokens: 16, prompt: hi, max_tokns: 3}]\n"),
        ("a template with two prompt sources", "requests: [{max_tokens: 16, prompt: hi, prompt_tokens: 30}]\n"),
        ("a template with no prompt", "requests: [{max_tokens: 16}]\n"),
        ("no templates", "requests: []\n"),
        ("max_tokens out of range", "requests: [{max_tokens: 200000, prompt: hi}]\n"),
        ("an unknown distribution", "requests: [{max_tokens: {distribution: gamma, max: 3}, prompt: hi}]\n"),
        ("an unknown executor", "load: {executor: ramping, rate: 3, duration: 2s}\n"),
        ("a rate out of range", "load: {executor: constant-rate, rate: 0.0001, duration: 2s}\n"),
        ("concurrency out of range", "load: {concurrency: 200000, requests: 4}\n"),
        ("a duration without a number", "load: {concurrency: 2, duration: soon}\n"),
        ("a name that cannot name a folder", "name: a/b\n"),
        ("an unknown threshold metric", "thresholds: [tfft.p95 < 1s]\n"),
        ("an unknown statistic", "thresholds: [ttft.p97 < 1s]\n"),
        ("a threshold without a comparison", "thresholds: [ttft.p95 800ms]\n"),
        ("an unknown probe", "probes: [no-such-probe]\n"),
        ("an unknown feature case", "features: [no-such-case]\n"),
        ("an unknown provider", "target: dimilnks\n"),
        ("mock jitter out of range", "target: {mock: {jitter: 11}}\n"),
        ("an unknown quirk", "target: {mock: {quirk: no.such-rule}}\n"),
        ("a key pasted as the variable name", "target: {base_url: \"http://127.0.0.1:9\", api_key_env: \"sk-ant-123 456\"}\n"),
        ("both target and targets", "targets: [mock]\n"),
        ("a session of too many turns", "requests: [{max_tokens: 16, prompt: hi, session: {turns: 500}}]\n"),
        ("a shared prefix reuse above 1", "requests: [{max_tokens: 16, prompt_tokens: 20, shared_prefix: {tokens: 100, reuse: 2}}]\n"),
        ("an unknown records format", "records: zip\n"),
        ("an abort window of no requests", "abort: {error_rate: 50%, min_requests: 0}\n"),
        ("a ratio past any price list", "target: {mock: {}, prices: {base: list, multiplier: 5000}}\n"),
    ];
    for (what, change) in broken {
        // The change replaces the control's line with the same key, or is added to it.
        let key = change.split(':').next().unwrap_or_default();
        let mut yaml: String = good.lines().filter(|l| !l.starts_with(&format!("{key}:"))).map(|l| format!("{l}\n")).collect();
        yaml.push_str(change);
        assert_eq!(check(&yaml), (false, false), "{what}: (loader accepts, schema accepts) for\n{yaml}");
    }
}
