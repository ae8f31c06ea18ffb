//! The record of one request: how it ended and when each milestone happened. The client
//! produces it, the recorder folds it into histograms and counters.

use std::time::Duration;

use crate::conformance::Finding;

/// How a request ended. The ids are report fields, so they never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OutcomeKind {
    /// A complete 200 response: a Message body, or a stream that reached `message_stop`.
    Ok,
    /// A non-2xx status.
    HttpError,
    /// A stream that carried an `event: error` after the 200 status.
    StreamError,
    /// A stream that ended, or a connection that dropped, before `message_stop`.
    Truncated,
    /// Bytes that do not parse: bad SSE framing, non-JSON data, an oversized event.
    Malformed,
    /// No connection could be made.
    ConnectError,
    /// The connection was not made within the connect time limit.
    ConnectTimeout,
    /// No response head within the time-to-first-byte limit.
    TtfbTimeout,
    /// A stream fell silent longer than the idle limit.
    IdleTimeout,
    /// The request did not finish within its time limit.
    Timeout,
    /// The connection failed after it was made, before a response head arrived.
    TransportError,
    /// The run was cut (a second interrupt, or the grace period after one was over)
    /// before the request ended: it says nothing of the server.
    Cancelled,
}

impl OutcomeKind {
    /// Every kind, in report order.
    pub const ALL: [OutcomeKind; 12] = [
        OutcomeKind::Ok,
        OutcomeKind::HttpError,
        OutcomeKind::StreamError,
        OutcomeKind::Truncated,
        OutcomeKind::Malformed,
        OutcomeKind::ConnectError,
        OutcomeKind::ConnectTimeout,
        OutcomeKind::TtfbTimeout,
        OutcomeKind::IdleTimeout,
        OutcomeKind::Timeout,
        OutcomeKind::TransportError,
        OutcomeKind::Cancelled,
    ];

    /// Stable id used in reports.
    pub fn id(self) -> &'static str {
        match self {
            OutcomeKind::Ok => "ok",
            OutcomeKind::HttpError => "http_error",
            OutcomeKind::StreamError => "stream_error",
            OutcomeKind::Truncated => "truncated",
            OutcomeKind::Malformed => "malformed",
            OutcomeKind::ConnectError => "connect_error",
            OutcomeKind::ConnectTimeout => "connect_timeout",
            OutcomeKind::TtfbTimeout => "ttfb_timeout",
            OutcomeKind::IdleTimeout => "idle_timeout",
            OutcomeKind::Timeout => "timeout",
            OutcomeKind::TransportError => "transport_error",
            OutcomeKind::Cancelled => "cancelled",
        }
    }

    /// One-line description, quoted by the guide (`docs/metrics.md`).
    pub fn description(self) -> &'static str {
        match self {
            OutcomeKind::Ok => "a complete 200 response: a Message body, or a stream that reached `message_stop`",
            OutcomeKind::HttpError => "a non-2xx status; its `error.type` is counted when the body is an error envelope",
            OutcomeKind::StreamError => "a stream that carried `event: error` after the 200 status",
            OutcomeKind::Truncated => "a stream that ended, or a connection that dropped, before `message_stop`",
            OutcomeKind::Malformed => "bytes that do not parse: SSE framing, non-JSON data, an event over the size limit, a body over 64 MiB",
            OutcomeKind::ConnectError => "no connection could be made (refused, DNS, TLS)",
            OutcomeKind::ConnectTimeout => "the connection (TCP, and the TLS handshake for https) was not ready within `load.connect_timeout`",
            OutcomeKind::TtfbTimeout => "no response head within `load.ttfb_timeout` of sending",
            OutcomeKind::IdleTimeout => "a stream sent nothing for longer than `load.idle_timeout`",
            OutcomeKind::Timeout => "the request did not finish within `load.timeout`",
            OutcomeKind::TransportError => "the connection failed after it was made, before a response head arrived",
            OutcomeKind::Cancelled => "the run was cut (a second Ctrl-C, or the grace period after the first was over) before the request ended; not counted in `error_rate`",
        }
    }

    /// The kind with id `id`.
    pub fn from_id(id: &str) -> Option<OutcomeKind> {
        Self::ALL.into_iter().find(|k| k.id() == id)
    }
}

