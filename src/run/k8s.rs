//! `relaybench k8s render`: the Kubernetes manifests that run a scenario split across N
//! pods, so nobody hand-edits YAML. A ConfigMap holds the scenario; an Indexed Job
//! (`completionMode: Indexed`, parallelism = completions = N) runs one segment per pod
//! (`JOB_COMPLETION_INDEX` from the downward API, `RELAYBENCH_SEGMENTS` = N), each writing
//! its report to a shared volume and, framed, to its log; a second Job (`--merge`),
//! applied once the first has completed, merges them (or `merge --from-logs` does, from
//! `kubectl logs`). Keys come from a Secret, one entry per `api_key_env` the scenario names.

use serde_json::{json, Value};

use crate::load::segment::{COUNT_VAR, INDEX_VAR, MAX_SEGMENTS};
use crate::scenario::{Scenario, TargetKind};

/// What to render.
pub struct Render<'a> {
    /// The scenario's text, as the ConfigMap carries it.
    pub text: &'a str,
    /// The scenario, loaded.
    pub scenario: &'a Scenario,
    /// Pods.
    pub workers: u32,
    /// The container image.
    pub image: &'a str,
    /// Prefix of every object's name (a DNS label).
    pub name: &'a str,
    /// The merge Job alone, applied once the workers' Job has completed.
    pub merge: bool,
    /// The common start of the pods' load (Unix seconds), when given.
    pub start_at: Option<f64>,
}

/// Where the pods find the scenario and write their reports.
const SCENARIO_DIR: &str = "/scenario";
const REPORTS_DIR: &str = "/reports";
/// Requests per pod: one core drives the client (docs/performance.md measures a core's
/// worth of streams), the rest is headroom for its histograms and records.
const CPU_REQUEST: &str = "1";
const MEMORY_REQUEST: &str = "512Mi";
const MEMORY_LIMIT: &str = "2Gi";

fn is_dns_label(s: &str) -> bool {
    !s.is_empty() && s.len() <= 40 && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') && !s.starts_with('-') && !s.ends_with('-')
}

/// The manifests as one YAML stream.
pub fn render(r: &Render) -> Result<String, String> {
    if r.workers == 0 || r.workers > MAX_SEGMENTS {
        return Err(format!("--workers {}: from 1 to {MAX_SEGMENTS}", r.workers));
    }
    if !is_dns_label(r.name) {
        return Err(format!("--name {:?}: lower-case letters, digits and '-', at most 40", r.name));
    }
    let labels = json!({"app.kubernetes.io/name": "relaybench", "app.kubernetes.io/instance": r.name});
    let targets = r.scenario.targets();
    let mut keys: Vec<&str> = targets
        .iter()
        .filter_map(|t| match &t.kind {
            TargetKind::Http(h) if !h.api_key_env.is_empty() => Some(h.api_key_env.as_str()),
            _ => None,
        })
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let secret = format!("{}-keys", r.name);
    let mut env = vec![json!({"name": COUNT_VAR, "value": r.workers.to_string()})];
    env.push(json!({"name": INDEX_VAR, "valueFrom": {"fieldRef": {"fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}}));
    env.extend(keys.iter().map(|k| json!({"name": k, "valueFrom": {"secretKeyRef": {"name": secret, "key": k}}})));
    let scenario_file = format!("{SCENARIO_DIR}/scenario.yaml");
    // Each report goes to the volume, and framed to the log too: a cluster without a
    // ReadWriteMany volume merges from `kubectl logs` instead.
    let mut worker_args = vec![json!("run"), json!(scenario_file), json!("--out"), json!(format!("{REPORTS_DIR}/segment-$({INDEX_VAR})")), json!("--quiet"), json!("--emit-report")];
    if let Some(at) = r.start_at {
        // One argument: a bare RFC 3339 time is a timestamp to a YAML 1.1 reader (PyYAML,
        // and so kubernetes-validate), not the string the container needs.
        worker_args.push(json!(format!("--start-at={}", crate::conformance::limits::format_rfc3339(at))));
    }
    let worker_args = Value::Array(worker_args);
    let merge_args = json!(["merge", REPORTS_DIR, "--out", format!("{REPORTS_DIR}/merged")]);
    let pod = |args: Value, env: Vec<Value>| {
        json!({
            "metadata": {"labels": labels},
            "spec": {
                "restartPolicy": "Never",
                "securityContext": {"runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532, "fsGroup": 65532},
                "containers": [{
                    "name": "relaybench",
                    "image": r.image,
                    "args": args,
                    "env": env,
                    "resources": {"requests": {"cpu": CPU_REQUEST, "memory": MEMORY_REQUEST}, "limits": {"memory": MEMORY_LIMIT}},
                    "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}},
                    "volumeMounts": [{"name": "scenario", "mountPath": SCENARIO_DIR, "readOnly": true}, {"name": "reports", "mountPath": REPORTS_DIR}],
                }],
                "volumes": [
                    {"name": "scenario", "configMap": {"name": format!("{}-scenario", r.name)}},
                    {"name": "reports", "persistentVolumeClaim": {"claimName": format!("{}-reports", r.name)}},
                ],
            },
        })
    };
    let merge_job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": format!("{}-merge", r.name), "labels": labels},
                           "spec": {"backoffLimit": 0, "template": pod(merge_args, Vec::new())}});
    let (documents, mut out) = if r.merge {
        (vec![merge_job], format!("# relaybench {}: the merge of {}'s {} segments, once job/{}-workers has completed.\n", env!("CARGO_PKG_VERSION"), r.scenario.name, r.workers, r.name))
    } else {
        let documents = vec![
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("{}-scenario", r.name), "labels": labels}, "data": {"scenario.yaml": r.text}}),
            json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": format!("{}-reports", r.name), "labels": labels},
                   "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1Gi"}}}}),
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": format!("{}-workers", r.name), "labels": labels},
                   "spec": {"completionMode": "Indexed", "completions": r.workers, "parallelism": r.workers, "backoffLimit": 0, "template": pod(worker_args, env)}}),
        ];
        let first = match keys.is_empty() {
            true => "# No key is needed: no target reads one.\n".to_owned(),
            false => format!("# First:\n#   kubectl create secret generic {secret}{}\n", keys.iter().map(|k| format!(" --from-literal={k}=...")).collect::<String>()),
        };
        let header = format!("# relaybench {}: scenario {} split across {} pods.\n{first}", env!("CARGO_PKG_VERSION"), r.scenario.name, r.workers);
        (documents, header)
    };
    for d in &documents {
        out.push_str(&crate::yaml::to_document(d)?);
    }
    Ok(out)
}
