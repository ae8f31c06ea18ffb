//! The files relaybench hands to other tools: shell completions and the man page
//! generated from the command line, the CI gate files under `docs/ci/` (each checked by
//! its own linter, which `.ci/run` installs), and the Grafana dashboard under
//! `docs/grafana/`, whose every query must name a metric the exporter serves.
//!
//! Each linter is also shown a broken copy and must refuse it, so a linter that checks
//! nothing cannot pass these tests.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use relaybench::cli::{completions, man_page};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn subcommands() -> Vec<String> {
    use clap::CommandFactory;
    relaybench::cli::Cli::command().get_subcommands().map(|c| c.get_name().to_owned()).collect()
}

/// Runs `tool args… file` on `text` written to a file named `name`; whether it passed and
/// what it said. A missing tool fails the test with what installs it.
fn lint(tool: &str, args: &[&str], name: &str, text: &str) -> (bool, String) {
    let dir = std::env::temp_dir().join(format!("relaybench-lint-{}-{tool}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join(name);
    std::fs::write(&file, text).expect("write");
    let out = Command::new(tool)
        .args(args)
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {tool} ({e}); .ci/run installs it (zsh and fish from apt, actionlint and check-jsonschema from pip)"));
    let _ = std::fs::remove_dir_all(&dir);
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// The position just after the first quote at or past `from` that opens a string, read
/// as the shells read quotes: a backslash escapes the next byte outside single quotes and
/// inside double ones (fish also escapes a single quote inside single quotes), a quote
/// inside the other kind of string is plain text, and a comment runs to the line's end.
fn after_opening_quote(script: &str, from: usize) -> Option<usize> {
    let bytes = script.as_bytes();
    let mut open: Option<u8> = None;
    let mut escaped = false;
    let mut comment = false;
    for (i, &b) in bytes.iter().enumerate() {
        match (open, b) {
            _ if comment => comment = b != b'\n',
            _ if escaped => escaped = false,
            (None, b'#') if i == 0 || bytes[i - 1].is_ascii_whitespace() => comment = true,
            (Some(b'\''), b'\\') if bytes.get(i + 1) == Some(&b'\'') => escaped = true,
            (Some(b'"') | None, b'\\') => escaped = true,
            (None, b'\'' | b'"') if i >= from => return Some(i + 1),
            (None, b'\'' | b'"') => open = Some(b),
            (Some(q), _) if q == b => open = None,
            _ => {}
        }
    }
    None
}

#[test]
fn completions_parse_in_their_shells_and_name_every_subcommand() {
    let names = subcommands();
    assert!(names.len() >= 14, "{names:?}");
    for (shell, tool, args) in [
        (clap_complete::Shell::Bash, "bash", &["-n"][..]),
        (clap_complete::Shell::Zsh, "zsh", &["-n"][..]),
        (clap_complete::Shell::Fish, "fish", &["--no-execute"][..]),
    ] {
        let script = String::from_utf8(completions(shell)).expect("utf-8");
        for name in &names {
            assert!(script.contains(name.as_str()), "{shell} completions lack `{name}`");
        }
        let (ok, said) = lint(tool, args, "completions", &script);
        assert!(ok, "{tool} refuses the {shell} completions:\n{said}");
        // The shell's syntax check refuses a script cut in half, inside a quoted string (a
        // cut between two whole lines of fish's `complete` calls would still be a script).
        let half = script.len() / 2;
        let cut = after_opening_quote(&script, half).expect("an opening quote after the middle");
        let (ok, _) = lint(tool, args, "cut", &script[..cut]);
        assert!(!ok, "{tool} {args:?} accepted a script cut in half: it checks nothing");
    }
    // No PowerShell here to parse it: its generator's registration and every name.
    let ps = String::from_utf8(completions(clap_complete::Shell::PowerShell)).expect("utf-8");
    assert!(ps.contains("Register-ArgumentCompleter -Native -CommandName 'relaybench'"), "{ps}");
    assert!(names.iter().all(|n| ps.contains(&format!("'{n}'"))));
}

#[test]
fn the_man_page_is_roff_with_every_subcommand() {
    let page = String::from_utf8(man_page().expect("renders")).expect("utf-8");
    assert!(page.contains("\n.TH relaybench 1"), "no title header: {}", &page[..page.len().min(300)]);
    for name in subcommands() {
        // roff writes a hyphen as `\-`.
        let name = name.replace('-', "\\-");
        assert!(page.contains(&format!("relaybench\\-{name}(1)")), "the man page lacks `{name}`");
    }
    // The binary prints the same page.
    let out = Command::new(env!("CARGO_BIN_EXE_relaybench")).arg("man").output().expect("run");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), page);
}

#[test]
fn the_github_actions_gate_passes_actionlint_and_the_workflow_schema() {
    let text = std::fs::read_to_string(root().join("docs/ci/github-actions.yml")).expect("workflow");
    let (ok, said) = lint("actionlint", &["-no-color"], "gate.yml", &text);
    assert!(ok, "actionlint:\n{said}");
    let (ok, said) = lint("check-jsonschema", &["--builtin-schema", "vendor.github-workflows"], "gate.yml", &text);
    assert!(ok, "check-jsonschema:\n{said}");
    // What the file promises: the gate's exit code, the summary, the report and JUnit.
    for needle in ["relaybench run \"$SCENARIO\"", "GITHUB_STEP_SUMMARY", "actions/upload-artifact", "junit.xml"] {
        assert!(text.contains(needle), "the workflow lacks {needle}");
    }
    // actionlint refuses a mistake a user makes: a misspelt key and a bad expression.
    let broken = text.replace("runs-on:", "run-on:").replace("${{ secrets.RELAY_API_KEY }}", "${{ secret.RELAY_API_KEY }");
    let (ok, _) = lint("actionlint", &["-no-color"], "broken.yml", &broken);
    assert!(!ok, "actionlint accepted a broken workflow");
}

#[test]
fn the_gitlab_gate_passes_the_gitlab_ci_schema() {
    let text = std::fs::read_to_string(root().join("docs/ci/gitlab-ci.yml")).expect("gitlab job");
    let (ok, said) = lint("check-jsonschema", &["--builtin-schema", "vendor.gitlab-ci"], "gitlab-ci.yml", &text);
    assert!(ok, "check-jsonschema:\n{said}");
    for needle in ["relaybench run \"$SCENARIO\"", "junit: reports/ci/*/junit.xml", "when: always"] {
        assert!(text.contains(needle), "the job lacks {needle}");
    }
    let broken = text.replace("when: always", "when: sometimes");
    let (ok, _) = lint("check-jsonschema", &["--builtin-schema", "vendor.gitlab-ci"], "broken.yml", &broken);
    assert!(!ok, "the GitLab schema accepted `when: sometimes`");
}

/// The sample names the exporter serves, once a request with a first token, a finding and
/// rate-limit headers has ended (a labelled family with no child is not written): each family's `# TYPE`
/// line, with the samples an OpenMetrics family of that type has.
fn exported_samples() -> Vec<String> {
    let exporter = relaybench::load::exporter::Exporter::new(Arc::new(relaybench::load::progress::Live::default()));
    let mut ended = relaybench::outcome::Outcome::new(0, true);
    ended.ttft = Some(std::time::Duration::from_millis(5));
    ended.unkept_findings.push((relaybench::conformance::RULES[0].rule, 1));
    let mut headers = http::HeaderMap::new();
    headers.insert("anthropic-ratelimit-requests-remaining", http::HeaderValue::from_static("7"));
    ended.limits = relaybench::conformance::limits::RateLimits::from_headers(&headers, 0.0).map(Box::new);
    exporter.record("mock", &ended);
    let text = exporter.render();
    let mut samples = Vec::new();
    for line in text.lines().filter_map(|l| l.strip_prefix("# TYPE ")) {
        let mut parts = line.split_whitespace();
        let (Some(name), Some(kind)) = (parts.next(), parts.next()) else { continue };
        match kind {
            "counter" => samples.push(format!("{name}_total")),
            "histogram" => samples.extend(["_bucket", "_count", "_sum"].map(|s| format!("{name}{s}"))),
            _ => samples.push(name.to_owned()),
        }
    }
    samples
}

/// Every `relaybench_…` name in a PromQL expression.
fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = expr;
    while let Some(at) = rest.find("relaybench_") {
        let tail = &rest[at..];
        let end = tail.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(tail.len());
        names.push(tail[..end].to_owned());
        rest = &tail[end..];
    }
    names
}

