//! `report.html`: one run's report as a self-contained page — the verdict first, then a
//! sweep's answer, the latency distributions with their thresholds, the run over time,
//! the breakdowns, and the findings with their excerpts. Drawn from report.json alone, so
//! `relaybench report` renders a saved report to the same bytes.

use super::charts::{self, Band, BarGroup, Line, LineChart, Mark};
use super::lines::{self, all_thresholds, metric_rows, METRIC_COLUMNS};
use super::model::{decode_histogram, MetricSummary, PhaseReport, Report, SecondInfo, SweepReport};
use super::page::{escape, file_link, Page};
use crate::features::Status;
use crate::metrics::{Metric, Unit};
use crate::thresholds::{Stat, Subject};

pub use super::names::REPORT_HTML;

/// Chart titles, defined once: the page draws them and the browser test looks for them.
pub mod titles {
    /// The requests started and ended per second.
    pub const RATE: &str = "Requests per second";
    /// Requests in flight.
    pub const IN_FLIGHT: &str = "Requests in flight";
    /// Errors per second by outcome.
    pub const ERRORS: &str = "Errors per second by kind";
    /// TTFT per second.
    pub const TTFT: &str = "TTFT per second";
    /// Output tokens per second.
    pub const TOKENS: &str = "Output tokens per second";
    /// What the rate-limit headers left, against the requests sent.
    pub const RATE_LIMITS: &str = "Rate limits: remaining against requests sent";
    /// A sweep's achieved rate.
    pub const SWEEP_RATE: &str = "Sweep: achieved vs offered rate";
    /// A sweep's latencies.
    pub const SWEEP_LATENCY: &str = "Sweep: latency vs offered rate";
    /// A merged report's send lag per worker.
    pub const WORKER_LAG: &str = "Send lag by worker";
    /// A merged report's rate per worker.
    pub const WORKER_RATE: &str = "Requests per second by worker";
    /// The prefix of each metric's percentile plot.
    pub const DISTRIBUTION: &str = "Distribution of";
}

/// Renders the page of one run's report.
pub fn render(r: &Report) -> String {
    let mut page = Page::new(&format!("relaybench: {}", r.scenario.name));
    let swept = r.phases.iter().any(|p| p.sweep.is_some());
    let sections = [
        ("verdict", "Verdict"),
        ("workers", "Workers"),
        ("sweep", "Sweep"),
        ("latency", "Latency"),
        ("over-time", "Over time"),
        ("breakdowns", "Breakdowns"),
        ("outcomes", "Outcomes"),
        ("findings", "Findings"),
    ];
    let shown = |id: &str| match id {
        "sweep" => swept,
        "workers" => r.merge.is_some(),
        _ => true,
    };
    page.nav(&sections.into_iter().filter(|(id, _)| shown(id)).collect::<Vec<_>>());
    header(&mut page, r);
    verdict(&mut page, r);
    if let Some(m) = &r.merge {
        workers(&mut page, m);
    }
    sweeps(&mut page, r);
    latency(&mut page, r);
    over_time(&mut page, r);
    page.section("breakdowns", "Breakdowns");
    breakdowns(&mut page, r);
    page.section("outcomes", "Outcomes");
    outcomes(&mut page, r, "");
    findings(&mut page, r, "", ("findings", "Conformance findings"));
    page.finish()
}

fn header(page: &mut Page, r: &Report) {
    if let Some(warning) = super::network::warning(r.target.tls_insecure) {
        page.para(&warning);
    }
    let description = r.scenario.description.as_deref().map(|d| format!(" {d}")).unwrap_or_default();
    page.para(&format!(
        "Scenario {} ({}).{description} Target {} ({}), model {}; {}; started {}, {:.1} s, seed {}.",
        r.scenario.name,
        r.scenario.file,
        r.target.url,
        r.target.kind,
        r.target.model,
        lines::load_line(r),
        r.started_at,
        r.duration_s,
        r.scenario.seed
    ));
    page.para(&format!(
        "{} requests ({} streamed), error rate {:.2}%; {:.1} requests/s, {:.1} output tokens/s, {:.1} input tokens/s{}.",
        r.totals.requests,
        r.totals.streamed,
        r.totals.error_rate * 100.0,
        r.throughput.requests_per_s,
        r.throughput.output_tokens_per_s,
        r.throughput.input_tokens_per_s,
        r.throughput.cost_usd.map(|c| format!("; cost ${c:.4}")).unwrap_or_default()
    ));
}

