//! `scenarios/relay-faults.yaml`: one relay fault of PROTOCOL.md §8 per target, each
//! committed by the mock's quirk. Every target must show exactly its own rule, the
//! reference none, and the run must fail the conformance gate; with `--capture failed`
//! each finding links to the bytes that `relaybench check` turns back into it.

mod common;

use std::collections::BTreeSet;

use relaybench::scenario::TargetKind;

/// The faults of the scenario whose finding cannot come back from captures alone, and why.
const NO_ROUND_TRIP: [(&str, &str); 6] = [
    ("request.stop-sequence-ignored", "judged against the request's stop_sequences; a capture holds the response alone"),
    ("request.empty-end-turn", "judged against what the request asked for; a capture holds the response alone"),
    ("stream.buffered", "a pacing finding: it needs when each event arrived, which a capture does not keep"),
    ("envelope.shape", "the mock breaks it on error responses, and this scenario's only errors are probes, which are not captured"),
    ("identity.response-cache", "needs a repeated request compared with the first (the feature case), not one response"),
    ("limits.static-headers", "judged across the rate-limit headers of many responses, not the bytes of one"),
];

/// What `relaybench check` prints for `files`.
fn check(files: &[std::path::PathBuf]) -> String {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_relaybench")).arg("check").args(files).output().expect("check");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Whether `check`'s output names rule `id` (`error RULE: …` or `error RULE (event N): …`).
fn names(printed: &str, id: &str) -> bool {
    printed.contains(&format!(" {id}:")) || printed.contains(&format!(" {id} ("))
}

/// The bodies under a target's `captures/` (the `.http` sidecars hold the heads).
fn capture_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<_> = entries.map(|e| e.expect("entry").path()).filter(|p| p.extension().is_some_and(|x| x == "sse" || x == "json")).collect();
    files.sort();
    files
}

#[test]
fn each_relay_fault_target_shows_exactly_its_own_finding() {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/relay-faults.yaml");
    let scenario = relaybench::scenario::load(&file).expect("the scenario loads");
    let out = common::temp_dir("relay-faults").join("out");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_relaybench"))
        .args(["run", file.to_str().expect("utf8"), "--out", out.to_str().expect("utf8"), "-q", "--capture", "failed"])
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(1), "the faults fail the gate: {}", String::from_utf8_lossy(&o.stderr));
    let dir = common::only_report_dir(&out);
    let targets = scenario.targets();
    assert!(targets.len() >= 12, "{} targets", targets.len());
    let mut round_trips = 0;
    for target in targets {
        let TargetKind::Mock(mock) = &target.kind else { panic!("{} is not a mock", target.name) };
        let report = relaybench::report::read(&dir.join(&target.name).join(relaybench::report::REPORT_JSON)).expect("report");
        let found: BTreeSet<&str> = report.conformance.rules.keys().map(String::as_str).collect();
        let expected: BTreeSet<&str> = mock.quirk.map(|q| q.id()).into_iter().collect();
        assert_eq!(found, expected, "target {}", target.name);
        assert_eq!(report.totals.requests, 24, "target {}", target.name);
        let captures = dir.join(&target.name).join("captures");
        if mock.quirk.is_none() {
            assert!(!captures.exists(), "the reference broke no rule, so nothing was captured");
        }
        for (id, rule) in &report.conformance.rules {
            // Probe and feature responses are not captured; every example from the load
            // names its capture, and that capture gives its finding back.
            let from_load: Vec<_> = rule.examples.iter().filter(|e| !e.template.starts_with("feature:") && !e.template.starts_with("probe")).collect();
            assert!(from_load.iter().all(|e| e.capture.is_some()), "{}: {id} {:?}", target.name, rule.examples);
            if NO_ROUND_TRIP.iter().any(|(r, _)| r == id) {
                continue;
            }
            for capture in from_load.iter().filter_map(|e| e.capture.as_ref()) {
                let printed = check(&[dir.join(&target.name).join(capture)]);
                assert!(names(&printed, id), "{}: check {capture} gives {printed}", target.name);
            }
        }
        // Every capture of the target checked offline: its fault comes back from the bytes
        // alone, unless it is one that cannot, and then it must not.
        let Some(quirk) = mock.quirk.map(|q| q.id()) else { continue };
        let files = capture_files(&captures);
        let printed = if files.is_empty() { String::new() } else { check(&files) };
        match NO_ROUND_TRIP.iter().find(|(r, _)| *r == quirk) {
            None => {
                assert!(names(&printed, quirk), "{}: no capture gives back {quirk} ({} files): {printed}", target.name, files.len());
                round_trips += 1;
            }
            Some((_, why)) => assert!(!names(&printed, quirk), "{}: check now finds {quirk}; take it off NO_ROUND_TRIP ({why})", target.name),
        }
    }
    let listed = NO_ROUND_TRIP.len();
    assert!(round_trips >= 8, "only {round_trips} faults came back from their captures ({listed} cannot)");
    // The comparison summary says it by kind of fault, a line per target.
    let summary = std::fs::read_to_string(dir.join(relaybench::report::SUMMARY_MD)).expect("summary.md");
    for line in ["- reference: no fault found", "- input-tokens-zero: usage (stream.input-tokens-zero ×", "- overload-as-502: errors (envelope.overloaded-flattened ×", "- signature-dropped: thinking ("] {
        assert!(summary.contains(line), "{line}\n{summary}");
    }
}
