//! Command-line definitions; each flag is defined once here.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Load-testing and conformance harness for the Anthropic Messages API.
#[derive(Debug, Parser)]
#[command(name = "relaybench", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario and write its report.
    Run {
        /// Scenario YAML file.
        scenario: PathBuf,
        /// Folder for the report folder (default: the scenario's `output:`).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print nothing but errors and the report path.
        #[arg(long, short)]
        quiet: bool,
        /// Write the raw bytes of responses into the report folder's `captures/`:
        /// `failed` (failed or broke a rule) or `all` (overrides the scenario's `capture:`).
        #[arg(long, value_parser = ["none", "failed", "all"])]
        capture: Option<String>,
        /// Write `requests.jsonl` (a line per request: template, phase, times, tokens,
        /// outcome, findings) into the report folder (overrides the scenario's `records:`);
        /// `--records=gzip` writes `requests.jsonl.gz`.
        #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "jsonl", value_parser = ["jsonl", "gzip"])]
        records: Option<String>,
        /// Override a scenario field, as `PATH=VALUE` with the YAML's field names:
        /// `--set load.concurrency=64 --set load.duration=30s`; repeatable.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        sets: Vec<String>,
        /// Before the load, scan every model each target lists for its channel verdict
        /// (the scenario's `authenticity: all`); the bound on requests and cost is printed first.
        #[arg(long)]
        authenticity: bool,
        /// Run worker I's share of a run split across N (I/N, such as 0/4): arrival n is sent
        /// by worker n mod N; default from JOB_COMPLETION_INDEX and RELAYBENCH_SEGMENTS.
        #[arg(long, value_parser = crate::load::segment::Segment::parse)]
        segment: Option<crate::load::segment::Segment>,
        /// Start the load at this wall-clock time (RFC 3339, or Unix seconds), the same for
        /// every worker of a split run.
        #[arg(long, value_parser = parse_start_at)]
        start_at: Option<f64>,
        /// Also print each report on stdout, framed for `merge --from-logs`: how the
        /// workers of a cluster without a shared volume hand their reports over.
        #[arg(long)]
        emit_report: bool,
        /// Serve live metrics for Prometheus (OpenMetrics text on /metrics) on this
        /// address during the run, e.g. 127.0.0.1:9464.
        #[arg(long)]
        metrics_listen: Option<std::net::SocketAddr>,
        /// Keep serving /metrics this long after the report is written, so a scrape
        /// every few seconds still sees the run's final counts, e.g. 15s.
        #[arg(long, value_parser = parse_duration, requires = "metrics_listen")]
        metrics_linger: Option<std::time::Duration>,
    },
    /// Check captured responses offline: `.sse` files are raw stream bodies, `.json`
    /// files non-streaming Messages (or error bodies, with --status). A capture file's
    /// `.http` sidecar gives its status and headers. Exits 1 when any error-severity
    /// rule fires.
    Check {
        /// Captured bodies.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The HTTP status the `.json` bodies came with; a non-2xx status checks them as
        /// error envelopes.
        #[arg(long)]
        status: Option<u16>,
    },
    /// Print the conformance rule table (id, severity, rule) as Markdown.
    Rules,
    /// Derive the JSON Schemas from schemas/openapi/ and compare them with the files
    /// under schemas/ (exit 1 on drift), or rewrite those files with --write.
    Schemas {
        /// Rewrite the derived files.
        #[arg(long)]
        write: bool,
    },
    /// Print the JSON Schema of scenario files (the bytes of schemas/scenario.schema.json),
    /// or with --markdown the scenario reference generated from it (docs/scenario-reference.md).
    ScenarioSchema {
        /// Print the reference page instead.
        #[arg(long)]
        markdown: bool,
    },
    /// Print a shell completion script, e.g. `relaybench completions bash > relaybench.bash`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `relaybench man > relaybench.1`.
    Man,
    /// Check a scenario file without sending anything.
    Validate {
        /// Scenario YAML file.
        scenario: PathBuf,
        /// Override a scenario field, as `PATH=VALUE` (see `run --set`); repeatable.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        sets: Vec<String>,
    },
    /// Serve the embedded mock provider until interrupted. The key it accepts is read
    /// from RELAYBENCH_MOCK_KEY (default: relaybench-mock-key).
    Mock {
        /// Port to listen on.
        #[arg(long, default_value_t = 8787)]
        port: u16,
        /// Address to bind; loopback by default.
        #[arg(long, default_value = "127.0.0.1")]
        host: std::net::IpAddr,
        /// Delay to the first token, e.g. 120ms (default 120ms, or the profile's).
        #[arg(long, value_parser = parse_duration)]
        ttft: Option<std::time::Duration>,
        /// Tokens per second after the first (default 200, or the profile's).
        #[arg(long)]
        tokens_per_s: Option<f64>,
        /// Delays are stretched by a random factor in [1, 1 + jitter].
        #[arg(long, default_value_t = 0.25)]
        jitter: f64,
        /// Added to the delay to the first token per input token (each word of the
        /// prompt), e.g. 20us: longer prompts wait longer, as with a real model.
        #[arg(long, value_parser = parse_duration, default_value = "0us")]
        prefill_per_token: std::time::Duration,
        /// Seed of the generated text and jitter.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Break one conformance rule on purpose, named by its id (an error rule).
        #[arg(long, value_parser = crate::mock::quirk::parse)]
        quirk: Option<crate::conformance::Rule>,
        /// Append each stream's first token to FILE, a line `USER_ID<TAB>SENT<TAB>DUE` (unix
        /// nanoseconds: when it was handed to the connection, and when it was due) for
        /// requests with `metadata.user_id`: the server's side of a client/wire timing
        /// comparison (`cargo bench --bench wire_timing`).
        #[arg(long)]
        send_log: Option<PathBuf>,
        /// Impersonate a catalog provider (`relaybench providers` lists them): its
        /// models and documented deviations; its stand-in latency unless --ttft or
        /// --tokens-per-s are given.
        #[arg(long, value_parser = crate::provider::find)]
        profile: Option<&'static crate::provider::Provider>,
        /// Serve https (HTTP/2 and HTTP/1.1 by ALPN) with a CA and a certificate for
        /// localhost made at start; the CA is written to --cert-dir as mock-ca.pem, the
        /// `ca_file` a client trusts.
        #[arg(long)]
        tls: bool,
        /// Dress the answers as another channel sends them: bedrock, vertex,
        /// subscription, disguised, or mixed (one in three through Bedrock).
        #[arg(long, value_parser = crate::mock::channel::MockChannel::parse)]
        channel: Option<crate::mock::channel::MockChannel>,
        /// Play relay software in front of the mock (litellm).
        #[arg(long, value_parser = crate::mock::channel::MockGateway::parse)]
        gateway: Option<crate::mock::channel::MockGateway>,
        /// Where the made CA is written.
        #[arg(long, default_value = ".", requires = "tls", conflicts_with = "cert")]
        cert_dir: PathBuf,
        /// Serve this certificate chain (PEM) instead of a made one; with --key.
        #[arg(long, requires_all = ["tls", "key"])]
        cert: Option<PathBuf>,
        /// The private key (PEM) of --cert.
        #[arg(long, requires = "cert")]
        key: Option<PathBuf>,
    },
    /// List the feature suite's cases (a scenario's `features:` names them, or `all`).
    Features,
    /// List the built-in provider catalog, or show one entry with `show ID`.
    Providers {
        /// `show`.
        #[arg(value_parser = ["show"], requires = "id")]
        action: Option<String>,
        /// Provider id.
        id: Option<String>,
    },
    /// Compare two saved reports (the same provider over time, or two providers) and
    /// flag regressions of B against A beyond a tolerance. Exits 1 on a regression.
    Compare {
        /// The baseline report.json.
        a: PathBuf,
        /// The report.json judged against it.
        b: PathBuf,
        /// Allowed worsening of a latency or throughput figure, in percent.
        #[arg(long, default_value_t = 10.0)]
        tolerance: f64,
    },
    /// Add the reports of a run's segments (`run --segment I/N`) into one: histograms
    /// added exactly, thresholds judged once on the sum. Exits as the run would have.
    Merge {
        /// Segment report folders or report.json files, or a folder holding them; with
        /// --from-logs, log files holding framed reports (`-` for stdin).
        #[arg(required = true)]
        reports: Vec<PathBuf>,
        /// The files are logs (`kubectl logs`) of runs with --emit-report: the reports
        /// framed in them are merged.
        #[arg(long)]
        from_logs: bool,
        /// The folder to write the merged report into.
        #[arg(long, short)]
        out: PathBuf,
    },
    /// Kubernetes manifests for a split run (see docs/distributed.md).
    K8s {
        /// What to do.
        #[command(subcommand)]
        action: K8sAction,
    },
    /// Token-count references for the tokenizer check (see docs/authenticity.md).
    Fingerprint {
        /// What to do.
        #[command(subcommand)]
        action: FingerprintAction,
    },
    /// Render a saved report as HTML: a report folder (one run's or a comparison's),
    /// a report.json or a comparison.json. Writes report.html beside it unless --out.
    Report {
        /// The report folder or file.
        path: PathBuf,
        /// Where to write the page instead.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Run an ad-hoc load without a scenario file, against `mock` (the embedded mock) or a
    /// base URL; --print-scenario prints the scenario instead, to save and grow.
    Quick(Quick),
}

