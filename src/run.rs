//! One run from scenario file to report folder: start the target, drive the load,
//! collect, write the report, and say which exit code the result deserves.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::client::{ApiKey, AuthStyle, Client, ClientError, Target, Timeouts};
use crate::load::collect::{collect, Blocker, Collected};
use crate::load::progress::{self, Live};
use crate::load::{run_closed_loop, run_open_loop, ClosedLoop, OpenLoop, Picker, RateShape, Stop, Wiring};
use crate::mock::latency::LatencyModel;
use crate::mock::reply::OutputLength;
use crate::mock::{MockConfig, MockServer};
use crate::protocol::ANTHROPIC_VERSION;
use crate::report::{self, timefmt, LoadInfo, Report, RunInfo, ScenarioInfo, TargetInfo};
use crate::scenario::{self, Executor, Scenario, ScenarioError, TargetSpec};

/// Process exit codes, the contract with CI systems and scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Every gate passed.
    Ok = 0,
    /// A threshold or conformance gate failed.
    GateFailed = 1,
    /// Bad command line or scenario.
    Usage = 2,
    /// The run could not proceed: target unreachable, or every request refused by auth.
    CannotProceed = 3,
    /// Interrupted by SIGINT or SIGTERM; the report is partial.
    Interrupted = 130,
}

/// Key the embedded mock accepts when a scenario targets it in-process, and the default
/// of `relaybench mock`.
pub const MOCK_KEY: &str = "relaybench-mock-key";

/// The key the `wrong-key` probe presents.
pub const PROBE_WRONG_KEY: &str = "relaybench-deliberately-wrong-key";

/// How long requests in flight may finish after an interruption.
pub const INTERRUPT_GRACE: Duration = Duration::from_secs(5);