/// Everything measured about one request. Durations are from the request's reference
/// moment: when it was sent (closed loop) or due (open loop).
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Index of the request template used.
    pub template: usize,
    /// The request's number in the whole run's schedule (arrival `n`, or the closed
    /// loop's `n`-th request), the same whichever worker of a split run sent it.
    pub arrival: Option<u64>,
    /// Whether the request asked for a stream.
    pub stream: bool,
    /// How it ended.
    pub kind: OutcomeKind,
    /// HTTP status, when a response head arrived.
    pub status: Option<u16>,
    /// `error.type` of an error envelope or `event: error`.
    pub error_type: Option<String>,
    /// A short description of what went wrong, for the report's examples.
    pub detail: Option<String>,
    /// The reference moment latencies are measured from (sent, or due in an open loop).
    pub start: Option<tokio::time::Instant>,
    /// Open loop: from the due time to the moment the request began to be sent.
    pub send_lag: Option<Duration>,
    /// Time to the response head.
    pub ttfb: Option<Duration>,
    /// The DNS lookup of a new connection, when one was made (none for an IP address or a
    /// name looked up lately).
    pub dns: Option<Duration>,
    /// Opening the TCP connection (to the server or its proxy), when this request was the
    /// first on a new one.
    pub connect: Option<Duration>,
    /// That connection's proxy tunnel (CONNECT or SOCKS5), through a proxy.
    pub proxy: Option<Duration>,
    /// That connection's TLS handshake (https).
    pub tls: Option<Duration>,
    /// That handshake resumed an earlier session.
    pub tls_resumed: bool,
    /// The response came over HTTP/2.
    pub h2: bool,
    /// Time to the `message_start` event.
    pub message_start: Option<Duration>,
    /// Time to the first content delta.
    pub ttft: Option<Duration>,
    /// Gaps between consecutive content deltas, each with how many times it came in a
    /// row (the events of one read share its time, so a stream that arrives in a few reads
    /// is a few runs of zero gaps), the first [`MAX_ITL_KEPT`] runs of them…
    pub itl: Vec<(Duration, u32)>,
    /// …and the rest, in microseconds, when a stream has more: its memory stays bounded
    /// however many deltas a server sends, and no gap goes unrecorded.
    pub itl_rest: Option<hdrhistogram::Histogram<u64>>,
    /// Time until the response was complete or the request ended.
    pub e2e: Duration,
    /// Time from the first to the last content delta.
    pub decode: Option<Duration>,
    /// `usage.output_tokens` as finally reported.
    pub output_tokens: Option<u64>,
    /// `usage.input_tokens` as finally reported.
    pub input_tokens: Option<u64>,
    /// `usage.cache_read_input_tokens` as finally reported: input served from the
    /// provider's prompt cache.
    pub cache_read_tokens: Option<u64>,
    /// `usage.cache_creation_input_tokens` as finally reported: input written to it.
    pub cache_creation_tokens: Option<u64>,
    /// Of those, written for an hour (`usage.cache_creation.ephemeral_1h_input_tokens`);
    /// the rest were written for five minutes.
    pub cache_creation_1h_tokens: Option<u64>,
    /// The reply's text, kept only for a conversation's turn (the next turn sends it back),
    /// at most [`MAX_REPLY`] bytes.
    pub reply: Option<String>,
    /// The turn of a conversation this request was (1-based).
    pub turn: Option<u32>,
    /// Input tokens the request held by relaybench's own rule (see `synth`), to hold the
    /// provider's count against.
    pub requested_input_tokens: Option<u64>,
    /// Total input tokens: `input_tokens` plus cache creation and cache reads, which is
    /// what stays the same for the same prompt whatever the cache did.
    pub input_total: Option<u64>,
    /// Content deltas received (streams only).
    pub content_deltas: u64,
    /// `stop_reason` as finally reported.
    pub stop_reason: Option<String>,
    /// Conformance findings on this response (the first few of each rule).
    pub findings: Vec<Finding>,
    /// Findings found but not kept, by rule (see `conformance::stream::MAX_KEPT_PER_RULE`).
    pub unkept_findings: Vec<(crate::conformance::Rule, u64)>,
    /// What a complete response held, when the request's facts were given: for the
    /// feature suite's checks.
    pub response: Option<crate::conformance::request::ResponseSummary>,
    /// The response exactly as received, when the run captures responses.
    pub raw: Option<Box<RawResponse>>,
    /// The response's rate-limit headers, when it carried any.
    pub limits: Option<Box<crate::conformance::limits::RateLimits>>,
    /// What a 2xx answer showed of the channel behind the target (PROTOCOL.md §9).
    pub fingerprint: Option<Box<crate::conformance::fingerprint::Fingerprint>>,
    /// With a retry policy: which attempt of its request this was, from 1.
    pub attempt: Option<u32>,
    /// Why it was retried, when another attempt followed it.
    pub retried_for: Option<String>,
    /// On a request's last attempt, with a retry policy: from its first attempt's start
    /// (its due time in an open loop) to this attempt's end.
    pub effective: Option<Duration>,
    /// The response's `Date`, with when the request left and its head arrived by this
    /// machine's clock: what bounds the target's clock against ours (`load::clock`).
    pub server_date: Option<ServerDate>,
}