/// The verdict section: conformance, every threshold with its measured value, probes and
/// feature cases.
pub fn verdict(page: &mut Page, r: &Report) {
    page.section("verdict", "Verdict");
    if r.partial {
        page.verdict(None, "PARTIAL", " The run was interrupted: this report holds what was collected.");
    }
    if let Some(why) = &r.stopped_early {
        page.verdict(Some(false), "STOPPED", &format!(" {why}"));
    }
    let c = &r.conformance;
    page.verdict(Some(c.verdict == "pass"), &c.verdict.to_uppercase(), &format!(" {}", lines::conformance_summary(r)));
    let thresholds: Vec<_> = all_thresholds(r).collect();
    if !thresholds.is_empty() {
        let failed = thresholds.iter().filter(|(_, t)| !t.passed).count();
        let word = if failed == 0 { "PASS" } else { "FAIL" };
        page.verdict(Some(failed == 0), word, &format!(" thresholds: {} of {} held", thresholds.len() - failed, thresholds.len()));
        let mut rows = vec![vec!["threshold".to_owned(), "judged on".to_owned(), "measured".to_owned(), "verdict".to_owned()]];
        for (phase, t) in thresholds {
            let observed = t.observed.map_or("no data".to_owned(), |v| format!("{v:.3}"));
            rows.push(vec![t.expression.clone(), phase.unwrap_or("whole run").to_owned(), observed, pass_word(t.passed).to_owned()]);
        }
        page.table(&rows);
    }
    if !r.probes.is_empty() {
        let passed = r.probes.iter().all(|p| p.passed);
        page.verdict(Some(passed), pass_word(passed), &format!(" {}", lines::probes_summary(r).unwrap_or_default()));
        let mut rows = vec![["probe", "expected", "received", "verdict"].map(str::to_owned).to_vec()];
        for p in &r.probes {
            let got = format!("{} {}", p.status.map_or("none".to_owned(), |s| s.to_string()), p.error_type.as_deref().unwrap_or("-"));
            rows.push(vec![p.name.clone(), format!("{} {}", p.expected_status, p.expected_error_type), got, pass_word(p.passed).to_owned()]);
        }
        page.table(&rows);
    }
    if !r.features.is_empty() {
        let failed = r.features.iter().any(|f| f.status == Status::Fail);
        page.verdict(Some(!failed), pass_word(!failed), &format!(" {}", lines::features_summary(r).unwrap_or_default()));
        let mut rows = vec![["feature", "what it exercises", "result", "why", "rules"].map(str::to_owned).to_vec()];
        for f in &r.features {
            rows.push(vec![f.name.clone(), f.text.clone(), f.status.id().to_uppercase(), f.detail.clone(), f.rules.join(", ")]);
        }
        page.table(&rows);
    }
    if let Some(a) = &r.authenticity {
        authenticity(page, a);
    }
    let connections = r.connections.as_ref().map(|c| c.line(r.target.proxy.as_deref(), r.target.connect_to.as_deref()));
    for line in [r.client.as_ref().map(|c| c.line()), r.calibration.as_ref().map(|c| c.line()), lines::goodput_line(r), connections].into_iter().flatten() {
        page.para(&line);
    }
}