/// The options of `relaybench quick`.
#[derive(Debug, clap::Args)]
pub struct Quick {
    /// `mock`, or the target's base URL (e.g. https://api.anthropic.com).
    pub target: String,
    /// Requests in flight at once (a closed loop); ignored with --rate.
    #[arg(long, default_value_t = 8)]
    pub concurrency: u32,
    /// Requests per second instead (an open loop).
    #[arg(long)]
    pub rate: Option<f64>,
    /// How long to send, e.g. 30s.
    #[arg(long, default_value = "10s")]
    pub duration: String,
    /// Stream the responses.
    #[arg(long)]
    pub stream: bool,
    /// Model to ask for.
    #[arg(long, default_value = "claude-sonnet-4-5")]
    pub model: String,
    /// A generated prompt of this many tokens (else a short fixed prompt).
    #[arg(long)]
    pub prompt_tokens: Option<u64>,
    /// `max_tokens` of each request.
    #[arg(long, default_value_t = 256)]
    pub max_tokens: u64,
    /// The environment variable holding the key (a URL target only).
    #[arg(long, default_value = "ANTHROPIC_API_KEY")]
    pub key_env: String,
    /// PEM certificates to trust besides the public roots (e.g. the mock-ca.pem that
    /// `relaybench mock --tls` writes).
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
    /// Accept any certificate (a warning goes to the terminal and every report).
    #[arg(long)]
    pub insecure: bool,
    /// HTTP versions to offer: http1 (default), http2 or auto.
    #[arg(long, value_parser = crate::client::tls::Alpn::NAMES)]
    pub alpn: Option<String>,
    /// Proxy: a URL (http://, https://, socks5://, socks5h://), `env` (default) or `none`.
    #[arg(long)]
    pub proxy: Option<String>,
    /// Connect to this host[:port] instead of the URL's, keeping its name for SNI and Host.
    #[arg(long)]
    pub connect_to: Option<String>,
    /// A new connection for every request, closed after it (no keep-alive): each request
    /// pays TCP and TLS, as a client that keeps no connection open does.
    #[arg(long)]
    pub no_keep_alive: bool,
    /// Print the scenario and exit instead of running it.
    #[arg(long)]
    pub print_scenario: bool,
    /// Folder for the report folder.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print nothing but errors and the report path.
    #[arg(long, short)]
    pub quiet: bool,
}

