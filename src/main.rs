//! The `relaybench` binary: parse the command line, call the library, map the result to
//! an exit code. Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;
use relaybench::cli::{Cli, Command, FingerprintAction, K8sAction};
use relaybench::mock::latency::LatencyModel;
use relaybench::mock::{MockConfig, MockServer};
use relaybench::scenario::target::{MOCK_TOKENS_PER_S, MOCK_TTFT};
use relaybench::run::{self, Exit, RunOptions};

/// `relaybench report`: the saved report's page, written atomically; its path printed.
fn render_report(path: &std::path::Path, out: Option<std::path::PathBuf>) -> ExitCode {
    use relaybench::report::files::Saved;
    let (saved, dir) = match Saved::read(path) {
        Ok(read) => read,
        Err(e) => return fail(&e, Exit::Usage),
    };
    let target = out.unwrap_or_else(|| dir.join(relaybench::report::html::REPORT_HTML));
    match relaybench::report::write_atomic(&target, saved.html().as_bytes()) {
        Ok(()) => {
            println!("{}", target.display());
            code(Exit::Ok)
        }
        Err(e) => fail(&format!("{}: {e}", target.display()), Exit::CannotProceed),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}"), Exit::CannotProceed),
    };
    match cli.command {
        Command::Run { scenario, out, quiet, capture, records, mut sets, metrics_listen, metrics_linger, authenticity, segment, start_at, emit_report } => {
            if authenticity {
                sets.push("authenticity=all".to_owned());
            }
            // An Indexed Job's pod names its segment in the environment.
            let segment = match segment.map(Ok).or_else(|| relaybench::load::segment::Segment::from_env(|k| std::env::var(k).ok()).transpose()) {
                Some(Ok(s)) => s,
                Some(Err(e)) => return fail(&e, Exit::Usage),
                None => relaybench::load::segment::Segment::WHOLE,
            };
            // clap already limited both values to the modes they name.
            let capture = capture.as_deref().and_then(|c| relaybench::scenario::CaptureMode::parse(c).ok());
            let records = records.as_deref().and_then(|r| relaybench::scenario::RecordsMode::parse(r).ok());
            let options = RunOptions { out, handle_signals: true, quiet, capture, records, sets, metrics_listen, metrics_linger, segment, start_at };
            finished(runtime.block_on(run::run_file(&scenario, &options)), quiet, emit_report)
        }
        Command::Quick(q) => {
            let text = q.scenario();
            if q.print_scenario {
                print!("{text}");
                return code(Exit::Ok);
            }
            let path = std::path::Path::new("quick.yaml");
            let scenario = match relaybench::scenario::parse(&text, path) {
                Ok(s) => s,
                Err(e) => return fail(&format!("{} (relaybench quick --print-scenario shows the YAML)", e.message), Exit::Usage),
            };
            let options = RunOptions { out: q.out.clone(), handle_signals: true, quiet: q.quiet, capture: None, records: None, sets: Vec::new(), metrics_listen: None, metrics_linger: None, ..Default::default() };
            finished(runtime.block_on(run::run(&scenario, path, &options)), q.quiet, false)
        }
        Command::Providers { id, .. } => match id {
            None => {
                print!("{}", relaybench::provider::list());
                code(Exit::Ok)
            }
            Some(id) => match relaybench::provider::find(&id) {
                Ok(p) => {
                    print!("{}", relaybench::provider::show(p));
                    code(Exit::Ok)
                }
                Err(e) => fail(&e, Exit::Usage),
            },
        },
        Command::Compare { a, b, tolerance } => compare(&a, &b, tolerance),
        Command::Merge { reports, out, from_logs } => merge(&reports, &out, from_logs),
        Command::K8s { action: K8sAction::Render { scenario, workers, image, name, merge, start_at } } => {
            let text = match std::fs::read_to_string(&scenario) {
                Ok(t) => t,
                Err(e) => return fail(&format!("{}: {e}", scenario.display()), Exit::Usage),
            };
            let loaded = match relaybench::scenario::parse(&text, &scenario) {
                Ok(s) => s,
                Err(e) => return fail(&e.to_string(), Exit::Usage),
            };
            let render = relaybench::run::k8s::Render { text: &text, scenario: &loaded, workers, image: &image, name: &name, merge, start_at };
            match relaybench::run::k8s::render(&render) {
                Ok(manifests) => out(manifests.as_bytes()),
                Err(e) => fail(&e, Exit::Usage),
            }
        }
        Command::Fingerprint { action: FingerprintAction::Save { reports, target, out } } => save_reference(&reports, target.as_deref(), &out),
        Command::Report { path, out } => render_report(&path, out),
        Command::Features => {
            print!("{}", relaybench::features::listing());
            code(Exit::Ok)
        }
        Command::Check { files, status } => check(&files, status),
        Command::Schemas { write } => schemas(write),
        Command::ScenarioSchema { markdown } => {
            use relaybench::scenario::schema;
            print!("{}", if markdown { schema::reference_markdown() } else { schema::scenario_schema_text() });
            code(Exit::Ok)
        }
        Command::Completions { shell } => out(&relaybench::cli::completions(shell)),
        Command::Man => match relaybench::cli::man_page() {
            Ok(page) => out(&page),
            Err(e) => fail(&format!("cannot render the man page: {e}"), Exit::CannotProceed),
        },
        Command::Rules => {
            print!("{}", relaybench::conformance::rules::markdown_table());
            code(Exit::Ok)
        }
        Command::Validate { scenario, sets } => match relaybench::scenario::load_with(&scenario, &sets) {
            Ok(s) => {
                let targets: Vec<String> = s.targets().into_iter().map(|t| t.name).collect();
                let phases = s.phases();
                let thresholds = s.thresholds.len() + phases.iter().map(|p| p.thresholds.len()).sum::<usize>();
                let phases: Vec<String> = phases.into_iter().map(|p| p.name).collect();
                println!(
                    "{}: ok ({} request templates; targets: {}; phases: {}; {} probes, {} feature cases, {} thresholds)",
                    scenario.display(),
                    s.requests.len(),
                    targets.join(", "),
                    phases.join(", "),
                    s.probes.len(),
                    s.features.len(),
                    thresholds
                );
                code(Exit::Ok)
            }
            Err(e) => fail(&e.to_string(), Exit::Usage),
        },
        Command::Mock { port, host, ttft, tokens_per_s, jitter, prefill_per_token, seed, quirk, send_log, profile, tls, channel, gateway, cert_dir, cert, key: key_file } => {
            let key = std::env::var("RELAYBENCH_MOCK_KEY").unwrap_or_else(|_| run::MOCK_KEY.to_owned());
            let mut config = MockConfig::new(key);
            config.seed = seed;
            let plain = LatencyModel { ttft: MOCK_TTFT, tokens_per_s: MOCK_TOKENS_PER_S, jitter, prefill_per_token };
            let base = profile.map_or(plain, |p| relaybench::mock::profile::latency(p, plain));
            if let Some(profile) = profile {
                relaybench::mock::profile::apply(profile, &mut config);
            }
            if quirk.is_some() {
                config.quirk = quirk;
            }
            config.latency = LatencyModel { ttft: ttft.unwrap_or(base.ttft), tokens_per_s: tokens_per_s.unwrap_or(base.tokens_per_s), jitter, prefill_per_token };
            config.channel = channel.unwrap_or_default();
            config.gateway = gateway;
            let config_quirk = config.quirk;
            if tls {
                let made = match (cert, key_file) {
                    (Some(cert), Some(key_file)) => relaybench::mock::tls::from_files(&cert, &key_file),
                    _ => relaybench::mock::tls::generate(&cert_dir),
                };
                match made {
                    Ok(made) => config.tls = Some(made),
                    Err(e) => return fail(&e.to_string(), Exit::Usage),
                }
            }
            let log = send_log.map(|path| {
                let log = relaybench::mock::stream::SendLog::default();
                config.send_log = Some(log.clone());
                (log, path)
            });
            runtime.block_on(async {
                if let Some((log, path)) = log {
                    tokio::spawn(write_send_log(log, path));
                }
                match MockServer::start(config, std::net::SocketAddr::new(host, port)).await {
                    Ok(server) => {
                        let quirk = config_quirk.map(|q| format!(" (breaking {} on purpose)", q.id())).unwrap_or_default();
                        eprintln!("relaybench mock listening on {}{quirk}", server.base_url());
                        if let Some(ca) = server.ca_file() {
                            eprintln!("its CA certificate: {} (a target's tls.ca_file)", ca.display());
                        }
                        tokio::select! {
                            _ = server.wait() => code(Exit::Ok),
                            _ = tokio::signal::ctrl_c() => code(Exit::Ok),
                        }
                    }
                    Err(e) => fail(&format!("cannot listen on {host}:{port}: {e}"), Exit::CannotProceed),
                }
            })
        }
    }
}