/// A merged report's workers: the table, what stands out, and each worker's send lag and
/// rate drawn side by side so a slow pod shows at a glance.
fn workers(page: &mut Page, m: &super::MergeInfo) {
    page.section("workers", "Workers");
    page.para(&format!("{}.", super::workers::merge_line(m).replacen("merged", "Merged", 1)));
    for note in super::workers::notes(&m.workers) {
        page.verdict(None, "NOTE", &format!(" {note}"));
    }
    page.table(&super::workers::rows(&m.workers));
    let groups = |value: &dyn Fn(&super::WorkerInfo) -> Option<f64>| -> Vec<BarGroup> {
        m.workers.iter().map(|w| BarGroup { label: w.segment.to_string(), values: vec![value(w)] }).collect()
    };
    page.begin_charts();
    if m.workers.iter().any(|w| w.send_lag_p99_ms.is_some()) {
        let series = ["send lag p99".to_owned()];
        page.figure(charts::bar_chart(titles::WORKER_LAG, "ms", &series, &groups(&|w| w.send_lag_p99_ms)), &format!("{}: each worker's send lag p99 in ms, by segment.", titles::WORKER_LAG), &[]);
    }
    let series = ["requests/s".to_owned()];
    page.figure(charts::bar_chart(titles::WORKER_RATE, "requests/s", &series, &groups(&|w| Some(w.requests_per_s))), &format!("{}: each worker's requests per second, by segment.", titles::WORKER_RATE), &[]);
    page.end_charts();
}

/// The channel behind each model, and the fingerprints behind each verdict.
fn authenticity(page: &mut Page, a: &super::authenticity::AuthenticityInfo) {
    let mut rows = vec![["model", "channel", "evidence", "responses", "why"].map(str::to_owned).to_vec()];
    for m in &a.models {
        let capture = m.capture.as_deref().map(|c| format!(" (capture {c})")).unwrap_or_default();
        rows.push(vec![m.model.clone(), m.channel.clone(), m.confidence.clone(), m.responses.to_string(), format!("{}{capture}", m.reasons.join("; "))]);
    }
    page.table(&rows);
    for m in &a.models {
        let mut signals = vec![["fingerprint", "shape", "responses", "example"].map(str::to_owned).to_vec()];
        signals.extend(m.signals.iter().map(|s| vec![s.signal.clone(), s.shape.clone(), s.count.to_string(), s.example.clone()]));
        page.details(&format!("Fingerprints of {}", m.model), &signals);
    }
    if !a.gateways.is_empty() {
        page.para(&format!("Gateway software named by its headers: {}.", a.gateways.join(", ")));
    }
    if let Some(scan) = &a.scan {
        page.para(&format!("Model scan: {} of {} models from {}: {}.", scan.scanned, scan.models.len(), scan.source, scan.bound));
    }
}

fn pass_word(passed: bool) -> &'static str {
    if passed {
        "PASS"
    } else {
        "FAIL"
    }
}

/// The thresholds drawn on a metric's percentile plot: every bound on one of its
/// statistics, from the scenario's and the phases' thresholds.
fn bounds_of(r: &Report, metric: Metric) -> Vec<Mark> {
    all_thresholds(r)
        .filter_map(|(phase, t)| {
            let parsed = crate::thresholds::parse(&t.expression).ok()?;
            match parsed.subject {
                Subject::Stat(m, stat) if m == metric && stat != Stat::Count => {
                    let phase = phase.map(|p| format!(" ({p})")).unwrap_or_default();
                    Some(Mark { label: format!("{}{phase}", t.expression), at: parsed.value })
                }
                _ => None,
            }
        })
        .collect()
}

/// A metric's percentile plot: one line per `(label, summary)`, its thresholds as levels.
/// `scope` follows the title (` by target`), empty for the run's own.
pub fn distribution(page: &mut Page, metric: Metric, scope: &str, series: &[(String, &MetricSummary)], bounds: Vec<Mark>) {
    let (unit, scale) = metric.unit().shown();
    let mut data = vec![vec!["series".to_owned(), "count".to_owned(), "p50".to_owned(), "p90".to_owned(), "p99".to_owned(), "p99.9".to_owned(), "p99.99".to_owned(), "max".to_owned()]];
    let mut plotted = Vec::new();
    for (label, s) in series {
        let Ok(h) = decode_histogram(&s.histogram) else { continue };
        if h.is_empty() {
            continue;
        }
        let at = |q: f64| format!("{:.2}", h.value_at_quantile(q) as f64 * scale);
        data.push(vec![label.clone(), s.count.to_string(), at(0.5), at(0.9), at(0.99), at(0.999), at(0.9999), format!("{:.2}", h.max() as f64 * scale)]);
        plotted.push(Line { label: label.clone(), points: charts::percentile_points(&h, scale) });
    }
    if plotted.is_empty() {
        return;
    }
    let title = format!("{} {} ({unit}){scope}", titles::DISTRIBUTION, metric.id());
    let chart = charts::line_chart(&LineChart {
        title: &title,
        x_label: "percentile (log scale of the tail)",
        y_label: unit,
        lines: plotted,
        levels: bounds,
        verticals: Vec::new(),
        bands: Vec::new(),
        percentile_axis: true,
    });
    page.figure(chart, &format!("{title}: {}. Dashed red lines are thresholds.", metric.definition()), &data);
}