impl Quick {
    /// The scenario these options describe, as YAML a user can save; the run checks it as
    /// it checks a file, so a bad value gets the same message.
    pub fn scenario(&self) -> String {
        let quote = |s: &str| serde_json::Value::String(s.to_owned()).to_string();
        let mut tls = Vec::new();
        if let Some(ca) = &self.ca_file {
            tls.push(format!("ca_file: {}", quote(&ca.display().to_string())));
        }
        if self.insecure {
            tls.push("insecure: true".to_owned());
        }
        if let Some(alpn) = &self.alpn {
            tls.push(format!("alpn: {alpn}"));
        }
        let mut network = String::new();
        if !tls.is_empty() {
            network.push_str(&format!(", tls: {{{}}}", tls.join(", ")));
        }
        if let Some(proxy) = &self.proxy {
            network.push_str(&format!(", proxy: {}", quote(proxy)));
        }
        if let Some(to) = &self.connect_to {
            network.push_str(&format!(", connect_to: {}", quote(to)));
        }
        let target = match self.target.as_str() {
            "mock" => "mock".to_owned(),
            url => format!("{{base_url: {}, api_key_env: {}{network}}}", quote(url), quote(&self.key_env)),
        };
        let prompt = match self.prompt_tokens {
            Some(n) => format!("prompt_tokens: {n}"),
            None => "prompt: Explain in one paragraph what a relay provider is.".to_owned(),
        };
        let fresh = if self.no_keep_alive { ", keep_alive: false" } else { "" };
        let load = match self.rate {
            Some(rate) => format!("{{executor: constant-rate, rate: {rate}, duration: {}{fresh}}}", quote(&self.duration)),
            None => format!("{{concurrency: {}, duration: {}{fresh}}}", self.concurrency, quote(&self.duration)),
        };
        format!(
            "# relaybench quick {}\nname: quick\ntarget: {target}\nmodel: {}\nrequests:\n  - {{stream: {}, max_tokens: {}, {prompt}}}\nload: {load}\n",
            self.target,
            quote(&self.model),
            self.stream,
            self.max_tokens,
        )
    }
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    crate::scenario::duration::parse(text)
}

