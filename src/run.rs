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
use crate::load::{run_closed_loop, run_open_loop, ClosedLoop, LoadShape, OpenLoop, Picker, Stop, Wiring};
use crate::mock::latency::LatencyModel;
use crate::mock::reply::OutputLength;
use crate::mock::{MockConfig, MockServer};
use crate::protocol::ANTHROPIC_VERSION;
use crate::report::phase::PhaseReport;
use crate::report::{self, timefmt, LoadInfo, Report, RunInfo, ScenarioInfo, TargetInfo};
use crate::scenario::{self, Executor, LoadSpec, PreparedRequest, Ramp, Scenario, ScenarioError, TargetSpec};

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
        } else if self.report.conformance.violations > 0 || report::all_thresholds(&self.report).any(|(_, t)| !t.passed) {
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
    let phases = scenario.phases();
    // The loader admits no scenario without a phase; the probes use the first one's limits.
    let probe_timeouts = phases.first().map_or_else(Timeouts::default, |p| p.load.timeouts());
    let client = Client::new(&target, probe_timeouts)?;
    let requests: Arc<[_]> = scenario.prepared_requests().into();
    let picker = Picker::new(&requests, scenario.seed);

    let stop = Arc::new(Stop::default());
    let interrupted = Arc::new(AtomicBool::new(false));
    let signals = options.handle_signals.then(|| tokio::spawn(watch_signals(stop.clone(), interrupted.clone())));
    let probe_results = if scenario.probes.is_empty() {
        Vec::new()
    } else {
        let mut wrong = target.clone();
        wrong.api_key = ApiKey::new(PROBE_WRONG_KEY);
        let wrong_key = Client::new(&wrong, probe_timeouts)?;
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
    let live = Arc::new(Live::default());
    let planned = progress::Planned::of(phases.iter().map(|p| p.load.planned()));
    let progress = (!options.quiet).then(|| tokio::spawn(progress::report(live.clone(), run_start, planned)));
    let mut runs = Vec::new();
    for spec in &phases {
        if stop.is_stopped() {
            break;
        }
        let client = Client::new(&target, spec.load.timeouts())?;
        let ctx = PhaseContext {
            client: &client,
            requests: &requests,
            picker: &picker,
            stop: &stop,
            grace: INTERRUPT_GRACE.min(spec.load.timeout.0),
            run_start,
            live: &live,
            seed: scenario.seed,
        };
        let start_s = run_start.elapsed().as_secs_f64();
        let run = ctx.drive(&spec.load).await;
        runs.push((spec, start_s, run_start.elapsed().as_secs_f64() - start_s, run));
    }
    let duration_s = run_start.elapsed().as_secs_f64();
    if let Some(task) = signals {
        task.abort();
    }
    if let Some(task) = progress {
        task.abort();
        progress::clear();
    }

    let mut collected = Collected::default();
    let mut dropped = 0;
    for (_, _, _, run) in &runs {
        collected.merge(run.collected.clone());
        dropped += run.dropped;
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
        dropped,
        templates: requests.iter().map(|r| (r.name.clone(), r.weight.get(), r.stream)).collect(),
        started_at: timefmt::rfc3339(started_at),
        duration_s,
        partial,
        stopped_early,
    };
    // A part of the run (a phase, a sweep step) reported as if it were a run of its own.
    let part = |collected: &Collected, duration_s: f64, dropped: u64| {
        report::build(RunInfo { duration_s, dropped, ..info.clone() }, collected, &[])
    };
    let phase_reports = runs
        .iter()
        .map(|(spec, start_s, duration_s, run)| {
            let sweep = (!run.steps.is_empty()).then(|| {
                let steps = run.steps.iter().map(|s| report::sweep::step(s.rate, &part(&s.collected, s.duration_s, s.dropped), &spec.load.slo));
                report::sweep::SweepReport::new(steps.collect())
            });
            let alone = part(&run.collected, *duration_s, run.dropped);
            PhaseReport::new(&spec.name, *start_s, &alone, load_info(&spec.load), &spec.thresholds, sweep)
        })
        .collect();
    let mut report = report::build(info, &collected, &probe_results);
    report.phases = phase_reports;
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

/// What one phase collected.
struct PhaseRun {
    collected: Collected,
    dropped: u64,
    /// The sweep's steps, for the sweep executor.
    steps: Vec<SweepStep>,
}

/// One held rate of a sweep.
struct SweepStep {
    rate: f64,
    duration_s: f64,
    dropped: u64,
    collected: Collected,
}

/// One loop of load.
enum Plan {
    Closed(ClosedLoop),
    Open(OpenLoop),
}

/// Everything a phase shares with the rest of the run.
struct PhaseContext<'a> {
    client: &'a Client,
    requests: &'a Arc<[PreparedRequest]>,
    picker: &'a Picker,
    stop: &'a Arc<Stop>,
    grace: Duration,
    run_start: Instant,
    live: &'a Arc<Live>,
    seed: u64,
}

impl PhaseContext<'_> {
    /// Runs the phase's executor.
    async fn drive(&self, load: &LoadSpec) -> PhaseRun {
        // Every open loop shares the seed and the in-flight cap; each executor sets the rest.
        let open = |rate, poisson, requests, duration| OpenLoop {
            rate,
            poisson,
            seed: self.seed,
            max_in_flight: load.max_in_flight.get(),
            requests,
            duration,
        };
        let (requests, duration) = (load.requests, load.duration.map(|d| d.0));
        let ramp = || LoadShape::Ramp {
            start: load.start.unwrap_or(0.0),
            stages: load.stages.iter().flatten().map(|s| (s.duration.0, s.target)).collect(),
        };
        let single = |(collected, dropped)| PhaseRun { collected, dropped, steps: Vec::new() };
        match (load.executor, load.ramp) {
            (Executor::Concurrency, _) => {
                let workers = LoadShape::Constant(f64::from(load.concurrency.map_or(1, |c| c.get())));
                single(self.run(Plan::Closed(ClosedLoop { workers, requests, duration })).await)
            }
            (Executor::Stages, Ramp::Concurrency) => {
                single(self.run(Plan::Closed(ClosedLoop { workers: ramp(), requests, duration })).await)
            }
            (Executor::Stages, Ramp::Rate) => single(self.run(Plan::Open(open(ramp(), false, requests, duration))).await),
            (Executor::Sweep, _) => {
                let mut phase = PhaseRun { collected: Collected::default(), dropped: 0, steps: Vec::new() };
                for rate in load.sweep_rates() {
                    if self.stop.is_stopped() {
                        break;
                    }
                    let started = Instant::now();
                    let plan = open(LoadShape::Constant(rate), false, None, load.step_duration.map(|d| d.0));
                    let (collected, dropped) = self.run(Plan::Open(plan)).await;
                    let duration_s = started.elapsed().as_secs_f64();
                    phase.collected.merge(collected.clone());
                    phase.dropped += dropped;
                    phase.steps.push(SweepStep { rate, duration_s, dropped, collected });
                }
                phase
            }
            (executor @ (Executor::ConstantRate | Executor::Poisson), _) => {
                let rate = LoadShape::Constant(load.rate.unwrap_or(0.0));
                single(self.run(Plan::Open(open(rate, executor == Executor::Poisson, requests, duration))).await)
            }
        }
    }

    /// Runs one loop with its own collector; returns what it collected and how many
    /// requests its open loop dropped.
    async fn run(&self, plan: Plan) -> (Collected, u64) {
        let (tx, rx) = mpsc::unbounded_channel();
        let names = self.requests.iter().map(|r| r.name.clone()).collect();
        let twins = crate::load::collect::stream_twins(self.requests);
        let collector = tokio::spawn(collect(names, twins, self.run_start, rx));
        let dropped = Arc::new(AtomicU64::new(0));
        let wiring = Wiring::new(
            self.client.clone(),
            self.requests.clone(),
            self.picker.clone(),
            self.stop.clone(),
            tx,
            self.live.clone(),
        );
        match plan {
            Plan::Closed(p) => run_closed_loop(wiring, p, self.grace).await,
            Plan::Open(p) => run_open_loop(wiring, p, self.grace, dropped.clone()).await,
        }
        // The collector ends when the last worker drops its sender; it cannot panic.
        (collector.await.unwrap_or_default(), dropped.load(Ordering::SeqCst))
    }
}

/// The report's description of a load.
fn load_info(load: &LoadSpec) -> LoadInfo {
    let stages = load.executor == Executor::Stages;
    let closed = load.executor == Executor::Concurrency || (stages && load.ramp == Ramp::Concurrency);
    LoadInfo {
        executor: load.executor.id().to_owned(),
        concurrency: load.concurrency.map(|c| c.get()),
        rate: load.rate,
        ramp: stages.then(|| load.ramp.id().to_owned()),
        levels: if stages {
            std::iter::once(load.start.unwrap_or(0.0)).chain(load.stages.iter().flatten().map(|s| s.target)).collect()
        } else {
            Vec::new()
        },
        rates: load.sweep_rates(),
        max_in_flight: (!closed).then(|| load.max_in_flight.get()),
        requests: load.requests,
        duration_s: load.duration.map(|d| d.0.as_secs_f64()),
    }
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