/// A response's `Date` header against this machine's clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServerDate {
    /// The server's time, unix seconds (the header's resolution).
    pub date_s: i64,
    /// When the request left, unix seconds by this machine's clock (at the latest).
    pub sent_unix: f64,
    /// When the response head arrived, unix seconds by this machine's clock.
    pub head_unix: f64,
}

impl ServerDate {
    /// Reads an HTTP-date (`Sun, 06 Dec 2026 05:13:39 GMT`), given how long after the send
    /// the head arrived, now.
    pub fn read(date: &str, ttfb: Duration, head_unix: f64) -> Option<ServerDate> {
        let at = httpdate::parse_http_date(date).ok()?;
        let date_s = i64::try_from(at.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs()).ok()?;
        Some(ServerDate { date_s, sent_unix: head_unix - ttfb.as_secs_f64(), head_unix })
    }
}

/// Bytes of one response body kept for a capture; the rest is counted, not kept.
pub const MAX_CAPTURE_BYTES: usize = 1 << 20;

/// A response as it arrived: status, headers and body bytes, for a capture file that
/// `relaybench check` turns back into the same findings.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RawResponse {
    /// HTTP status.
    pub status: u16,
    /// Headers, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body, up to [`MAX_CAPTURE_BYTES`].
    pub body: Vec<u8>,
    /// Body bytes past the limit, not kept.
    pub cut: u64,
}

impl RawResponse {
    /// Appends body bytes, up to the limit.
    pub fn push(&mut self, bytes: &[u8]) {
        let take = bytes.len().min(MAX_CAPTURE_BYTES.saturating_sub(self.body.len()));
        self.body.extend_from_slice(&bytes[..take]);
        self.cut += (bytes.len() - take) as u64;
    }

    /// The sidecar file's text: the status line, then the headers.
    pub fn head_text(&self) -> String {
        let mut text = format!("HTTP {}\n", self.status);
        for (name, value) in &self.headers {
            text.push_str(&format!("{name}: {value}\n"));
        }
        if self.cut > 0 {
            text.push_str(&format!("# {} body bytes past {} were not kept\n", self.cut, MAX_CAPTURE_BYTES));
        }
        text
    }
}

/// Runs of inter-token gaps kept per stream; later gaps go into a histogram.
pub const MAX_ITL_KEPT: usize = 65_536;

/// Longest reply text kept for a conversation's next turn; past it the text is cut, so
/// a server that never stops cannot grow a conversation without bound.
pub const MAX_REPLY: usize = 1 << 20;