/// The completion script of `shell` for the command line above.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut <Cli as clap::CommandFactory>::command(), "relaybench", &mut out);
    out
}

/// The man page of the command line above, its subcommands included, as roff.
pub fn man_page() -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(<Cli as clap::CommandFactory>::command()).render(&mut out)?;
    Ok(out)
}

/// `relaybench fingerprint` actions.
#[derive(Debug, Subcommand)]
pub enum FingerprintAction {
    /// Write the token counts of a reference target, from the report of a run against it
    /// with `authenticity:` set, to a file later runs compare against (`reference_file:`).
    Save {
        /// Report folders or files (a comparison's folder too), one model each.
        #[arg(required = true)]
        reports: Vec<PathBuf>,
        /// In a comparison, the target whose counts are the reference.
        #[arg(long)]
        target: Option<String>,
        /// The reference file to write.
        #[arg(long, short)]
        out: PathBuf,
    },
}

/// A wall-clock time as Unix seconds: RFC 3339 (`2026-12-06T10:00:00Z`) or a number.
fn parse_start_at(text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .or_else(|| crate::conformance::limits::parse_rfc3339(text))
        .filter(|t| t.is_finite() && *t > 0.0)
        .ok_or_else(|| format!("{text:?} is neither an RFC 3339 time nor Unix seconds"))
}

/// `relaybench k8s` actions.
#[derive(Debug, Subcommand)]
pub enum K8sAction {
    /// Print the manifests that run SCENARIO split across --workers pods: a ConfigMap with
    /// the scenario, a volume for the reports, an Indexed Job; with --merge, the Job that
    /// merges the reports once the workers have completed.
    Render {
        /// Scenario YAML file.
        scenario: PathBuf,
        /// Pods, each one segment.
        #[arg(long)]
        workers: u32,
        /// The container image (built from the repository's Dockerfile).
        #[arg(long, default_value = concat!("relaybench:", env!("CARGO_PKG_VERSION")))]
        image: String,
        /// Prefix of every object's name.
        #[arg(long, default_value = "relaybench")]
        name: String,
        /// Print the merge Job instead.
        #[arg(long)]
        merge: bool,
        /// Start every pod's load at this wall-clock time (RFC 3339, or Unix seconds):
        /// apply the manifests early enough for the pods to be up by then.
        #[arg(long, value_parser = parse_start_at)]
        start_at: Option<f64>,
    },
}