fn latency(page: &mut Page, r: &Report) {
    page.section("latency", "Latency distributions");
    let mut rows = vec![METRIC_COLUMNS.map(str::to_owned).to_vec()];
    rows.extend(metric_rows(r).into_iter().map(|row| row.to_vec()));
    page.table(&rows);
    page.begin_charts();
    for metric in Metric::ALL {
        let Some(s) = r.metrics.get(metric.id()).filter(|s| s.count > 0) else { continue };
        let mut series = vec![("all requests".to_owned(), s)];
        if r.by_stream.len() > 1 {
            for (mode, m) in &r.by_stream {
                if let Some(s) = m.metrics.get(metric.id()).filter(|s| s.count > 0) {
                    series.push((mode.replace('_', " "), s));
                }
            }
        }
        distribution(page, metric, "", &series, bounds_of(r, metric));
    }
    page.end_charts();
}

/// The phases (and each sweep step) as shaded spans of the run's seconds.
fn bands(phases: &[PhaseReport]) -> Vec<Band> {
    let mut bands = Vec::new();
    for (i, p) in phases.iter().enumerate() {
        match &p.sweep {
            Some(sweep) => {
                let mut at = p.start_s;
                for step in &sweep.steps {
                    let shaded = bands.len() % 2 == 0;
                    bands.push(Band { label: format!("{} req/s", charts::short_number(step.rate)), from: at, to: at + step.figures.duration_s, shaded });
                    at += step.figures.duration_s;
                }
            }
            None if phases.len() > 1 => {
                let end = phases.get(i + 1).map_or(p.start_s + p.figures.duration_s, |n| n.start_s);
                bands.push(Band { label: p.name.clone(), from: p.start_s, to: end, shaded: i % 2 == 0 });
            }
            None => {}
        }
    }
    bands
}

