//! One run from scenario file to report folder: start the target, drive the load,
//! collect and write the report.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::client::tls::Alpn;
use crate::client::{ApiKey, AuthStyle, Client, Target, Timeouts};
use crate::load::capture::{CaptureMode, Captures};
use crate::load::collect::{collect, Blocker, Collected, Sinks};
use crate::load::records::Records;
use crate::load::progress::{self, Live};
use crate::load::segment::Segment;
use crate::load::{run_closed_loop, run_open_loop, ClosedLoop, LoadShape, OpenLoop, Picker, Stop, Wiring};
use crate::mock::latency::LatencyModel;
use crate::mock::reply::OutputLength;
use crate::mock::{MockConfig, MockServer};
use crate::protocol::ANTHROPIC_VERSION;
use crate::report::PhaseReport;
use crate::report::{self, timefmt, LoadInfo, Report, RunInfo, ScenarioInfo, TargetInfo};
use crate::report::comparison::Comparison;
use crate::rng::Rng;
use crate::scenario::target::{MOCK_TOKENS_PER_S, MOCK_TTFT};
use super::result::{Exit, Finished, RunError, RunOptions, TargetRun};
use crate::scenario::{self, Executor, GoodputSpec, LoadSpec, PreparedRequest, Ramp, Scenario, TargetKind, TargetSpec};

/// Key the embedded mock accepts when a scenario targets it in-process, and the default
/// of `relaybench mock`.
pub const MOCK_KEY: &str = "relaybench-mock-key";

/// How long requests in flight may finish after an interruption.
pub const INTERRUPT_GRACE: Duration = Duration::from_secs(5);

/// Loads the scenario at `path` and runs it.
pub async fn run_file(path: &Path, options: &RunOptions) -> Result<Finished, RunError> {
    let scenario = scenario::load_with(path, &options.sets)?;
    run(&scenario, path, options).await
}

