//! Live metrics for Prometheus: `--metrics-listen ADDR` serves the OpenMetrics text of
//! the run so far on `/metrics`, through the Prometheus project's Rust client, so a relay
//! watched continuously shows in the monitoring its users already have.

use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::rt::{TokioExecutor, TokioIo};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use super::progress::Live;
use crate::outcome::Outcome;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Request {
    target: String,
    outcome: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Target {
    target: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Limit {
    target: String,
    dimension: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Finding {
    target: String,
    rule: String,
}

type Latency = Family<Target, Histogram, fn() -> Histogram>;

/// Latency buckets in seconds: 5 ms doubling to about 82 s.
fn latency_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 15))
}

/// The run's metrics, updated by each target's collector as requests end.
pub struct Exporter {
    registry: Registry,
    requests: Family<Request, Counter>,
    output_tokens: Family<Target, Counter>,
    input_tokens: Family<Target, Counter>,
    findings: Family<Finding, Counter>,
    ttft: Latency,
    e2e: Latency,
    in_flight: Gauge,
    dropped: Gauge,
    remaining: Family<Limit, Gauge>,
    live: Arc<Live>,
}

impl std::fmt::Debug for Exporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exporter").finish_non_exhaustive()
    }
}

impl Exporter {
    /// Metrics for a run whose progress counters are `live`.
    pub fn new(live: Arc<Live>) -> Exporter {
        let mut registry = Registry::with_prefix("relaybench");
        let e = Exporter {
            requests: Family::default(),
            output_tokens: Family::default(),
            input_tokens: Family::default(),
            findings: Family::default(),
            ttft: Family::new_with_constructor(latency_buckets),
            e2e: Family::new_with_constructor(latency_buckets),
            in_flight: Gauge::default(),
            dropped: Gauge::default(),
            remaining: Family::default(),
            registry: Registry::default(),
            live,
        };
        registry.register("requests", "Requests ended, by target, outcome and HTTP status", e.requests.clone());
        registry.register("output_tokens", "usage.output_tokens summed, by target", e.output_tokens.clone());
        registry.register("input_tokens", "usage.input_tokens summed, by target", e.input_tokens.clone());
        registry.register("findings", "Conformance findings, by target and rule id", e.findings.clone());
        registry.register("ttft_seconds", "Time to the first content delta of a stream", e.ttft.clone());
        registry.register("e2e_seconds", "Time to the end of the response", e.e2e.clone());
        registry.register("in_flight", "Requests started and not yet ended", e.in_flight.clone());
        registry.register("dropped", "Open loop: requests due at the in-flight cap, not sent", e.dropped.clone());
        registry.register("ratelimit_remaining", "The last anthropic-ratelimit-*-remaining a response reported, by target and limit", e.remaining.clone());
        Exporter { registry, ..e }
    }

    /// Counts one ended request of `target`.
    pub fn record(&self, target: &str, o: &Outcome) {
        let status = o.status.map_or_else(|| "none".to_owned(), |s| s.to_string());
        self.requests.get_or_create(&Request { target: target.to_owned(), outcome: o.kind.id().to_owned(), status }).inc();
        let t = Target { target: target.to_owned() };
        self.output_tokens.get_or_create(&t).inc_by(o.output_tokens.unwrap_or(0));
        self.input_tokens.get_or_create(&t).inc_by(o.input_tokens.unwrap_or(0));
        if let Some(ttft) = o.ttft {
            self.ttft.get_or_create(&t).observe(ttft.as_secs_f64());
        }
        self.e2e.get_or_create(&t).observe(o.e2e.as_secs_f64());
        for f in &o.findings {
            self.findings.get_or_create(&Finding { target: target.to_owned(), rule: f.rule.id().to_owned() }).inc();
        }
        for d in crate::conformance::limits::Dimension::ALL {
            if let Some(left) = o.limits.as_ref().and_then(|l| l.reading(d)).and_then(|r| r.remaining) {
                let limit = Limit { target: target.to_owned(), dimension: d.id().to_owned() };
                self.remaining.get_or_create(&limit).set(i64::try_from(left).unwrap_or(i64::MAX));
            }
        }
        for (rule, n) in &o.unkept_findings {
            self.findings.get_or_create(&Finding { target: target.to_owned(), rule: rule.id().to_owned() }).inc_by(*n);
        }
    }

    /// The OpenMetrics text of everything so far.
    pub fn render(&self) -> String {
        let (in_flight, dropped) = self.live.in_flight_and_dropped();
        self.in_flight.set(i64::try_from(in_flight).unwrap_or(i64::MAX));
        self.dropped.set(i64::try_from(dropped).unwrap_or(i64::MAX));
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// The content type of OpenMetrics text.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Serves `exporter` on `listener` (`GET /metrics`; anything else is 404) until the task
/// is dropped.
pub async fn serve(listener: tokio::net::TcpListener, exporter: Arc<Exporter>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        let exporter = exporter.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let response = match (req.method(), req.uri().path()) {
                    (&hyper::Method::GET, "/metrics") => hyper::Response::builder().header(http::header::CONTENT_TYPE, OPENMETRICS).body(Full::new(Bytes::from(exporter.render()))),
                    _ => hyper::Response::builder().status(404).body(Full::new(Bytes::from_static(b"relaybench serves /metrics only\n"))),
                };
                async move { response }
            });
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new()).serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

/// Binds the metrics address before the run starts, so a taken port is found at once.
pub async fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::OutcomeKind;

    #[test]
    fn an_ended_request_shows_in_the_text() {
        let e = Exporter::new(Arc::new(Live::default()));
        let mut o = Outcome::new(0, true);
        o.status = Some(200);
        o.ttft = Some(std::time::Duration::from_millis(120));
        o.output_tokens = Some(40);
        e.record("mock", &o);
        o.kind = OutcomeKind::HttpError;
        o.status = Some(529);
        e.record("mock", &o);
        let text = e.render();
        for line in [
            r#"relaybench_requests_total{target="mock",outcome="ok",status="200"} 1"#,
            r#"relaybench_requests_total{target="mock",outcome="http_error",status="529"} 1"#,
            r#"relaybench_output_tokens_total{target="mock"} 80"#,
            r#"relaybench_ttft_seconds_count{target="mock"} 2"#,
            "relaybench_in_flight 0",
        ] {
            assert!(text.contains(line), "{line} not in\n{text}");
        }
    }
}