fn over_time(page: &mut Page, r: &Report) {
    page.section("over-time", "The run over time");
    let series = &r.time_series;
    if series.is_empty() {
        page.para("No request ended, so there is no series to draw.");
        return;
    }
    let line = |label: &str, value: &dyn Fn(&SecondInfo) -> Option<f64>| Line {
        label: label.to_owned(),
        points: charts::thin(series.iter().filter_map(|s| value(s).map(|v| (s.second as f64, v))).collect()),
    };
    let window = series.len().div_ceil(charts::MAX_POINTS);
    let note = if window > 1 { format!(" Each point averages {window} seconds.") } else { String::new() };
    let spans = || bands(&r.phases);
    page.begin_charts();
    let mut draw = |title: &str, y: &str, lines: Vec<Line>, caption: &str| {
        let chart = charts::line_chart(&LineChart { title, x_label: "seconds into the run", y_label: y, lines, levels: Vec::new(), verticals: Vec::new(), bands: spans(), percentile_axis: false });
        page.figure(chart, &format!("{title}: {caption}{note} The numbers are in the table below the charts."), &[]);
    };
    draw(
        titles::RATE,
        "requests/s",
        vec![line("started", &|s| Some(s.started as f64)), line("ended", &|s| Some(s.finished as f64))],
        "requests started (sent, or due in an open loop) and ended in each second. Shaded spans are phases or sweep steps.",
    );
    draw(titles::IN_FLIGHT, "requests", vec![line("in flight", &|s| Some(s.in_flight as f64))], "requests started and not yet ended as each second closed.");
    let kinds: std::collections::BTreeSet<&String> = series.iter().flat_map(|s| s.errors_by_kind.keys()).collect();
    let error_lines: Vec<Line> = if kinds.is_empty() {
        vec![line("errors", &|s| Some(s.errors as f64))]
    } else {
        kinds.iter().map(|k| line(k, &|s| Some(s.errors_by_kind.get(*k).copied().unwrap_or(0) as f64))).collect()
    };
    draw(titles::ERRORS, "requests/s", error_lines, "requests that ended in each second with an outcome other than ok, by outcome.");
    if series.iter().any(|s| s.ttft_p50_ms.is_some()) {
        draw(
            titles::TTFT,
            "ms",
            vec![line("p50", &|s| s.ttft_p50_ms), line("p95", &|s| s.ttft_p95_ms)],
            "median and 95th percentile TTFT of the streams that ended in each second.",
        );
    }
    draw(titles::TOKENS, "tokens/s", vec![line("output tokens", &|s| Some(s.output_tokens as f64))], "output tokens reported by the requests that ended in each second.");
    if let Some(limits) = &r.limits {
        rate_limit_chart(page, series, limits);
    }
    page.end_charts();
    let ms = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.1}"));
    let mut data = vec![["second", "started", "ended", "in flight", "errors", "errors by kind", "ttft p50 ms", "ttft p95 ms", "output tokens"].map(str::to_owned).to_vec()];
    data.extend(series.iter().map(|s| {
        let kinds = s.errors_by_kind.iter().map(|(k, n)| format!("{k} {n}")).collect::<Vec<_>>().join(", ");
        vec![s.second.to_string(), s.started.to_string(), s.finished.to_string(), s.in_flight.to_string(), s.errors.to_string(), kinds, ms(s.ttft_p50_ms), ms(s.ttft_p95_ms), s.output_tokens.to_string()]
    }));
    page.details("The numbers per second", &data);
}

/// The lowest `remaining` of each second, as a share of its limit, against the requests
/// started so far: how fast the headroom went, and where the 429s began.
fn rate_limit_chart(page: &mut Page, series: &[SecondInfo], limits: &crate::report::limits::LimitsInfo) {
    let mut sent = 0u64;
    let mut first_429 = None;
    let mut points: std::collections::BTreeMap<&str, Vec<(f64, f64)>> = std::collections::BTreeMap::new();
    for s in series {
        sent += s.started;
        if s.throttled > 0 && first_429.is_none() {
            first_429 = Some(sent as f64);
        }
        // The share of `tokens` would jump as its limit moves between the token limits.
        for d in limits.dimensions.iter().filter(|d| !d.is_most_spent_tokens()) {
            let (Some(remaining), Some(limit)) = (s.remaining_min.get(&d.id), d.limits.iter().max()) else { continue };
            if *limit > 0 {
                points.entry(d.id.as_str()).or_default().push((sent as f64, 100.0 * *remaining as f64 / *limit as f64));
            }
        }
    }
    if points.is_empty() {
        return;
    }
    let lines = points.into_iter().map(|(id, p)| Line { label: id.to_owned(), points: charts::thin(p) }).collect();
    let verticals = first_429.map(|at| Mark { label: "first 429".to_owned(), at }).into_iter().collect();
    let chart = charts::line_chart(&LineChart {
        title: titles::RATE_LIMITS,
        x_label: "requests started",
        y_label: "% of the limit left",
        lines,
        levels: Vec::new(),
        verticals,
        bands: Vec::new(),
        percentile_axis: false,
    });
    let caption = format!("{}: the lowest remaining each second, as a share of its limit, against the requests started by then. {}.", titles::RATE_LIMITS, limits.line());
    page.figure(chart, &caption, &[]);
}

/// Each sweep's charts, first after the verdict: a capacity run's answer.
fn sweeps(page: &mut Page, r: &Report) {
    let swept: Vec<_> = r.phases.iter().filter_map(|p| Some((p.name.as_str(), p.sweep.as_ref()?))).collect();
    if swept.is_empty() {
        return;
    }
    page.section("sweep", "Sweep");
    for (name, sweep) in swept {
        sweep_charts(page, name, sweep);
    }
}