/// A target ready to be sent load: its client settings, its mock if any, and the
/// scenario's templates built for its model.
struct ReadyTarget {
    spec: TargetSpec,
    target: Target,
    /// Where its requests go, for messages and the report.
    uri: String,
    /// The embedded mock serving it; lives as long as the run.
    _mock: Option<MockServer>,
    model: String,
    requests: Arc<[PreparedRequest]>,
    picker: Picker,
    stop: Arc<Stop>,
    /// Loops run against it so far (phases, sweep steps); see [`PhaseContext::loops`].
    loops: Arc<AtomicU64>,
    /// Its capture files so far.
    captures: Arc<Captures>,
    /// Its `requests.jsonl`, when the run writes one.
    records: Option<Arc<Records>>,
    /// Its stop conditions, when the scenario gives any.
    abort: Option<Arc<crate::load::abort::Abort>>,
    /// Its prices for its model, and where they came from.
    prices: Option<(crate::provider::Prices, &'static str)>,
    /// The proxy its requests go through, by name.
    proxy: Option<String>,
}

/// Runs a loaded scenario: every target gets the same phases at the same time, so a
/// slow minute of the network hits all of them alike.
pub async fn run(scenario: &Scenario, path: &Path, options: &RunOptions) -> Result<Finished, RunError> {
    // Every target is resolved (keys read, mocks started, URLs checked) before anything
    // is sent, so a missing key stops the run with nothing sent.
    let phases = scenario.phases();
    match crate::load::open_files::ensure(crate::load::open_files::needs(scenario)) {
        Ok(Some(warning)) if !options.quiet => eprintln!("relaybench: {warning}"),
        Ok(_) => {}
        Err(why) => return Err(RunError::OpenFiles(why)),
    }
    let probe_timeouts = phases.first().map_or_else(Timeouts::default, |p| p.load.timeouts());
    let capture = options.capture.unwrap_or(scenario.capture);
    let out = options.out.clone().unwrap_or_else(|| scenario.output.clone());
    let mut ready = Vec::new();
    for spec in scenario.targets() {
        let (target, mock) = resolve_target(&spec, scenario.seed).await?;
        let probe_client = Client::new(&target, probe_timeouts)?;
        let (uri, proxy) = (probe_client.uri().to_string(), probe_client.proxy().map(str::to_owned));
        if target.net.tls.insecure {
            eprintln!("relaybench: target {}: WARNING: {}", spec.name, crate::client::tls::INSECURE_WARNING);
        }
        let model = spec.model.clone().unwrap_or_else(|| scenario.model.clone());
        let requests: Arc<[_]> = scenario.prepared_requests(&model).into();
        let picker = Picker::new(&requests, scenario.seed);
        let captures = Arc::new(Captures::new(capture));
        let given = spec.prices.and_then(|p| p.resolve(&model)).map(|p| (p, "the scenario or the catalog"));
        let prices = given.or_else(|| crate::provider::list_prices(&model).map(|p| (p, crate::provider::LIST_PRICES_READ)));
        // The run's thresholds with abort_on_fail are judged as the requests end, with the
        // abort: conditions.
        let aborting: Vec<_> = scenario.thresholds.iter().filter(|t| t.abort_on_fail).cloned().collect();
        let abort = (scenario.abort.is_some() || !aborting.is_empty()).then(|| {
            let rules = scenario.abort.map(|a| abort_rules(&a)).unwrap_or_default();
            Arc::new(crate::load::abort::Abort::with_thresholds(rules, prices.map(|p| p.0), aborting))
        });
        ready.push(ReadyTarget { spec, target, uri, _mock: mock, model, requests, picker, stop: Arc::default(), loops: Arc::default(), captures, records: None, abort, prices, proxy });
    }

    // Found now, not after the load: a report that cannot be written loses the run.
    check_writable(&out).map_err(|source| RunError::Report { dir: out.clone(), source })?;
    let metrics_listener = match options.metrics_listen {
        Some(addr) => Some(crate::load::exporter::bind(addr).await.map_err(|source| RunError::Metrics { addr, source })?),
        None => None,
    };
    let records = options.records.unwrap_or(scenario.records);
    if records != crate::scenario::RecordsMode::Off {
        for (i, t) in ready.iter_mut().enumerate() {
            // Staged beside the report folder, which is made when the run ends.
            let staging = out.join(format!(".relaybench-records-{}-{i}.jsonl", std::process::id()));
            t.records = Some(Arc::new(Records::create(&staging, records).map_err(|source| RunError::Report { dir: out.clone(), source })?));
        }
    }
    let interrupted = Arc::new(AtomicBool::new(false));
    let stops: Vec<Arc<Stop>> = ready.iter().map(|t| t.stop.clone()).collect();
    let signals = options.handle_signals.then(|| tokio::spawn(watch_signals(stops, interrupted.clone())));
    if !options.quiet {
        // Printed once signals are handled, so an interrupt from now on yields a report.
        let urls: Vec<&str> = ready.iter().map(|t| t.uri.as_str()).collect();
        eprintln!(
            "relaybench: running `{}` against {} (Ctrl-C stops and writes a partial report)",
            scenario.name,
            urls.join(", ")
        );
    }
    // Probes and feature cases go to every target at once; each target gets them in order.
    let mut tasks = Vec::new();
    // In a split run only the first worker sends them: they are not load.
    let first = options.segment.is_first();
    for t in &ready {
        let job = super::checks::CheckJob {
            target: t.target.clone(),
            model: t.model.clone(),
            provider: t.spec.provider,
            probes: if first { scenario.probes(&t.model) } else { Vec::new() },
            features: if first { scenario.features.clone() } else { Vec::new() },
            calibrate: (first && scenario.calibrate).then_some(scenario.seed),
            scan: scenario.authenticity.clone().filter(|_| first).map(|scan| super::scan::ScanJob {
                target_name: t.spec.name.clone(),
                scan,
                provider: t.spec.provider,
                model: t.model.clone(),
                prices: t.spec.prices,
                quiet: options.quiet,
            }),
            timeouts: probe_timeouts,
        };
        let stop = t.stop.clone();
        tasks.push(tokio::spawn(async move { super::checks::run(job, &stop).await }));
    }
    let mut checked = Vec::new();
    for task in tasks {
        // The task only sends requests and cannot panic.
        checked.push(task.await.unwrap_or_else(|_| Ok(super::checks::Checked::default()))?);
    }
    let names: Vec<String> = ready.iter().map(|t| t.spec.name.clone()).collect();
    let references: Vec<bool> = ready.iter().map(|t| t.spec.reference).collect();
    super::checks::judge_tokens(&mut checked, &names, &references, scenario.reference.as_deref());
    // The first phase's warm-up runs before the clock starts: the run's time is its load's.
    let mut first_clients = match phases.first() {
        Some(first) => Some(phase_clients(&ready, first, capture).await?),
        None => None,
    };
    if let (Some(at), Some(t)) = (options.start_at, ready.first()) {
        wait_for_start(at, options.quiet, &t.stop).await;
    }
    let started_at = SystemTime::now();
    let run_start = Instant::now();
    let live = Arc::new(Live::default());
    let exporter = metrics_listener.map(|listener| {
        let exporter = Arc::new(crate::load::exporter::Exporter::new(live.clone()));
        if let (Ok(addr), false) = (listener.local_addr(), options.quiet) {
            eprintln!("relaybench: live metrics on http://{addr}/metrics");
        }
        (exporter.clone(), tokio::spawn(crate::load::exporter::serve(listener, exporter)))
    });
    let monitor = crate::load::saturation::Monitor::start();
    let mut planned = progress::Planned::of(phases.iter().map(|p| p.load.planned()));
    planned.requests = planned.requests.map(|n| n * ready.len() as u64);
    let progress = (!options.quiet).then(|| tokio::spawn(progress::report(live.clone(), run_start, planned)));
    // runs[target]: the phases it ran.
    let mut runs: Vec<Vec<PhaseRun>> = ready.iter().map(|_| Vec::new()).collect();
    for (index, spec) in phases.iter().enumerate() {
        let clients = match first_clients.take() {
            Some(clients) => clients,
            None => phase_clients(&ready, spec, capture).await?,
        };
        let start_s = run_start.elapsed().as_secs_f64();
        // (target index, its task), for the targets still running.
        let mut tasks = Vec::new();
        for ((i, t), client) in ready.iter().enumerate().zip(clients).filter(|((_, t), _)| !t.stop.is_stopped()) {
            let Some(client) = client else { continue };
            let ctx = PhaseContext {
                client,
                requests: t.requests.clone(),
                picker: t.picker.clone(),
                stop: t.stop.clone(),
                grace: INTERRUPT_GRACE.min(spec.load.timeout.0),
                run_start,
                live: live.clone(),
                seed: scenario.seed,
                loops: t.loops.clone(),
                sinks: Sinks {
                    captures: t.captures.clone(),
                    records: t.records.clone(),
                    phase: spec.name.clone(),
                    exporter: exporter.as_ref().map(|(e, _)| (e.clone(), t.spec.name.clone())),
                },
                goodput: scenario.goodput,
                retry: scenario.retry.policy().map(Arc::new),
                abort: t.abort.clone(),
                segment: options.segment,
            };
            let load = spec.load.clone();
            tasks.push((i, tokio::spawn(async move {
                let started = Instant::now();
                let mut run = ctx.drive(&load).await;
                (run.index, run.start_s, run.duration_s) = (index, start_s, started.elapsed().as_secs_f64());
                run
            })));
        }
        if tasks.is_empty() {
            break;
        }
        for (i, task) in tasks {
            // A phase task that failed (a panic) fails its target's run, never silently.
            let run = task.await.unwrap_or_else(|e| {
                ready[i].stop.stop();
                failed_phase(index, e)
            });
            runs[i].push(run);
        }
    }
    let duration_s = run_start.elapsed().as_secs_f64();
    let client_load = monitor.finish().await;
    if let Some(task) = signals {
        task.abort();
    }
    if let Some(task) = progress {
        task.abort();
        progress::clear();
    }

    let partial = interrupted.load(Ordering::SeqCst);
    let started_text = timefmt::rfc3339(started_at);
    let dir = report::create_report_dir(&out, &scenario.name, &timefmt::compact(started_at))
        .map_err(|source| RunError::Report { dir: out.clone(), source })?;
    let several = ready.len() > 1;
    let mut targets = Vec::new();
    let mut built = Vec::new();
    for ((t, mut runs), checks) in ready.iter().zip(runs).zip(checked) {
        let info = RunInfo {
            scenario: ScenarioInfo {
                name: scenario.name.clone(),
                file: path.display().to_string(),
                description: scenario.description.clone(),
                seed: scenario.seed,
            },
            target: target_info(t),
            dropped: 0,
            templates: t.requests.iter().map(|r| (r.name.clone(), r.weight.get(), r.stream)).collect(),
            started_at: started_text.clone(),
            duration_s,
            partial,
            stopped_early: None,
            goodput: scenario.goodput,
            usd_rate: t.prices.and_then(|(p, _)| scenario.fx.get(p.currency.code()).copied()),
        };
        let (mut report, blocker, captures) = target_report(scenario, &phases, info, &mut runs, &checks.probes, &checks.features, checks.scan);
        report.calibration = checks.calibration;
        report.segment = (options.segment.count > 1).then_some(options.segment);
        if report.segment.is_none() {
            report.drop_part_sums();
        }
        if let Some(tokenizer) = checks.tokenizer {
            let section = report.authenticity.get_or_insert_with(|| report::authenticity::AuthenticityInfo { models: Vec::new(), gateways: Vec::new(), scan: None, tokenizer: None });
            section.tokenizer = Some(tokenizer);
        }
        report.client = Some(client_load.clone());
        report.aborted = t.abort.as_ref().and_then(|a| a.reason());
        if report.stopped_early.is_none() {
            report.stopped_early.clone_from(&report.aborted);
        }
        built.push((report, blocker, captures));
    }
    // Judged across targets, before any report is written.
    if let Some(reference) = ready.iter().position(|t| t.spec.reference) {
        let mut reports: Vec<&mut Report> = built.iter_mut().map(|(r, _, _)| r).collect();
        report::held::against_reference(&mut reports, reference);
    }
    for (t, (report, blocker, captures)) in ready.iter().zip(built) {
        let target_dir = if several { dir.join(&t.spec.name) } else { dir.clone() };
        std::fs::create_dir_all(&target_dir)
            .and_then(|()| report::write(&report, &target_dir))
            .and_then(|()| report::write_captures(&captures, &target_dir))
            .and_then(|()| t.records.as_ref().map_or(Ok(()), |r| r.finish(&target_dir)))
            .map_err(|source| RunError::Report { dir: target_dir.clone(), source })?;
        targets.push(TargetRun { report, dir: target_dir, blocker });
    }
    let comparison = several.then(|| {
        let reports: Vec<(&Report, &str)> = targets.iter().map(|t| (&t.report, t.dir.file_name().and_then(|n| n.to_str()).unwrap_or(""))).collect();
        Comparison::new(&reports)
    });
    if let Some(c) = &comparison {
        let reports: Vec<&Report> = targets.iter().map(|t| &t.report).collect();
        report::files::write_comparison(c, &reports, &dir).map_err(|source| RunError::Report { dir: dir.clone(), source })?;
    }
    if let Some((_, server)) = exporter {
        // The final counts stay up for a scraper's next visit (not past an interruption).
        if let Some(linger) = options.metrics_linger.filter(|_| !partial) {
            if !options.quiet {
                eprintln!("report written; /metrics stays up {:.0} s more (--metrics-linger)", linger.as_secs_f64());
            }
            tokio::time::sleep(linger).await;
        }
        server.abort();
    }
    Ok(Finished { targets, dir, comparison })
}

/// Sleeps until `at` (Unix seconds), the common start of a split run's workers; one that
/// is already late starts at once and says by how much (its requests show it as send lag).
async fn wait_for_start(at: f64, quiet: bool, stop: &Stop) {
    let now = crate::conformance::limits::unix_now();
    if at > now {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs_f64((at - now).min(86_400.0))) => {}
            _ = stop.wait() => {}
        }
    } else if !quiet {
        eprintln!("relaybench: --start-at was {:.3} s ago; starting now", now - at);
    }
}

