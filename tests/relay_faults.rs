//! `scenarios/relay-faults.yaml`: one relay fault of PROTOCOL.md §8 per target, each
//! committed by the mock's quirk. Every target must show exactly its own rule, the
//! reference none, and the run must fail the conformance gate; with `--capture failed`
//! each finding links to the bytes that `relaybench check` turns back into it.

mod common;

use std::collections::BTreeSet;

use relaybench::scenario::TargetKind;

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
            // names its capture. A request-aware finding needs its request and a pacing
            // finding its timing: the rest come back from the bytes alone.
            let from_load: Vec<_> = rule.examples.iter().filter(|e| !e.template.starts_with("feature:") && !e.template.starts_with("probe")).collect();
            assert!(from_load.iter().all(|e| e.capture.is_some()), "{}: {id} {:?}", target.name, rule.examples);
            if id.starts_with("request.") || id == "stream.buffered" {
                continue;
            }
            for capture in from_load.iter().filter_map(|e| e.capture.as_ref()) {
                let path = dir.join(&target.name).join(capture);
                let o = std::process::Command::new(env!("CARGO_BIN_EXE_relaybench")).arg("check").arg(&path).output().expect("check");
                let printed = String::from_utf8_lossy(&o.stdout);
                assert!(printed.contains(&format!(" {id}")), "{}: check {} gives {printed}", target.name, path.display());
            }
        }
    }
    // The comparison summary says it by kind of fault, a line per target.
    let summary = std::fs::read_to_string(dir.join(relaybench::report::SUMMARY_MD)).expect("summary.md");
    for line in ["- reference: no fault found", "- input-tokens-zero: usage (stream.input-tokens-zero ×", "- overload-as-502: errors (envelope.overloaded-flattened ×", "- signature-dropped: thinking ("] {
        assert!(summary.contains(line), "{line}\n{summary}");
    }
}