/// The first step whose achieved rate falls below 95% of the offered one: where the
/// target stopped keeping up.
pub fn knee(sweep: &SweepReport) -> Option<f64> {
    sweep.steps.iter().find(|s| !s.cut && s.figures.requests_per_s < 0.95 * s.rate).map(|s| s.rate)
}

fn sweep_charts(page: &mut Page, phase: &str, sweep: &SweepReport) {
    page.heading(&format!("Phase {phase}"));
    page.begin_charts();
    let steps: Vec<_> = sweep.steps.iter().filter(|s| !s.cut).collect();
    let by_rate = |label: &str, f: &dyn Fn(&super::model::Step) -> f64| Line { label: label.to_owned(), points: steps.iter().map(|s| (s.rate, f(s))).collect() };
    let mut verticals = Vec::new();
    if let Some(max) = sweep.max_rate_within_slo {
        verticals.push(Mark { label: format!("max within SLO {}", charts::short_number(max)), at: max });
    }
    let knee = knee(sweep);
    if let Some(k) = knee {
        verticals.push(Mark { label: format!("knee {}", charts::short_number(k)), at: k });
    }
    let data = super::sweep::rows(sweep);
    let rate = charts::line_chart(&LineChart {
        title: titles::SWEEP_RATE,
        x_label: "offered rate (requests/s)",
        y_label: "requests/s",
        lines: vec![by_rate("achieved", &|s| s.figures.requests_per_s), by_rate("offered", &|s| s.rate)],
        levels: Vec::new(),
        verticals: verticals.clone(),
        bands: Vec::new(),
        percentile_axis: false,
    });
    let knee_text = knee.map_or("the achieved rate kept within 95% of the offered one at every step".to_owned(), |k| format!("the knee (achieved below 95% of offered) is at {k} req/s"));
    page.figure(rate, &format!("{}: {}; {knee_text}.", titles::SWEEP_RATE, super::sweep::max_rate_line(sweep)), &data);
    let mut levels = Vec::new();
    for t in steps.first().map(|s| s.slo.as_slice()).unwrap_or_default() {
        if let Ok(parsed) = crate::thresholds::parse(&t.expression) {
            if matches!(parsed.subject, Subject::Stat(m, _) if m.unit() == Unit::Micros) {
                levels.push(Mark { label: format!("SLO {}", t.expression), at: parsed.value });
            }
        }
    }
    let latency = charts::line_chart(&LineChart {
        title: titles::SWEEP_LATENCY,
        x_label: "offered rate (requests/s)",
        y_label: "ms",
        lines: vec![
            by_rate("ttft p50", &|s| s.figures.ttft_p50),
            by_rate("ttft p95", &|s| s.figures.ttft_p95),
            by_rate("itl p99", &|s| s.figures.itl_p99),
            by_rate("e2e p95", &|s| s.figures.e2e_p95),
        ],
        levels,
        verticals,
        bands: Vec::new(),
        percentile_axis: false,
    });
    page.figure(latency, &format!("{}: each step's percentiles; dashed red lines are the SLO.", titles::SWEEP_LATENCY), &[]);
    page.end_charts();
}

/// The phase, template and turn tables, each template's and turn's TTFT and e2e
/// distributions side by side, and the prompt cache's lines.
pub fn breakdowns(page: &mut Page, r: &Report) {
    if r.phases.len() > 1 {
        page.heading("Phases");
        page.table(&super::phase::rows(&r.phases));
    }
    page.heading("Templates");
    page.table(&lines::template_rows(r));
    let by_template: Vec<(String, &std::collections::BTreeMap<String, MetricSummary>)> = r.templates.iter().map(|t| (t.name.clone(), &t.metrics)).collect();
    compared_distributions(page, " by template", &by_template);
    if !r.turns.is_empty() {
        page.heading("Turns");
        page.table(&lines::turn_rows(r));
        let by_turn: Vec<(String, &std::collections::BTreeMap<String, MetricSummary>)> = r.turns.iter().map(|t| (format!("turn {}", t.turn), &t.metrics)).collect();
        compared_distributions(page, " by turn", &by_turn);
    }
    for line in lines::cache_lines(r) {
        page.para(&line);
    }
}