/// How a target is named in its report.
fn target_info(t: &ReadyTarget) -> TargetInfo {
    TargetInfo {
        name: t.spec.name.clone(),
        provider: t.spec.provider.map(|p| p.id.to_owned()),
        kind: match t.spec.kind {
            TargetKind::Mock(_) => "mock",
            TargetKind::Http(_) => "http",
        }
        .to_owned(),
        url: t.uri.clone(),
        model: t.model.clone(),
        http2: t.target.net.alpn == Alpn::Http2,
        proxy: t.proxy.clone(),
        connect_to: t.target.net.connect_to.clone(),
        tls_insecure: t.target.net.tls.insecure,
        prices: t.prices.map(|(p, source)| report::PricesInfo::new(&p, source)),
    }
}

/// Creates `out` if needed and writes (then removes) a file in it.
fn check_writable(out: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(out)?;
    let probe = out.join(format!(".relaybench-write-check-{}", std::process::id()));
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(&probe)
}

/// The gate every run gets unless its scenario judges `error_rate` itself.
pub const DEFAULT_GATE: &str = "error_rate < 100%";

/// One target's report from its phases, and what blocked it, if anything.
fn target_report(
    scenario: &Scenario,
    phases: &[scenario::PhaseSpec],
    mut info: RunInfo,
    runs: &mut [PhaseRun],
    probes: &[crate::probes::ProbeResult],
    features: &[crate::features::FeatureResult],
    scan: Option<(crate::conformance::channel::Evidence, report::authenticity::ScanInfo)>,
) -> (Report, Option<Blocker>, Vec<crate::load::capture::CaptureFile>) {
    let mut collected = Collected::default();
    // The captured bytes (up to 100 MiB) are moved out, not copied with the rest.
    let mut captures = Vec::new();
    for run in runs.iter_mut() {
        captures.append(&mut run.collected.captures);
        collected.merge(run.collected.clone());
        info.dropped += run.dropped;
    }
    let name = &info.target.name;
    info.stopped_early = match (&collected.blocker, info.partial) {
        (Some(Blocker::Unreachable(d)), _) => Some(format!("{name}: target unreachable: {d}")),
        (Some(Blocker::AuthRejected(d)), _) => Some(format!("{name}: authentication refused on every request: {d}")),
        (Some(Blocker::Internal(d)), _) => Some(format!("{name}: internal error, the results cannot be trusted: {d}")),
        (None, true) => Some("interrupted by signal".to_owned()),
        (None, false) => None,
    };
    // A part of the run (a phase, a sweep step) reported as if it were a run of its own.
    let part = |collected: &Collected, duration_s: f64, dropped: u64| {
        report::build(RunInfo { duration_s, dropped, ..info.clone() }, collected, &[], &[])
    };
    let phase_reports = runs
        .iter()
        .map(|run| {
            let spec = &phases[run.index];
            let sweep = (!run.steps.is_empty()).then(|| {
                let steps = run.steps.iter().map(|s| {
                    let mut step = report::sweep::step(s.rate, &part(&s.collected, s.duration_s, s.dropped), &spec.load.slo, s.cut);
                    step.skipped.clone_from(&s.skipped);
                    step
                });
                report::SweepReport::new(steps.collect())
            });
            let alone = part(&run.collected, run.duration_s, run.dropped);
            PhaseReport::new(&spec.name, run.start_s, &alone, LoadInfo::of(&spec.load), &spec.thresholds, sweep)
        })
        .collect();
    let scan = scan.map(|(evidence, info)| {
        collected.channels.merge(&evidence);
        info
    });
    let mut report = report::build(info, &collected, probes, features);
    if let Some(a) = &mut report.authenticity {
        a.scan = scan;
    }
    report.phases = phase_reports;
    report.thresholds = scenario.thresholds.iter().map(|t| report::gate::evaluate(t, &report)).collect();
    // A run in which every request failed never passes silently: unless the scenario
    // judges the error rate itself, the default gate does.
    let phase_thresholds = phases.iter().flat_map(|p| &p.thresholds);
    if !scenario.thresholds.iter().chain(phase_thresholds).any(|t| t.subject == crate::thresholds::Subject::ErrorRate) {
        if let Ok(mut default) = crate::thresholds::parse(DEFAULT_GATE) {
            default.text.push_str(report::gate::DEFAULT_MARK);
            report.thresholds.push(report::gate::evaluate(&default, &report));
        }
    }
    (report, collected.blocker, captures)
}

