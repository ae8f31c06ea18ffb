//! The provider catalog as a user meets it: requests built for each provider exactly as
//! its document shows, a clear stop when a key variable is missing or the host is
//! unreachable, and the listing commands.

mod common;

use std::process::{Command, Output};

use relaybench::provider::CATALOG;

const BIN: &str = env!("CARGO_BIN_EXE_relaybench");

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    for p in &CATALOG {
        cmd.env_remove(p.key_env);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run relaybench")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn scenario(target: &str) -> String {
    format!("name: p\ntarget: {target}\nmodel: claude-sonnet-4-6\nrequests:\n  - {{max_tokens: 16, prompt: hi}}\nload: {{concurrency: 1, requests: 1}}\n")
}

/// A minimal valid Message, so the run ends cleanly.
fn message_response() -> Vec<u8> {
    let body = r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-6","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":1}}"#;
    format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nrequest-id: req_1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len()).into_bytes()
}

/// (header name, exact value) each document shows, with the key in its place.
fn documented_headers(id: &str, key: &str) -> Vec<(&'static str, String)> {
    let bearer = ("authorization", format!("Bearer {key}"));
    let api_key = ("x-api-key", key.to_owned());
    let auth = match id {
        // 000: `Authorization: Bearer <DIMILINKS_API_KEY>`; 001: `Authorization: Bearer
        // YOUR_API_TOKEN`; 002: an `Authorization` header (scheme not shown).
        "dimilinks" | "onedim" | "onedim-ezmodel" | "relay-002" => bearer,
        // 003's example sends `x-api-key`; the official API takes `x-api-key`.
        "mandao" | "anthropic" => api_key,
        other => panic!("no documented headers for {other}"),
    };
    // Every document's example sends `anthropic-version: 2023-06-01`.
    vec![auth, ("anthropic-version", "2023-06-01".to_owned()), ("content-type", "application/json".to_owned())]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_provider_gets_the_headers_and_body_its_document_shows() {
    for p in &CATALOG {
        let (base, seen) = common::recording_server(message_response()).await;
        let dir = common::temp_dir(&format!("provider-{}", p.id));
        let file = common::write_file(&dir, "s.yaml", &scenario(&format!("{{provider: {}, base_url: \"{base}\"}}", p.id)));
        let key = format!("key-of-{}", p.id);
        let out = dir.join("out");
        let args = ["run".to_owned(), file.display().to_string(), "--out".to_owned(), out.display().to_string(), "-q".to_owned()];
        let env = (p.key_env, key.clone());
        let o = tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run(&args, &[(env.0, env.1.as_str())])
        })
        .await
        .expect("run");
        assert_eq!(o.status.code(), Some(0), "{}: {}", p.id, text(&o));
        assert!(!text(&o).contains(&key), "{}: the key is never printed", p.id);

        let requests = seen.lock().expect("lock").clone();
        assert_eq!(requests.len(), 1, "{}", p.id);
        let raw = String::from_utf8_lossy(&requests[0]).into_owned();
        let (head, body) = raw.split_once("\r\n\r\n").expect("head and body");
        let mut lines = head.lines();
        assert_eq!(lines.next(), Some("POST /v1/messages HTTP/1.1"), "{}", p.id);
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        for (name, value) in documented_headers(p.id, &key) {
            let got: Vec<&String> = headers.iter().filter(|(k, _)| k == name).map(|(_, v)| v).collect();
            assert_eq!(got, [&value], "{}: header {name}", p.id);
        }
        let other_auth = if documented_headers(p.id, &key)[0].0 == "x-api-key" { "authorization" } else { "x-api-key" };
        assert!(headers.iter().all(|(k, _)| k != other_auth), "{}: only one auth header: {head}", p.id);
        assert!(headers.iter().all(|(k, _)| k != "anthropic-beta"), "{}: no beta header unless asked", p.id);
        let sent: serde_json::Value = serde_json::from_str(body).expect("JSON body");
        assert_eq!(sent, serde_json::json!({"model": "claude-sonnet-4-6", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}), "{}", p.id);
        let r = common::only_report(&out);
        assert_eq!((r.target.name.as_str(), r.target.provider.as_deref()), (p.id, Some(p.id)));
    }
}

#[test]
fn a_missing_key_variable_names_the_provider_and_the_variable() {
    let dir = common::temp_dir("provider-no-key");
    let file = common::write_file(&dir, "s.yaml", &scenario("dimilinks"));
    let o = run(&["run", file.to_str().expect("utf8"), "--out", dir.join("out").to_str().expect("utf8")], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("target dimilinks (https://api-direct.dimilinks.com)") && err.contains("DIMILINKS_API_KEY is not set"), "{err}");
    assert!(!dir.join("out").exists(), "nothing was sent, no report written");
}

#[test]
fn an_unreachable_provider_fails_fast_naming_it() {
    let dir = common::temp_dir("provider-unreachable");
    let target = format!("{{provider: mandao, base_url: \"http://127.0.0.1:{}\"}}", common::closed_port());
    let file = common::write_file(&dir, "s.yaml", &scenario(&target).replace("requests: 1}", "requests: 40}"));
    let o = run(&["run", file.to_str().expect("utf8"), "--out", dir.join("out").to_str().expect("utf8"), "-q"], &[("MANDAO_API_KEY", "sk-secret-mandao")]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("mandao: target unreachable"), "{}", text(&o));
    assert!(!text(&o).contains("sk-secret-mandao"));
    assert!(common::only_report(&dir.join("out")).totals.requests < 40, "it stopped early");
}

#[test]
fn a_provider_without_a_documented_host_asks_for_base_url() {
    let dir = common::temp_dir("provider-no-host");
    let file = common::write_file(&dir, "s.yaml", &scenario("relay-002"));
    let o = run(&["run", file.to_str().expect("utf8")], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("s.yaml:2:9: target: provider relay-002 documents no base URL"), "{}", text(&o));
}

#[test]
fn providers_lists_the_catalog_and_shows_one_entry() {
    let o = run(&["providers"], &[]);
    assert_eq!(o.status.code(), Some(0));
    let list = String::from_utf8_lossy(&o.stdout);
    for p in &CATALOG {
        assert!(list.lines().any(|l| l.starts_with(p.id) && l.contains(p.key_env)), "{} missing: {list}", p.id);
    }
    let o = run(&["providers", "show", "dimilinks"], &[]);
    let show = String::from_utf8_lossy(&o.stdout);
    assert!(show.contains("Authorization: Bearer") && show.contains("claude-opus-4-7-thinking") && show.contains(r#"{"error":{"message","type","code"}}"#), "{show}");
    let o = run(&["providers", "show", "dimilink"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("the catalog has: anthropic, dimilinks"));
}
