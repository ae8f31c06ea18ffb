//! Live metrics scraped mid-run and parsed by the Prometheus project's own OpenMetrics
//! parser (`prometheus_client`, installed by `.ci/run`): every scrape parses, counters
//! only grow, and the scrape after the run (`--metrics-linger`) agrees with the report.

mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

type Sample = (String, BTreeMap<String, String>, f64, String);

/// Parses each scrape with the Python client's parser.
fn parse(bodies: &[String], dir: &std::path::Path) -> Vec<Vec<Sample>> {
    let files: Vec<std::path::PathBuf> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| common::write_file(dir, &format!("scrape-{i}.txt"), body))
        .collect();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scripts/openmetrics_parse.py");
    let out = Command::new("python3").arg(script).args(&files).output().expect("python3 runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("No module named 'prometheus_client'"),
        "this test parses with the Prometheus project's Python client: `pip install prometheus-client` (bash .ci/run does)"
    );
    assert!(out.status.success(), "{stderr}");
    serde_json::from_slice(&out.stdout).expect("parser output")
}

/// The HTTP body of one `GET /metrics`, if the server answered.
fn scrape(port: u16) -> Option<String> {
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    conn.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    std::io::Write::write_all(&mut conn, b"GET /metrics HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n").ok()?;
    let mut response = String::new();
    std::io::Read::read_to_string(&mut conn, &mut response).ok()?;
    assert!(response.starts_with("HTTP/1.1 200") && response.contains("application/openmetrics-text"), "{response}");
    let (_, body) = response.split_once("\r\n\r\n")?;
    Some(body.to_owned())
}

fn sum(samples: &[Sample], name: &str, label: Option<(&str, &str)>) -> f64 {
    samples.iter().filter(|s| s.0 == name && label.is_none_or(|(k, v)| s.1.get(k).map(String::as_str) == Some(v))).map(|s| s.2).sum()
}

#[test]
fn scrapes_parse_as_openmetrics_counters_only_grow_and_the_last_agrees_with_the_report() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let dir = common::temp_dir("live-metrics");
    // A relay that reports zero input tokens on streams, so a rule fires on every stream.
    let file = common::write_file(
        &dir,
        "s.yaml",
        "name: live\ntarget: {mock: {ttft: 20ms, tokens_per_s: 2000, quirk: stream.input-tokens-zero}}\nmodel: claude-sonnet-4-5\n\
         requests:\n  - {name: s, stream: true, max_tokens: 24, prompt: hi}\n  - {name: m, max_tokens: 24, prompt: hi}\n\
         load: {concurrency: 2, duration: 3s}\n",
    );
    let out = dir.join("out");
    let mut child = Command::new(env!("CARGO_BIN_EXE_relaybench"))
        .args(["run", file.to_str().expect("utf8"), "--out", out.to_str().expect("utf8"), "-q"])
        .args(["--metrics-listen", &format!("127.0.0.1:{port}"), "--metrics-linger", "2s"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let mut bodies = Vec::new();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if let Some(body) = scrape(port) {
            bodies.push(body);
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(status.code(), Some(1), "the quirk's rule is an error");
    let r = common::only_report(&out);
    let scrapes = parse(&bodies, &dir);
    let totals: Vec<f64> = scrapes.iter().map(|s| sum(s, "relaybench_requests_total", None)).collect();
    let distinct: std::collections::BTreeSet<u64> = totals.iter().map(|t| *t as u64).collect();
    assert!(distinct.len() >= 4, "scrapes saw the run grow: {totals:?}");
    // Counters (and histogram counts, sums and buckets) never fall from one scrape to the next.
    let counter = |s: &Sample| s.3 == "counter" || (s.3 == "histogram" && !s.0.ends_with("_created"));
    for pair in scrapes.windows(2) {
        for s in pair[1].iter().filter(|s| counter(s)) {
            let before = pair[0].iter().find(|b| b.0 == s.0 && b.1 == s.1).map_or(0.0, |b| b.2);
            assert!(s.2 >= before, "{} {:?} fell from {before} to {}", s.0, s.1, s.2);
        }
    }
    // The last scrape came after the report was written: the same counts.
    let last = scrapes.last().expect("a scrape");
    assert_eq!(sum(last, "relaybench_requests_total", None) as u64, r.totals.requests);
    for (outcome, n) in &r.totals.by_outcome {
        assert_eq!(sum(last, "relaybench_requests_total", Some(("outcome", outcome))) as u64, *n, "outcome {outcome}");
    }
    assert_eq!(sum(last, "relaybench_output_tokens_total", None) as u64, r.throughput.output_tokens);
    assert_eq!(sum(last, "relaybench_ttft_seconds_count", None) as u64, r.metrics["ttft"].count);
    assert_eq!(sum(last, "relaybench_e2e_seconds_count", None) as u64, r.metrics["e2e"].count);
    let rule = "stream.input-tokens-zero";
    assert!(r.conformance.rules[rule].count > 0);
    assert_eq!(sum(last, "relaybench_findings_total", Some(("rule", rule))) as u64, r.conformance.rules[rule].count);
}