impl Outcome {
    /// Removes `secret` (the API key) from every string the server could have put in
    /// this outcome, so an echoed key goes no further, and cuts each (but the reply a
    /// conversation sends back) to [`crate::text::MAX_MESSAGE`].
    pub fn sanitize(&mut self, secret: &str) {
        let clean = |s: &mut String| {
            crate::text::redact_in_place(s, secret);
            *s = crate::text::cut(std::mem::take(s));
        };
        for s in [&mut self.detail, &mut self.error_type, &mut self.stop_reason].into_iter().flatten() {
            clean(s);
        }
        if let Some(reply) = &mut self.reply {
            crate::text::redact_in_place(reply, secret);
        }
        for f in &mut self.findings {
            clean(&mut f.message);
            clean(&mut f.excerpt);
        }
        if let Some(limits) = &mut self.limits {
            for s in [&mut limits.retry_after, &mut limits.retry_after_ms, &mut limits.should_retry].into_iter().flatten() {
                clean(s);
            }
            for r in limits.readings.iter_mut().flatten() {
                for s in [r.reset_text.as_mut(), r.reset.as_mut().and_then(|x| x.as_mut().err())].into_iter().flatten() {
                    clean(s);
                }
            }
        }
        if let Some(fp) = &mut self.fingerprint {
            // Already cut to a few dozen characters when read.
            for o in &mut fp.observed {
                crate::text::redact_in_place(&mut o.example, secret);
            }
        }
        if let Some(raw) = &mut self.raw {
            raw.body = crate::text::redact_bytes(&raw.body, secret);
            for (_, value) in &mut raw.headers {
                crate::text::redact_in_place(value, secret);
            }
        }
    }

    /// Records one inter-token gap.
    pub fn push_itl(&mut self, gap: Duration) {
        if let Some((_, n)) = self.itl.last_mut().filter(|(last, n)| *last == gap && *n < u32::MAX) {
            return *n += 1;
        }
        if self.itl.len() < MAX_ITL_KEPT {
            return self.itl.push((gap, 1));
        }
        let rest = self.itl_rest.get_or_insert_with(|| hdrhistogram::Histogram::new(3).unwrap_or_else(|_| hdrhistogram::Histogram::new_with_bounds(1, 1 << 40, 3).expect("valid bounds")));
        let _ = rest.record(gap.as_micros().min(1 << 40) as u64);
    }

    /// Appends reply text, when the reply is being kept, up to [`MAX_REPLY`].
    pub fn keep_reply(&mut self, text: &str) {
        if let Some(reply) = &mut self.reply {
            crate::text::push_capped(reply, text, MAX_REPLY);
        }
    }

    /// Time per output token after the first, `(e2e - ttft) / (output_tokens - 1)`, for a
    /// stream that reported at least two output tokens.
    pub fn tpot(&self) -> Option<Duration> {
        match (self.ttft, self.output_tokens) {
            (Some(ttft), Some(tokens @ 2..)) => Some(self.e2e.saturating_sub(ttft) / u32::try_from(tokens - 1).unwrap_or(u32::MAX)),
            _ => None,
        }
    }

    /// An outcome with no measurements yet.
    pub fn new(template: usize, stream: bool) -> Self {
        Outcome {
            template,
            arrival: None,
            stream,
            kind: OutcomeKind::Ok,
            status: None,
            error_type: None,
            detail: None,
            start: None,
            send_lag: None,
            ttfb: None,
            dns: None,
            connect: None,
            proxy: None,
            tls: None,
            tls_resumed: false,
            h2: false,
            message_start: None,
            ttft: None,
            itl: Vec::new(),
            itl_rest: None,
            e2e: Duration::ZERO,
            decode: None,
            output_tokens: None,
            input_tokens: None,
            requested_input_tokens: None,
            reply: None,
            turn: None,
            cache_read_tokens: None,
            cache_creation_tokens: None,
            cache_creation_1h_tokens: None,
            input_total: None,
            content_deltas: 0,
            stop_reason: None,
            findings: Vec::new(),
            unkept_findings: Vec::new(),
            response: None,
            raw: None,
            limits: None,
            fingerprint: None,
            attempt: None,
            retried_for: None,
            effective: None,
            server_date: None,
        }
    }

    /// Marks the request failed as `kind`, keeping the first failure's description.
    pub fn fail(&mut self, kind: OutcomeKind, detail: impl Into<String>) {
        if self.kind == OutcomeKind::Ok {
            self.kind = kind;
            self.detail = Some(detail.into());
        }
    }
}
