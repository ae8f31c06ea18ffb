//! The Kubernetes deployment: `relaybench k8s render` writes manifests that validate
//! against the Kubernetes schemas (kubernetes-validate, offline), and the container command
//! they hold, run as the Indexed Job would run it (three processes at once, the index
//! variables set, the paths of the volumes), then the merge Job's, gives one merged report of
//! the whole run. The Dockerfile passes hadolint and labels the crate's version.

mod common;

use std::path::Path;
use std::process::Command;

use relaybench::mock::{MockConfig, MockServer};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_relaybench");
const KEY_VAR: &str = "RELAYBENCH_TEST_K8S_KEY";

/// A Python tool .ci/run installs; the test fails, saying so, when it is missing.
fn tool(name: &str) -> Command {
    let found = Command::new(name).arg("--help").output().is_ok_and(|o| o.status.success() || !o.stdout.is_empty());
    assert!(found, "{name} is not installed: .ci/run installs it from PyPI");
    Command::new(name)
}

fn render(scenario: &Path, extra: &[&str]) -> String {
    let o = Command::new(BIN).args(["k8s", "render", scenario.to_str().expect("utf8"), "--workers", "3"]).args(extra).output().expect("render");
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).expect("utf8")
}

/// The documents of a YAML stream, as JSON.
fn documents(stream: &str) -> Vec<Value> {
    stream.split("\n---\n").skip(1).map(|d| relaybench::yaml::to_json(d).expect("a YAML document")).collect()
}

/// The container's args with the pod's variables and volume paths put in.
fn args(job: &Value, index: u32, scenario_dir: &Path, reports: &Path) -> Vec<String> {
    let container = &job["spec"]["template"]["spec"]["containers"][0];
    container["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|a| {
            let a = a.as_str().expect("string").replace("$(JOB_COMPLETION_INDEX)", &index.to_string());
            // The volumes' mount paths, at the front of an argument, are folders here.
            match (a.strip_prefix("/scenario"), a.strip_prefix("/reports")) {
                (Some(rest), _) => format!("{}{rest}", scenario_dir.display()),
                (_, Some(rest)) => format!("{}{rest}", reports.display()),
                _ => a,
            }
        })
        .collect()
}

