//! The tokenizer check end to end: fixed texts counted on every target and held against a
//! reference target of the same run, or against a file `relaybench fingerprint save` wrote
//! from a report of one. A relay behind another tokenizer (the mock's quirk) is named with
//! its texts and ratios; a relay with the same one is not.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use relaybench::features::Status;
use relaybench::report::Report;

const BIN: &str = env!("CARGO_BIN_EXE_relaybench");
const MOCK: &str = "ttft: 5ms, tokens_per_s: 5000, jitter: 0, output_tokens: [8, 16]";

fn scenario(targets: &str, extra: &str) -> String {
    format!("name: tok\nseed: 3\n{targets}model: claude-sonnet-4-5\nrequests:\n  - {{stream: true, max_tokens: 32, prompt: hi}}\nload: {{concurrency: 2, requests: 4}}\nauthenticity: [claude-sonnet-4-5]\n{extra}")
}

fn three_targets() -> String {
    format!(
        "targets:\n  - {{name: official, reference: true, mock: {{{MOCK}}}}}\n  - {{name: honest, mock: {{{MOCK}}}}}\n  - {{name: substitute, mock: {{{MOCK}, quirk: identity.tokenizer}}}}\n"
    )
}

fn tokenizer_row(r: &Report) -> (Status, String) {
    let row = r.features.iter().find(|f| f.name == "tokenizer").expect("a tokenizer row");
    (row.status, row.detail.clone())
}

fn save(from: &Path, target: Option<&str>, out: &Path) -> std::process::Output {
    let mut cmd = Command::new(BIN);
    cmd.args(["fingerprint", "save", from.to_str().expect("utf8"), "--out", out.to_str().expect("utf8")]);
    if let Some(t) = target {
        cmd.args(["--target", t]);
    }
    cmd.output().expect("fingerprint save")
}

/// Runs the three targets side by side; returns the comparison's folder and the reports.
fn side_by_side() -> (PathBuf, Vec<Report>) {
    let dir = common::temp_dir("tokenizer-side");
    let file = common::write_file(&dir, "s.yaml", &scenario(&three_targets(), ""));
    let out = dir.join("out");
    let o = Command::new(BIN).args(["run", file.to_str().expect("utf8"), "--out", out.to_str().expect("utf8")]).output().expect("run");
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let folder = std::fs::read_dir(&out).expect("out").flatten().map(|e| e.path()).find(|p| p.is_dir()).expect("report folder");
    let reports = ["official", "honest", "substitute"].map(|t| relaybench::report::read(&folder.join(t).join("report.json")).expect("report"));
    (folder, reports.into())
}

#[test]
fn a_substitute_tokenizer_is_named_against_the_reference_target_and_an_honest_relay_is_not() {
    let (folder, reports) = side_by_side();
    let [official, honest, substitute] = [&reports[0], &reports[1], &reports[2]];
    let (status, detail) = tokenizer_row(official);
    assert_eq!(status, Status::Pass, "{detail}");
    assert!(detail.starts_with("the reference of this run"), "{detail}");
    let (status, detail) = tokenizer_row(honest);
    assert_eq!(status, Status::Pass, "{detail}");
    assert!(detail.contains("billed as target official on 6 texts") && detail.contains("output billed as target official per character (1.00x)"), "{detail}");
    assert!(!honest.conformance.rules.contains_key("identity.tokenizer"));
    let (status, detail) = tokenizer_row(substitute);
    assert_eq!(status, Status::Fail, "{detail}");
    let finding = &substitute.conformance.rules["identity.tokenizer"];
    assert_eq!(finding.count, 1, "the bill and count_tokens differ alike: one finding");
    let message = &finding.examples[0].message;
    assert!(message.contains("another tokenizer than target official's") && message.contains("english 18/18 (1.00x)") && message.contains("chinese"), "{message}");
    let section = substitute.authenticity.as_ref().and_then(|a| a.tokenizer.as_ref()).expect("tokenizer section");
    assert_eq!(section.reference.as_deref(), Some("target official"));
    assert_eq!(section.counts.texts.len(), relaybench::tokenizer::TEXTS.len());

    // Which target's counts to save must be said in a comparison.
    let reference = folder.join("official.json");
    let o = save(&folder, None, &reference);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("several targets counted tokens (official, honest, substitute); name one with --target"));
    let o = save(&folder, Some("official"), &reference);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let file = relaybench::tokenizer::read_reference(&reference).expect("a reference file");
    assert_eq!(file.models[0].texts, section_counts(official));
    assert!(file.source.starts_with("target official ("), "{}", file.source);

    // A later run of one target against the saved file.
    for (quirk, expected) in [(", quirk: identity.tokenizer", Status::Fail), ("", Status::Pass)] {
        let dir = common::temp_dir("tokenizer-file");
        std::fs::copy(&reference, dir.join("official.json")).expect("copy");
        let text = scenario(&format!("target: {{mock: {{{MOCK}{quirk}}}}}\n"), "reference_file: official.json\n");
        let file = common::write_file(&dir, "s.yaml", &text);
        let out = dir.join("out");
        let o = Command::new(BIN).args(["run", file.to_str().expect("utf8"), "--out", out.to_str().expect("utf8"), "-q"]).output().expect("run");
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        let r = common::only_report(&out);
        let (status, detail) = tokenizer_row(&r);
        assert_eq!(status, expected, "{quirk}: {detail}");
        assert!(detail.contains("the reference file (target official"), "{detail}");
        assert_eq!(r.conformance.rules.contains_key("identity.tokenizer"), expected == Status::Fail);
    }
}

fn section_counts(r: &Report) -> Vec<relaybench::tokenizer::TextCount> {
    r.authenticity.as_ref().and_then(|a| a.tokenizer.as_ref()).map(|t| t.counts.texts.clone()).expect("counts")
}

#[test]
fn without_a_reference_the_counts_are_kept_and_said_to_be_uncompared() {
    let r = common::run_ok("tokenizer-alone", &scenario(&format!("target: {{mock: {{{MOCK}}}}}\n"), ""));
    let (status, detail) = tokenizer_row(&r);
    assert_eq!(status, Status::Pass);
    assert!(detail.starts_with("no reference to compare with"), "{detail}");
    assert!(section_counts(&r).iter().all(|t| t.billed.is_some() && t.counted == t.billed));
}

#[test]
fn a_reference_file_that_is_not_one_is_refused_naming_it() {
    let dir = common::temp_dir("tokenizer-bad-file");
    common::write_file(&dir, "ref.json", "{\"format\": \"something-else\", \"source\": \"\", \"models\": []}");
    let file = common::write_file(&dir, "s.yaml", &scenario("target: mock\n", "reference_file: ref.json\n"));
    let o = Command::new(BIN).args(["run", file.to_str().expect("utf8")]).output().expect("run");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("ref.json") && err.contains("expected \"relaybench-token-reference/1\""), "{err}");
    let two = "targets:\n  - {name: a, reference: true, mock: {}}\n  - {name: b, reference: true, mock: {}}\n";
    let file = common::write_file(&dir, "two.yaml", &scenario(two, ""));
    let o = Command::new(BIN).args(["run", file.to_str().expect("utf8")]).output().expect("run");
    assert!(String::from_utf8_lossy(&o.stderr).contains("a, b are each the reference"), "{}", String::from_utf8_lossy(&o.stderr));
}
