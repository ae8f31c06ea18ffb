//! The `relaybench` binary: parse the command line, call the library, map the result to
//! an exit code. Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;
use relaybench::cli::{Cli, Command};
use relaybench::mock::{MockConfig, MockServer};
use relaybench::run::{self, Exit, RunOptions};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}"), Exit::CannotProceed),
    };
    match cli.command {
        Command::Run { scenario, out, quiet } => {
            let options = RunOptions { out, handle_signals: true, quiet };
            match runtime.block_on(run::run_file(&scenario, &options)) {
                Ok(done) => {
                    if !quiet {
                        print!("{}", relaybench::report::terminal::render(&done.report));
                    }
                    println!("report: {}", done.dir.join(relaybench::report::REPORT_JSON).display());
                    if let Some(why) = &done.report.stopped_early {
                        eprintln!("relaybench: {why}");
                    }
                    code(done.exit())
                }
                Err(e) => fail(&e.to_string(), e.exit()),
            }
        }
        Command::Check { files, status } => check(&files, status),
        Command::Schemas { write } => schemas(write),
        Command::Rules => {
            print!("{}", relaybench::conformance::rules::markdown_table());
            code(Exit::Ok)
        }
        Command::Validate { scenario } => match relaybench::scenario::load(&scenario) {
            Ok(s) => {
                println!("{}: ok ({} request templates)", scenario.display(), s.requests.len());
                code(Exit::Ok)
            }
            Err(e) => fail(&e.to_string(), Exit::Usage),
        },
        Command::Mock { port, host, ttft, tokens_per_s, jitter, seed, quirk, profile } => {
            let key = std::env::var("RELAYBENCH_MOCK_KEY").unwrap_or_else(|_| run::MOCK_KEY.to_owned());
            let mut config = MockConfig::new(key);
            config.seed = seed;
            if let Some(profile) = profile {
                profile.apply(&mut config);
            }
            if quirk.is_some() {
                config.quirk = quirk;
            }
            config.latency = relaybench::mock::latency::LatencyModel { ttft, tokens_per_s, jitter };
            let config_quirk = config.quirk;
            runtime.block_on(async {
                match MockServer::start(config, std::net::SocketAddr::new(host, port)).await {
                    Ok(server) => {
                        let quirk = config_quirk.map(|q| format!(" (breaking {} on purpose)", q.id())).unwrap_or_default();
                        eprintln!("relaybench mock listening on {}{quirk}", server.base_url());
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

fn check(files: &[std::path::PathBuf], status: Option<u16>) -> ExitCode {
    use relaybench::conformance::{check_capture, has_violation, Capture};
    let mut violation = false;
    for file in files {
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
        let findings = check_capture(kind, &body);
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
    }
    code(if violation { Exit::GateFailed } else { Exit::Ok })
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

fn code(exit: Exit) -> ExitCode {
    ExitCode::from(exit as u8)
}

fn fail(message: &str, exit: Exit) -> ExitCode {
    eprintln!("relaybench: {message}");
    code(exit)
}