#[test]
fn rendered_manifests_validate_and_their_command_runs_as_the_job_runs_it() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mock = runtime.block_on(MockServer::start_local(MockConfig::new("k"))).expect("mock");
    let dir = common::temp_dir("k8s");
    let text = format!(
        "name: k8s\nseed: 2\ntarget: {{base_url: \"{}\", api_key_env: {KEY_VAR}}}\nmodel: claude-sonnet-4-5\nrequests:\n  - {{stream: true, max_tokens: 16, prompt: hi}}\nload: {{executor: constant-rate, rate: 50, requests: 30}}\nthresholds: [requests == 30]\n",
        mock.base_url()
    );
    let scenario_dir = dir.join("scenario");
    std::fs::create_dir_all(&scenario_dir).expect("dir");
    let scenario = common::write_file(&scenario_dir, "scenario.yaml", &text);
    let start = relaybench::conformance::limits::unix_now() + 3.0;
    let workers = render(&scenario, &["--start-at", &start.to_string()]);
    let merge = render(&scenario, &["--merge"]);
    for (name, stream) in [("workers.yaml", &workers), ("merge.yaml", &merge)] {
        let file = common::write_file(&dir, name, stream);
        let o = tool("kubernetes-validate").args(["--strict", "--quiet", file.to_str().expect("utf8")]).output().expect("kubernetes-validate");
        assert!(o.status.success(), "{name}: {}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    }
    let docs = documents(&workers);
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().expect("kind")).collect();
    assert_eq!(kinds, ["ConfigMap", "PersistentVolumeClaim", "Job"]);
    assert_eq!(docs[0]["data"]["scenario.yaml"], text.as_str(), "the scenario travels verbatim");
    let job = &docs[2];
    assert_eq!((job["spec"]["completionMode"].as_str(), job["spec"]["completions"].as_u64(), job["spec"]["parallelism"].as_u64()), (Some("Indexed"), Some(3), Some(3)));
    let env = job["spec"]["template"]["spec"]["containers"][0]["env"].as_array().expect("env").clone();
    let key = env.iter().find(|e| e["name"] == KEY_VAR).expect("the key from the Secret");
    assert_eq!(key["valueFrom"]["secretKeyRef"]["name"], "relaybench-keys");
    assert!(workers.contains(&format!("kubectl create secret generic relaybench-keys --from-literal={KEY_VAR}=...")));

    // The pods, as the Job runs them: three at once, each with its index.
    let reports = dir.join("reports");
    let pods: Vec<_> = (0..3u32)
        .map(|i| {
            Command::new(BIN)
                .args(args(job, i, &scenario_dir, &reports))
                .env("JOB_COMPLETION_INDEX", i.to_string())
                .env("RELAYBENCH_SEGMENTS", "3")
                .env(KEY_VAR, "k")
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("pod")
        })
        .collect();
    // What `kubectl logs -l ... --prefix` prints: each pod's lines behind its name.
    let mut logs = String::new();
    for (i, pod) in pods.into_iter().enumerate() {
        let o = pod.wait_with_output().expect("pod ends");
        assert!(o.status.success());
        logs.extend(String::from_utf8_lossy(&o.stdout).lines().map(|l| format!("[pod/relaybench-workers-{i}/relaybench] {l}\n")));
    }
    let merge_job = &documents(&merge)[0];
    let o = Command::new(BIN).args(args(merge_job, 0, &scenario_dir, &reports)).output().expect("merge pod");
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let merged = relaybench::report::read(&reports.join("merged").join("report.json")).expect("merged report");
    assert_eq!(merged.totals.requests, 30);
    assert_eq!(merged.merge.as_ref().expect("merge info").merged, [0, 1, 2]);
    assert!(merged.thresholds.iter().all(|t| t.passed));
    // The pods shared the start given to render: none began more than a moment late.
    let workers = &merged.merge.as_ref().expect("merge info").workers;
    assert!(workers.iter().all(|w| w.start_offset_s < 0.5), "{workers:?}");

    // Without the shared volume: the same reports, framed in the pods' logs.
    let log_file = common::write_file(&dir, "workers.log", &logs);
    let from_logs = dir.join("from-logs");
    let o = Command::new(BIN).args(["merge", "--from-logs", log_file.to_str().expect("utf8"), "--out", from_logs.to_str().expect("utf8")]).output().expect("merge");
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let again = relaybench::report::read(&from_logs.join("report.json")).expect("merged from logs");
    assert_eq!((again.totals.requests, &again.metrics["ttft"].histogram), (30, &merged.metrics["ttft"].histogram));
    // A log cut short is refused, not merged smaller.
    let cut = common::write_file(&dir, "cut.log", &logs[..logs.len() - 40]);
    let o = Command::new(BIN).args(["merge", "--from-logs", cut.to_str().expect("utf8"), "--out", dir.join("cut").to_str().expect("utf8")]).output().expect("merge");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("ends without relaybench-report-end"), "{}", String::from_utf8_lossy(&o.stderr));
    drop(mock);
}

#[test]
fn the_dockerfile_passes_hadolint_and_labels_the_version() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let o = tool("hadolint").arg(root.join("Dockerfile")).output().expect("hadolint");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let text = std::fs::read_to_string(root.join("Dockerfile")).expect("Dockerfile");
    assert!(text.contains(&format!("ARG VERSION={}", env!("CARGO_PKG_VERSION"))), "the image's version label is the crate's");
    assert!(text.contains("USER 65532:65532") && text.contains("FROM gcr.io/distroless/"), "non-root, distroless");
}

#[test]
fn a_render_with_nonsense_is_refused() {
    let dir = common::temp_dir("k8s-bad");
    let scenario = common::write_file(&dir, "s.yaml", "name: s\ntarget: mock\nmodel: m\nrequests: [{max_tokens: 8, prompt: hi}]\nload: {concurrency: 1, requests: 1}\n");
    for (args, says) in [(&["--workers", "0"][..], "from 1 to"), (&["--workers", "2", "--name", "Bad_Name"][..], "lower-case letters")] {
        let o = Command::new(BIN).args(["k8s", "render", scenario.to_str().expect("utf8")]).args(args).output().expect("render");
        assert_eq!(o.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&o.stderr).contains(says), "{}", String::from_utf8_lossy(&o.stderr));
    }
}