#[test]
fn every_dashboard_query_names_an_exported_metric() {
    let exported = exported_samples();
    assert!(exported.contains(&"relaybench_ttft_seconds_bucket".to_owned()) && exported.contains(&"relaybench_in_flight".to_owned()), "{exported:?}");
    let text = std::fs::read_to_string(root().join("docs/grafana/relaybench.json")).expect("dashboard");
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("dashboard JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    let mut ids: Vec<u64> = panels.iter().map(|p| p["id"].as_u64().expect("panel id")).collect();
    ids.dedup();
    assert_eq!(ids.len(), panels.len(), "panel ids repeat");
    let mut used = Vec::new();
    for panel in panels {
        let targets = panel["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "panel {} has no query", panel["title"]);
        for t in targets {
            let expr = t["expr"].as_str().expect("expr");
            let names = metric_names(expr);
            assert!(!names.is_empty(), "panel {}: `{expr}` names no relaybench metric", panel["title"]);
            for n in names {
                assert!(exported.contains(&n), "panel {}: `{n}` is not a metric relaybench exports ({exported:?})", panel["title"]);
                used.push(n);
            }
        }
    }
    // The dashboard shows what the users watch: TTFT and e2e, outcomes, in flight,
    // tokens, findings.
    for needed in ["relaybench_ttft_seconds_bucket", "relaybench_e2e_seconds_bucket", "relaybench_requests_total", "relaybench_in_flight", "relaybench_output_tokens_total", "relaybench_findings_total", "relaybench_ratelimit_remaining"] {
        assert!(used.iter().any(|u| u == needed), "no panel shows {needed}");
    }
    assert_eq!(metric_names("rate(relaybench_typo_total[1m])"), vec!["relaybench_typo_total"]);
    assert!(!exported.contains(&"relaybench_typo_total".to_owned()));
}