/// Appends the mock's first tokens to `path` every 50 ms, until the process ends: a line
/// `key<TAB>sent<TAB>due` each, in nanoseconds since the epoch.
async fn write_send_log(log: relaybench::mock::stream::SendLog, path: std::path::PathBuf) {
    use std::io::Write;
    let mut file = match std::fs::OpenOptions::new().create(true).append(true).open(&path) {
        Ok(file) => file,
        Err(e) => return eprintln!("--send-log {}: {e}", path.display()),
    };
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let lines: String = log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .drain(..)
            .map(|f| {
                let ns = |t: std::time::SystemTime| t.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
                format!("{}\t{}\t{}\n", f.key, ns(f.sent), ns(f.due))
            })
            .collect();
        if let Err(e) = file.write_all(lines.as_bytes()) {
            return eprintln!("--send-log {}: {e}", path.display());
        }
    }
}

/// Prints a finished run (unless quiet), its report path, each report framed when `emit`,
/// and why it stopped early, if it did; the exit code says how it went.
fn finished(result: Result<run::Finished, run::RunError>, quiet: bool, emit: bool) -> ExitCode {
    match result {
        Ok(done) => {
            if !quiet {
                match &done.comparison {
                    Some(c) => print!("{}", relaybench::report::comparison::terminal(c)),
                    None => print!("{}", relaybench::report::terminal::render(done.report())),
                }
            }
            println!("report: {}", done.main_file().display());
            if emit {
                for t in &done.targets {
                    print!("{}", relaybench::report::frame::frame(&t.report));
                }
            }
            for t in &done.targets {
                if let Some(why) = &t.report.stopped_early {
                    eprintln!("relaybench: {why}");
                }
            }
            code(done.exit())
        }
        Err(e) => fail(&e.to_string(), e.exit()),
    }
}