/// The record of phase `index` whose task failed: nothing collected, and a blocker that
/// makes the run exit 3 with the reason.
fn failed_phase(index: usize, e: tokio::task::JoinError) -> PhaseRun {
    let why = match e.try_into_panic() {
        Ok(p) => p.downcast_ref::<&str>().map(|s| (*s).to_owned()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_else(|| "a panic".to_owned()),
        Err(_) => "the task was cancelled".to_owned(),
    };
    let collected = Collected { blocker: Some(Blocker::Internal(format!("a load task failed: {why}"))), ..Collected::default() };
    PhaseRun { index, collected, ..PhaseRun::default() }
}

/// What one phase collected against one target.
#[derive(Default)]
struct PhaseRun {
    /// Which phase of the scenario.
    index: usize,
    /// When it began, seconds after the run began.
    start_s: f64,
    /// How long it ran.
    duration_s: f64,
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
    /// The run stopped during the step.
    cut: bool,
    /// Not run: an earlier step was saturated (the reason, on the first skipped).
    skipped: Option<String>,
}

/// One loop of load.
enum Plan {
    Closed(ClosedLoop),
    Open(OpenLoop),
}

/// The scenario's stop conditions with their defaults filled in.
fn abort_rules(a: &crate::scenario::abort_spec::AbortSpec) -> crate::load::abort::AbortRules {
    let defaults = crate::load::abort::AbortRules::default();
    crate::load::abort::AbortRules {
        error_rate: a.error_rate,
        window: a.window.map_or(defaults.window, |w| w.0),
        min_requests: a.min_requests.unwrap_or(defaults.min_requests),
        consecutive_failures: a.consecutive_failures,
        tokens: a.tokens,
        cost: a.cost,
        after: a.after.map_or(defaults.after, |d| d.0),
    }
}

/// Everything a phase against one target needs; cheap clones, so it moves into a task.
struct PhaseContext {
    client: Client,
    requests: Arc<[PreparedRequest]>,
    picker: Picker,
    stop: Arc<Stop>,
    grace: Duration,
    run_start: Instant,
    live: Arc<Live>,
    seed: u64,
    /// Loops run so far against this target (phases, sweep steps): each gets its own
    /// body seed.
    loops: Arc<AtomicU64>,
    /// The per-request SLO of goodput.
    goodput: Option<GoodputSpec>,
    /// The target's capture files and records, and the phase's name.
    sinks: Sinks,
    /// The scenario's retry policy.
    retry: Option<Arc<crate::retry::Policy>>,
    /// The target's stop conditions.
    abort: Option<Arc<crate::load::abort::Abort>>,
    /// This worker's share of a split run.
    segment: Segment,
}

impl PhaseContext {
    /// Runs the phase's executor.
    async fn drive(&self, load: &LoadSpec) -> PhaseRun {
        // Every open loop shares the seed and the in-flight cap; each executor sets the rest.
        let open = |rate, poisson, requests, duration| OpenLoop {
            rate,
            poisson,
            seed: self.seed,
            max_in_flight: self.segment.share(u64::from(load.max_in_flight.get())).max(1) as u32,
            requests,
            duration,
            arrivals: None,
            segment: self.segment,
        };
        let (requests, duration) = (load.requests, load.duration.map(|d| d.0));
        let ramp = || LoadShape::Ramp {
            start: load.start.unwrap_or(0.0),
            stages: load.stages.iter().flatten().map(|s| (s.duration.0, s.target)).collect(),
        };
        let single = |(collected, dropped)| PhaseRun { collected, dropped, ..PhaseRun::default() };
        match (load.executor, load.ramp) {
            (Executor::Concurrency, _) => {
                let workers = LoadShape::Constant(f64::from(load.concurrency.map_or(1, |c| c.get())));
                single(self.run(Plan::Closed(ClosedLoop { workers, requests, duration, segment: self.segment })).await)
            }
            (Executor::Stages, Ramp::Concurrency) => {
                single(self.run(Plan::Closed(ClosedLoop { workers: ramp(), requests, duration, segment: self.segment })).await)
            }
            (Executor::Stages, Ramp::Rate) => single(self.run(Plan::Open(open(ramp(), false, requests, duration))).await),
            (Executor::Sweep, _) => {
                let mut phase = PhaseRun::default();
                let mut saturated: Option<String> = None;
                for rate in load.sweep_rates() {
                    if self.stop.is_stopped() {
                        break;
                    }
                    // Past a saturated step, a higher rate only adds load nobody learns from.
                    if let Some(why) = &saturated {
                        let empty = Collected { per_template: vec![0; self.requests.len()], ..Collected::default() };
                        phase.steps.push(SweepStep { rate, duration_s: 0.0, dropped: 0, collected: empty, cut: false, skipped: Some(why.clone()) });
                        continue;
                    }
                    let started = Instant::now();
                    let plan = open(LoadShape::Constant(rate), false, None, load.step_duration.map(|d| d.0));
                    let (mut collected, dropped) = self.run(Plan::Open(plan)).await;
                    let duration_s = started.elapsed().as_secs_f64();
                    // The captured bytes move to the phase, not copied with the rest.
                    phase.collected.captures.append(&mut collected.captures);
                    phase.collected.merge(collected.clone());
                    phase.dropped += dropped;
                    let cut = self.stop.is_stopped();
                    if load.stop_when_saturated {
                        // A worker of a split run is due its share of the step's rate.
                        let due = rate / f64::from(self.segment.count);
                        saturated = crate::report::sweep::saturated(due, collected.recorder.requests, collected.recorder.count(crate::outcome::OutcomeKind::Ok), duration_s);
                    }
                    phase.steps.push(SweepStep { rate, duration_s, dropped, collected, cut, skipped: None });
                }
                phase
            }
            (Executor::Trace, _) => {
                let mut plan = open(LoadShape::Constant(0.0), false, requests, duration);
                plan.arrivals = load.replay.clone().map(|t| (t, load.speed.unwrap_or(1.0)));
                single(self.run(Plan::Open(plan)).await)
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
        let twins = crate::load::collect::stream_twins(&self.requests);
        let collector = tokio::spawn(collect(names, twins, self.goodput, self.run_start, self.sinks.clone(), rx));
        let dropped = Arc::new(AtomicU64::new(0));
        let mut wiring = Wiring::new(
            self.client.clone(),
            self.requests.clone(),
            self.picker.clone(),
            self.stop.clone(),
            tx,
            self.live.clone(),
            Rng::derive(self.seed, self.loops.fetch_add(1, Ordering::SeqCst)).next_u64(),
        );
        wiring.retry = self.retry.clone();
        wiring.abort = self.abort.clone();
        if let Plan::Open(OpenLoop { arrivals: Some((trace, _)), .. }) = &plan {
            wiring.trace = Some(trace.clone());
        }
        match plan {
            Plan::Closed(p) => {
                run_closed_loop(wiring, p, self.grace).await;
            }
            Plan::Open(p) => run_open_loop(wiring, p, self.grace, dropped.clone()).await,
        }
        // The collector ends when the last worker drops its sender; it cannot panic.
        let collected = collector.await.unwrap_or_else(|e| failed_phase(0, e).collected);
        (collected, dropped.load(Ordering::SeqCst))
    }
}

/// Each target's client for the phase `spec` (None for a target that stopped), warmed up
/// first, all targets at once, when the phase asks for it.
async fn phase_clients(ready: &[ReadyTarget], spec: &scenario::PhaseSpec, capture: CaptureMode) -> Result<Vec<Option<Client>>, RunError> {
    let mut clients = Vec::with_capacity(ready.len());
    let mut warming = Vec::new();
    for t in ready {
        let client = match t.stop.is_stopped() {
            true => None,
            false => {
                let mut target = t.target.clone();
                target.net.no_reuse = !spec.load.keep_alive;
                Some(Client::new(&target, spec.load.timeouts())?.with_capture(capture != CaptureMode::None))
            }
        };
        if let (Some(client), Some(count)) = (&client, spec.load.warmup) {
            let at_once = spec.load.concurrency.map_or(spec.load.max_in_flight.get(), |c| c.get());
            let (client, requests, stop) = (client.clone(), t.requests.clone(), t.stop.clone());
            warming.push(tokio::spawn(async move { crate::load::warmup::warm_up(&client, &requests, count, at_once, &stop).await }));
        }
        clients.push(client);
    }
    for task in warming {
        // A warm-up only sends; its outcomes are dropped either way.
        let _ = task.await;
    }
    Ok(clients)
}

/// The client settings for a target, starting the embedded mock when it is the target
/// (a TLS mock writes its CA to the temporary folder). The mock lives as long as the
/// returned handle.
async fn resolve_target(spec: &TargetSpec, seed: u64) -> Result<(Target, Option<MockServer>), RunError> {
    match &spec.kind {
        TargetKind::Mock(mock) => {
            let mut config = MockConfig::new(MOCK_KEY);
            config.seed = seed;
            let plain = LatencyModel { ttft: MOCK_TTFT, tokens_per_s: MOCK_TOKENS_PER_S, jitter: mock.jitter, prefill_per_token: Duration::ZERO };
            // An impersonated provider brings its stand-in latency; the scenario's wins.
            let base = mock.profile.map_or(plain, |p| crate::mock::profile::latency(p, plain));
            config.latency = LatencyModel {
                ttft: mock.ttft.map_or(base.ttft, |t| t.0),
                tokens_per_s: mock.tokens_per_s.unwrap_or(base.tokens_per_s),
                jitter: mock.jitter,
                prefill_per_token: mock.prefill_per_token.map_or(Duration::ZERO, |p| p.0),
            };
            config.capacity = mock.capacity.map(|k| k.get() as usize);
            config.stall = mock.stall.map(|s| crate::mock::Stall { after: s.after.0, length: s.length.0 });
            config.overload = mock.overload.map(|o| crate::mock::Overload { share: o.share, retry_after: o.retry_after.0 });
            if let Some(r) = mock.rate_limit {
                config.rate_limit = Some(crate::mock::limiter::RateLimit {
                    requests_per_minute: r.requests_per_minute,
                    input_tokens_per_minute: r.input_tokens_per_minute,
                    output_tokens_per_minute: r.output_tokens_per_minute,
                });
            }
            config.channel = mock.channel.unwrap_or_default();
            config.gateway = mock.gateway;
            if let Some(profile) = mock.profile {
                crate::mock::profile::apply(profile, &mut config);
            }
            if mock.quirk.is_some() {
                config.quirk = mock.quirk;
            }
            config.output = OutputLength { min: mock.output_tokens[0], max: mock.output_tokens[1] };
            if mock.tls {
                // Beside the report folders, not among them: one run's certificates.
                let dir = std::env::temp_dir().join(format!("relaybench-mock-certs-{}", std::process::id())).join(&spec.name);
                config.tls = Some(crate::mock::tls::generate(&dir).map_err(|e| RunError::Mock(std::io::Error::other(e.to_string())))?);
            }
            let server = MockServer::start_local(config).await.map_err(RunError::Mock)?;
            let mut net = crate::client::NetOptions { alpn: if mock.http2 { Alpn::Http2 } else { Alpn::Http1 }, ..Default::default() };
            net.tls.ca_file = server.ca_file().map(Path::to_path_buf);
            // Requests are built as for the impersonated provider: its auth header and
            // its anthropic-version.
            let target = Target {
                base_url: server.base_url(),
                auth: mock.profile.map_or(AuthStyle::XApiKey, |p| p.auth),
                api_key: ApiKey::new(MOCK_KEY),
                anthropic_version: mock.profile.map_or(Some(ANTHROPIC_VERSION), |p| p.anthropic_version).map(str::to_owned),
                headers: Vec::new(),
                net,
            };
            Ok((target, Some(server)))
        }
        TargetKind::Http(http) => {
            let key = std::env::var(&http.api_key_env).ok().filter(|k| !k.is_empty());
            let Some(key) = key else {
                return Err(RunError::MissingKey {
                    target: spec.name.clone(),
                    url: http.base_url.clone(),
                    var: http.api_key_env.clone(),
                });
            };
            let target = http.client_target(ApiKey::new(key)).map_err(|e| RunError::Client(crate::client::ClientError::Proxy(e)))?;
            Ok((target, None))
        }
    }
}

/// First SIGINT/SIGTERM: stop scheduling, let requests in flight finish within the grace
/// period, and write a partial report. Second: cut the requests in flight (each recorded
/// as cancelled) and write the report now. Third: exit at once; reports are written
/// atomically, so none is left half-written.
async fn watch_signals(stops: Vec<Arc<Stop>>, interrupted: Arc<AtomicBool>) {
    signal().await;
    interrupted.store(true, Ordering::SeqCst);
    for stop in &stops {
        stop.stop();
    }
    eprintln!("relaybench: interrupted; finishing requests in flight (up to {}s), then writing the partial report. Interrupt again to cut them now.", INTERRUPT_GRACE.as_secs());
    signal().await;
    for stop in &stops {
        stop.cut();
    }
    eprintln!("relaybench: interrupted again; cutting requests in flight and writing the partial report. Interrupt a third time to quit without it.");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_load_task_fails_the_run_with_its_reason() {
        let e = tokio::spawn(async { panic!("boom in a phase") }).await.expect_err("the task panicked");
        let run = failed_phase(2, e);
        assert_eq!(run.index, 2);
        let Some(Blocker::Internal(why)) = &run.collected.blocker else { panic!("no blocker: {:?}", run.collected.blocker) };
        assert!(why.contains("boom in a phase"), "{why}");
        // A blocked target exits 3, whatever its report says.
        let report = report::build(RunInfo::example(), &run.collected, &[], &[]);
        assert_eq!((report.conformance.violations, report.thresholds.len()), (0, 0), "nothing else would fail it");
        let target = TargetRun { report, dir: std::path::PathBuf::new(), blocker: run.collected.blocker };
        assert_eq!(target.exit(), Exit::CannotProceed);
    }
}