/// TTFT and e2e with a line per part (template, turn), when there are several parts.
fn compared_distributions(page: &mut Page, scope: &str, parts: &[(String, &std::collections::BTreeMap<String, MetricSummary>)]) {
    if parts.len() < 2 {
        return;
    }
    page.begin_charts();
    for metric in [Metric::Ttft, Metric::E2e] {
        let series: Vec<(String, &MetricSummary)> = parts.iter().filter_map(|(name, m)| m.get(metric.id()).filter(|s| s.count > 0).map(|s| (name.clone(), s))).collect();
        if series.len() > 1 {
            distribution(page, metric, scope, &series, Vec::new());
        }
    }
    page.end_charts();
}

/// Outcome, status and error-type counts, and the first failed requests with their
/// captures (`links` prefixes capture paths).
pub fn outcomes(page: &mut Page, r: &Report, links: &str) {
    let mut rows = vec![vec!["outcome".to_owned(), "requests".to_owned()]];
    rows.extend(lines::outcome_counts(r).into_iter().map(|(id, n)| vec![id.to_owned(), n.to_string()]));
    page.table(&rows);
    let counts = |title: &str, map: &std::collections::BTreeMap<String, u64>| {
        let mut rows = vec![vec![title.to_owned(), "requests".to_owned()]];
        rows.extend(map.iter().map(|(k, n)| vec![k.clone(), n.to_string()]));
        rows
    };
    page.table(&counts("HTTP status", &r.totals.by_status));
    page.table(&counts("error.type", &r.totals.by_error_type));
    if !r.examples.is_empty() {
        page.heading("First failed requests");
        let items: Vec<String> = r
            .examples
            .iter()
            .map(|e| {
                let capture = capture_link(links, e.capture.as_deref());
                format!(
                    "request {} ({}): <strong>{}</strong> {} {}{capture}",
                    e.request,
                    escape(&e.template),
                    escape(&e.outcome),
                    e.status.map(|s| s.to_string()).unwrap_or_default(),
                    escape(e.detail.as_deref().unwrap_or(""))
                )
            })
            .collect();
        page.raw_list(&items);
    }
}

/// ` — capture <link>` for an example kept in a capture file (`links` prefixes its path).
fn capture_link(links: &str, capture: Option<&str>) -> String {
    capture.map(|c| format!(" — capture {}", file_link(&format!("{links}{c}")))).unwrap_or_default()
}

/// Every rule that fired, errors first, with its examples' messages and excerpts and a
/// link to each one's capture (`links` prefixes capture paths).
pub fn findings(page: &mut Page, r: &Report, links: &str, (id, title): (&str, &str)) {
    page.section(id, title);
    let c = &r.conformance;
    if c.rules.is_empty() {
        page.para("No rule fired.");
        return;
    }
    let mut rules: Vec<_> = c.rules.iter().collect();
    rules.sort_by_key(|(id, rule)| (crate::conformance::Rule::from_id(id).map(crate::conformance::Rule::severity), std::cmp::Reverse(rule.count)));
    let mut rows = vec![["rule", "severity", "findings", "what it requires"].map(str::to_owned).to_vec()];
    rows.extend(rules.iter().map(|(id, rule)| vec![(*id).clone(), rule.severity.clone(), rule.count.to_string(), rule.text.clone()]));
    page.table(&rows);
    for (id, rule) in rules {
        page.heading(&format!("{id} ({}, ×{})", rule.severity, rule.count));
        for e in &rule.examples {
            let at = e.event_index.map(|i| format!(", event {i}")).unwrap_or_default();
            let capture = capture_link(links, e.capture.as_deref());
            page.raw_list(&[format!("request {} ({}{at}): {}{capture}", e.request, escape(&e.template), escape(&e.message))]);
            if !e.excerpt.is_empty() {
                page.pre(&e.excerpt);
            }
        }
    }
}