fn check(files: &[std::path::PathBuf], status: Option<u16>) -> ExitCode {
    use relaybench::conformance::{check_capture_counted, has_violation, Capture};
    let mut violation = false;
    for file in files {
        // A capture file's sidecar gives its status and headers, so its findings come
        // back without --status.
        let sidecar = std::fs::read_to_string(relaybench::load::capture::sidecar_name(&file.display().to_string()))
            .ok()
            .and_then(|text| relaybench::load::capture::read_sidecar(&text));
        let status = status.or(sidecar.as_ref().map(|s| s.0));
        let kind = match (file.extension().and_then(|e| e.to_str()), status) {
            (Some("sse"), _) => Capture::Stream,
            (Some("json"), Some(s)) if !(200..300).contains(&s) => Capture::Error(s),
            (Some("json"), _) => Capture::Message,
            _ => return fail(&format!("{}: give a .sse (stream body) or .json file", file.display()), Exit::Usage),
        };
        let body = match std::fs::read(file) {
            Ok(b) => b,
            Err(e) => return fail(&format!("{}: {e}", file.display()), Exit::Usage),
        };
        let (mut findings, unkept) = check_capture_counted(kind, &body);
        if let (Some((status, headers)), Some(s)) = (&sidecar, status) {
            let headers: http::HeaderMap = headers
                .iter()
                .filter_map(|(k, v)| Some((http::HeaderName::from_bytes(k.as_bytes()).ok()?, http::HeaderValue::from_str(v).ok()?)))
                .collect();
            let stream = kind == Capture::Stream && (200..300).contains(&s);
            findings.splice(0..0, relaybench::conformance::envelope::check_headers(*status, stream, &headers));
        }
        violation |= has_violation(&findings);
        if findings.is_empty() {
            println!("{}: ok", file.display());
        }
        for f in &findings {
            let at = f.event_index.map(|i| format!(" (event {i})")).unwrap_or_default();
            println!("{}: {} {}{at}: {}", file.display(), f.rule.severity().id(), f.rule.id(), f.message);
            if !f.excerpt.is_empty() {
                println!("    {}", f.excerpt);
            }
        }
        for (rule, n) in unkept {
            println!("{}: {} {}: {n} more like the above", file.display(), rule.severity().id(), rule.id());
        }
    }
    code(if violation { Exit::GateFailed } else { Exit::Ok })
}