/// Why a run did not produce a report.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The scenario is invalid.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The key's environment variable is not set.
    #[error("target {url}: environment variable {var} is not set; export it with the API key (the key is read only from the environment)")]
    MissingKey {
        /// Target URL.
        url: String,
        /// Variable name.
        var: String,
    },
    /// The target URL or a header is invalid.
    #[error("target: {0}")]
    Client(#[from] ClientError),
    /// The embedded mock could not start.
    #[error("cannot start the embedded mock: {0}")]
    Mock(std::io::Error),
    /// The report could not be written.
    #[error("cannot write the report under {dir}: {source}")]
    Report {
        /// Folder.
        dir: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

impl RunError {
    /// The exit code this error maps to.
    pub fn exit(&self) -> Exit {
        match self {
            RunError::Scenario(_) | RunError::MissingKey { .. } | RunError::Client(_) => Exit::Usage,
            RunError::Mock(_) | RunError::Report { .. } => Exit::CannotProceed,
        }
    }
}

/// Options from the command line.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Overrides the scenario's `output:` folder.
    pub out: Option<PathBuf>,
    /// Install Ctrl-C / SIGTERM handling (off in tests that run several runs at once).
    pub handle_signals: bool,
    /// Print nothing while running.
    pub quiet: bool,
}

/// A run that wrote its report.
#[derive(Debug, Clone)]
pub struct Finished {
    /// The report as written.
    pub report: Report,
    /// Its folder.
    pub dir: PathBuf,
    /// Set when the run could not proceed.
    pub blocker: Option<Blocker>,
}

impl Finished {
    /// The exit code the result deserves.
    pub fn exit(&self) -> Exit {
        if self.blocker.is_some() {
            Exit::CannotProceed
        } else if self.report.partial {
            Exit::Interrupted
        } else if self.report.conformance.violations > 0 || self.report.thresholds.iter().any(|t| !t.passed) {
            Exit::GateFailed
        } else {
            Exit::Ok
        }
    }
}

/// Loads the scenario at `path` and runs it.
pub async fn run_file(path: &Path, options: &RunOptions) -> Result<Finished, RunError> {
    let scenario = scenario::load(path)?;
    run(&scenario, path, options).await
}

/// Runs a loaded scenario.
pub async fn run(scenario: &Scenario, path: &Path, options: &RunOptions) -> Result<Finished, RunError> {
    let (target, _mock) = resolve_target(scenario).await?;
    let timeouts = Timeouts {
        connect: scenario.load.connect_timeout.0,
        ttfb: scenario.load.ttfb_timeout.map(|t| t.0),
        idle: scenario.load.idle_timeout.map(|t| t.0),
        total: scenario.load.timeout.0,
    };
    let client = Client::new(&target, timeouts)?;
    let requests: Arc<[_]> = scenario.prepared_requests().into();
    let picker = Picker::new(&requests, scenario.seed);
    let load = &scenario.load;

    let stop = Arc::new(Stop::default());
    let interrupted = Arc::new(AtomicBool::new(false));
    let signals = options.handle_signals.then(|| tokio::spawn(watch_signals(stop.clone(), interrupted.clone())));
    let probe_results = if scenario.probes.is_empty() {
        Vec::new()
    } else {
        let mut wrong = target.clone();
        wrong.api_key = ApiKey::new(PROBE_WRONG_KEY);
        let wrong_key = Client::new(&wrong, timeouts)?;
        crate::probes::run(&client, &wrong_key, &scenario.probes()).await
    };
    if !options.quiet {
        // Printed once signals are handled, so an interrupt from now on yields a report.
        eprintln!(
            "relaybench: running `{}` against {} (Ctrl-C stops and writes a partial report)",
            scenario.name,
            client.uri()
        );
    }
    let started_at = SystemTime::now();
    let run_start = Instant::now();
    let grace = INTERRUPT_GRACE.min(timeouts.total);
    let live = Arc::new(Live::default());
    let progress = (!options.quiet).then(|| tokio::spawn(progress::report(live.clone(), run_start)));
    let phase = |plan| run_phase(&client, &requests, &picker, plan, &stop, grace, run_start, &live);
    // Every open loop shares the seed and the in-flight cap; each executor sets the rest.
    let open = |rate, poisson, requests, duration| OpenLoop {
        rate,
        poisson,
        seed: scenario.seed,
        max_in_flight: load.max_in_flight.get(),
        requests,
        duration,
    };
    let (requests_limit, duration_limit) = (load.requests, load.duration.map(|d| d.0));
    let mut steps = Vec::new();
    let (collected, dropped) = match (load.executor, load.concurrency, load.rate) {
        (Executor::Concurrency, Some(concurrency), _) => {
            let plan = ClosedLoop {
                concurrency: concurrency.get(),
                requests: requests_limit,
                duration: duration_limit,
            };
            phase(Plan::Closed(plan)).await
        }
        (Executor::Sweep, _, _) => {
            let mut all = Collected::default();
            let mut dropped = 0;
            for rate in load.sweep_rates() {
                if stop.is_stopped() {
                    break;
                }
                let step_started = Instant::now();
                let plan = open(RateShape::Constant(rate), false, None, load.step_duration.map(|d| d.0));
                let (step, step_dropped) = phase(Plan::Open(plan)).await;
                steps.push((rate, step_started.elapsed().as_secs_f64(), step_dropped, step.clone()));
                all.merge(step);
                dropped += step_dropped;
            }
            (all, dropped)
        }
        (Executor::Stages, _, _) => {
            let stages = load.stages.iter().flatten().map(|s| (s.duration.0, s.target)).collect();
            let ramp = RateShape::Ramp { start: load.start_rate.unwrap_or(0.0), stages };
            phase(Plan::Open(open(ramp, false, requests_limit, duration_limit))).await
        }
        (executor, _, Some(rate)) => {
            let poisson = executor == Executor::Poisson;
            phase(Plan::Open(open(RateShape::Constant(rate), poisson, requests_limit, duration_limit))).await
        }
        // The scenario loader admits only the shapes above.
        _ => (Collected::default(), 0),
    };
    let duration_s = run_start.elapsed().as_secs_f64();
    if let Some(task) = signals {
        task.abort();
    }
    if let Some(task) = progress {
        task.abort();
        progress::clear();
    }

    let partial = interrupted.load(Ordering::SeqCst);
    let stopped_early = match (&collected.blocker, partial) {
        (Some(Blocker::Unreachable(d)), _) => Some(format!("target unreachable: {d}")),
        (Some(Blocker::AuthRejected(d)), _) => Some(format!("authentication refused on every request: {d}")),
        (None, true) => Some("interrupted by signal".to_owned()),
        (None, false) => None,
    };
    let info = RunInfo {
        scenario: ScenarioInfo {
            name: scenario.name.clone(),
            file: path.display().to_string(),
            description: scenario.description.clone(),
            seed: scenario.seed,
        },
        target: TargetInfo {
            kind: match scenario.target {
                TargetSpec::Mock(_) => "mock",
                TargetSpec::Http(_) => "http",
            }
            .to_owned(),
            url: client.uri().to_string(),
            model: scenario.model.clone(),
            http2: target.http2,
        },
        load: LoadInfo {
            executor: load.executor.id().to_owned(),
            concurrency: load.concurrency.map(|c| c.get()),
            rate: load.rate,
            max_in_flight: (load.executor != Executor::Concurrency).then(|| load.max_in_flight.get()),
            requests: load.requests,
            duration_s: load.duration.map(|d| d.0.as_secs_f64()),
        },
        dropped,
        templates: requests.iter().map(|r| (r.name.clone(), r.weight.get(), r.stream)).collect(),
        started_at: timefmt::rfc3339(started_at),
        duration_s,
        partial,
        stopped_early,
    };
    let sweep = (!steps.is_empty()).then(|| {
        let step_reports = steps
            .into_iter()
            .map(|(rate, duration_s, dropped, step)| {
                let step_info = RunInfo { duration_s, dropped, ..info.clone() };
                report::sweep::step(rate, &report::build(step_info, &step, &[]), &load.slo)
            })
            .collect();
        report::sweep::SweepReport::new(step_reports)
    });
    let mut report = report::build(info, &collected, &probe_results);
    report.sweep = sweep;
    report.thresholds = scenario.thresholds.iter().map(|t| t.evaluate(&report)).collect();
    let out = options.out.clone().unwrap_or_else(|| scenario.output.clone());
    let dir = report::create_report_dir(&out, &scenario.name, &timefmt::compact(started_at))
        .and_then(|dir| report::write(&report, &dir).map(|()| dir))
        .map_err(|source| RunError::Report { dir: out.clone(), source })?;
    Ok(Finished {
        report,
        dir,
        blocker: collected.blocker,
    })
}

/// One phase of load.
enum Plan {
    Closed(ClosedLoop),
    Open(OpenLoop),
}

#[allow(clippy::too_many_arguments)] // each argument is one part of the run's wiring
/// Runs one phase with its own collector; returns what it collected and how many
/// requests its open loop dropped.
async fn run_phase(
    client: &Client,
    requests: &Arc<[crate::scenario::PreparedRequest]>,
    picker: &Picker,
    plan: Plan,
    stop: &Arc<Stop>,
    grace: Duration,
    run_start: Instant,
    live: &Arc<Live>,
) -> (Collected, u64) {
    let (tx, rx) = mpsc::unbounded_channel();
    let names = requests.iter().map(|r| r.name.clone()).collect();
    let twins = crate::load::collect::stream_twins(requests);
    let collector = tokio::spawn(collect(names, twins, run_start, rx));
    let dropped = Arc::new(AtomicU64::new(0));
    let wiring = Wiring::new(client.clone(), requests.clone(), picker.clone(), stop.clone(), tx, live.clone());
    match plan {
        Plan::Closed(p) => run_closed_loop(wiring, p, grace).await,
        Plan::Open(p) => run_open_loop(wiring, p, grace, dropped.clone()).await,
    }
    // The collector ends when the last worker drops its sender; it cannot panic.
    (collector.await.unwrap_or_default(), dropped.load(Ordering::SeqCst))
}

/// The client target for a scenario, starting the embedded mock when it is the target.
/// The mock lives as long as the returned handle.
async fn resolve_target(scenario: &Scenario) -> Result<(Target, Option<MockServer>), RunError> {
    match &scenario.target {
        TargetSpec::Mock(spec) => {
            let mut config = MockConfig::new(MOCK_KEY);
            config.seed = scenario.seed;
            config.latency = LatencyModel {
                ttft: spec.ttft.0,
                tokens_per_s: spec.tokens_per_s,
                jitter: spec.jitter,
            };
            config.capacity = spec.capacity.map(|k| k.get() as usize);
            config.stall = spec.stall.map(|s| crate::mock::Stall { after: s.after.0, length: s.length.0 });
            if let Some(profile) = spec.profile {
                profile.apply(&mut config);
            }
            if spec.quirk.is_some() {
                config.quirk = spec.quirk;
            }
            config.output = OutputLength {
                min: spec.output_tokens[0],
                max: spec.output_tokens[1],
            };
            let server = MockServer::start_local(config).await.map_err(RunError::Mock)?;
            let target = Target {
                base_url: server.base_url(),
                auth: AuthStyle::XApiKey,
                api_key: ApiKey::new(MOCK_KEY),
                anthropic_version: Some(ANTHROPIC_VERSION.to_owned()),
                headers: Vec::new(),
                http2: spec.http2,
            };
            Ok((target, Some(server)))
        }
        TargetSpec::Http(http) => {
            let key = std::env::var(&http.api_key_env).ok().filter(|k| !k.is_empty());
            let Some(key) = key else {
                return Err(RunError::MissingKey {
                    url: http.base_url.clone(),
                    var: http.api_key_env.clone(),
                });
            };
            let target = Target {
                base_url: http.base_url.clone(),
                auth: http.auth,
                api_key: ApiKey::new(key),
                anthropic_version: http.anthropic_version.clone(),
                headers: http.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                http2: http.http2,
            };
            Ok((target, None))
        }
    }
}

/// First SIGINT/SIGTERM: stop scheduling and let the run write a partial report.
/// Second: exit at once; reports are written atomically, so none is left half-written.
async fn watch_signals(stop: Arc<Stop>, interrupted: Arc<AtomicBool>) {
    signal().await;
    interrupted.store(true, Ordering::SeqCst);
    stop.stop();
    eprintln!("relaybench: interrupted; finishing requests in flight (up to {}s), then writing the partial report. Interrupt again to quit now.", INTERRUPT_GRACE.as_secs());
    signal().await;
    std::process::exit(Exit::Interrupted as i32);
}

async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