fn compare(a: &std::path::Path, b: &std::path::Path, tolerance: f64) -> ExitCode {
    let (a, b) = match (relaybench::report::read(a), relaybench::report::read(b)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return fail(&e, Exit::Usage),
    };
    let diff = relaybench::report::regression::compare(&a, &b, tolerance / 100.0);
    print!("{}", relaybench::report::regression::render(&diff));
    code(if diff.regressions() > 0 { Exit::GateFailed } else { Exit::Ok })
}

fn merge(paths: &[std::path::PathBuf], out: &std::path::Path, from_logs: bool) -> ExitCode {
    let reports = if from_logs { run::merged::reports_from_logs(paths) } else { run::merged::reports_from_files(paths, out) };
    let finished = match reports.and_then(|r| run::merged::merge_reports(r, out)) {
        Ok(f) => f,
        Err((e, exit)) => return fail(&e, exit),
    };
    for t in &finished.targets {
        print!("{}", relaybench::report::terminal::render(&t.report));
        if let Some(why) = t.report.stopped_early.as_deref().filter(|_| t.report.partial) {
            eprintln!("relaybench: {}: {why}", t.report.target.name);
        }
    }
    println!("merged report: {}", out.display());
    code(run::merged::exit(&finished))
}

fn save_reference(reports: &[std::path::PathBuf], target: Option<&str>, out: &std::path::Path) -> ExitCode {
    let file = match relaybench::report::reference::from_saved(reports, target) {
        Ok(f) => f,
        Err(e) => return fail(&e, Exit::Usage),
    };
    let text = serde_json::to_string_pretty(&file).unwrap_or_default() + "\n";
    if let Err(e) = relaybench::report::write_atomic(out, text.as_bytes()) {
        return fail(&format!("{}: {e}", out.display()), Exit::CannotProceed);
    }
    let models: Vec<&str> = file.models.iter().map(|m| m.model.as_str()).collect();
    println!("reference written: {} ({} texts counted for {})", out.display(), relaybench::tokenizer::TEXTS.len(), models.join(", "));
    code(Exit::Ok)
}

fn schemas(write: bool) -> ExitCode {
    let files = match relaybench::schemas::derived_files() {
        Ok(f) => f,
        Err(e) => return fail(&e, Exit::Usage),
    };
    let mut drift = 0;
    for (path, text) in &files {
        if write {
            let written = path.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| relaybench::report::write_atomic(path, text.as_bytes()));
            if let Err(e) = written {
                return fail(&format!("{}: {e}", path.display()), Exit::CannotProceed);
            }
        } else if std::fs::read_to_string(path).ok().as_deref() != Some(text.as_str()) {
            println!("{}: differs from its OpenAPI source (run `relaybench schemas --write`)", path.display());
            drift += 1;
        }
    }
    println!("{} schemas {}", files.len(), if write { "written" } else if drift == 0 { "match their OpenAPI sources" } else { "checked" });
    code(if drift == 0 { Exit::Ok } else { Exit::GateFailed })
}

/// Writes `bytes` to stdout; a closed pipe (`| head`) is not an error worth a message.
fn out(bytes: &[u8]) -> ExitCode {
    use std::io::Write;
    let _ = std::io::stdout().write_all(bytes);
    code(Exit::Ok)
}

fn code(exit: Exit) -> ExitCode {
    ExitCode::from(exit as u8)
}

fn fail(message: &str, exit: Exit) -> ExitCode {
    eprintln!("relaybench: {message}");
    code(exit)
}
