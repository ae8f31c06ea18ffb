//! Capture files: the raw bytes of responses, exactly as received (the key redacted),
//! with their status and headers in a sidecar, so a finding can be reproduced with
//! `relaybench check` and sent to the relay as "here are the bytes". Bounded in count
//! (per target) and in size (per response).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::conformance::Severity;
use crate::outcome::{Outcome, OutcomeKind, RawResponse};
pub use crate::scenario::CaptureMode;

/// Capture files written per target, at most.
pub const MAX_CAPTURES: u64 = 100;
/// A capture file: its name inside [`CAPTURE_DIR`], and the response.
pub type CaptureFile = (String, Box<RawResponse>);

/// The folder, inside a target's report folder, that holds its capture files.
pub const CAPTURE_DIR: &str = "captures";

/// One target's captures so far, shared by its phases.
#[derive(Debug, Default)]
pub struct Captures {
    mode: CaptureMode,
    taken: AtomicU64,
}

impl Captures {
    /// Captures in `mode`.
    pub fn new(mode: CaptureMode) -> Captures {
        Captures { mode, taken: AtomicU64::new(0) }
    }

    /// Takes `o`'s raw response out of it; when the mode keeps it and the count allows,
    /// returns the file name it is written under (inside [`CAPTURE_DIR`]) with the bytes.
    pub fn take(&self, o: &mut Outcome) -> Option<CaptureFile> {
        let raw = o.raw.take()?;
        let broke_a_rule = o.findings.iter().any(|f| f.rule.severity() != Severity::Info);
        let keep = match self.mode {
            CaptureMode::None => false,
            CaptureMode::Failed => o.kind != OutcomeKind::Ok || broke_a_rule,
            CaptureMode::All => true,
        };
        if !keep {
            return None;
        }
        let n = self.taken.fetch_add(1, Ordering::Relaxed) + 1;
        if n > MAX_CAPTURES {
            return None;
        }
        let stream = o.stream && (200..300).contains(&raw.status);
        Some((format!("req-{n:04}.{}", if stream { "sse" } else { "json" }), raw))
    }
}

/// Where capture file `name` is, relative to its report folder, as reports cite it.
pub fn cited(name: &str) -> String {
    format!("{CAPTURE_DIR}/{name}")
}

/// The sidecar of capture file `name`: its status line and headers.
pub fn sidecar_name(name: &str) -> String {
    format!("{name}.http")
}

/// The status and headers a sidecar holds (see [`RawResponse::head_text`]); None when
/// the text is not one.
pub fn read_sidecar(text: &str) -> Option<(u16, Vec<(String, String)>)> {
    let mut lines = text.lines();
    let status = lines.next()?.strip_prefix("HTTP ")?.trim().parse().ok()?;
    let headers = lines
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(": ").map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect();
    Some((status, headers))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::{Finding, Rule};

    fn with_raw(kind: OutcomeKind, stream: bool, status: u16) -> Outcome {
        let mut o = Outcome::new(0, stream);
        o.kind = kind;
        o.raw = Some(Box::new(RawResponse { status, ..RawResponse::default() }));
        o
    }

    #[test]
    fn failed_keeps_failures_and_rule_breakers_only_and_names_them_by_kind() {
        let c = Captures::new(CaptureMode::Failed);
        assert!(c.take(&mut with_raw(OutcomeKind::Ok, true, 200)).is_none());
        assert_eq!(c.take(&mut with_raw(OutcomeKind::HttpError, true, 429)).map(|x| x.0).as_deref(), Some("req-0001.json"));
        let mut broke = with_raw(OutcomeKind::Ok, true, 200);
        broke.findings.push(Finding::new(Rule::StopReasonNull, Some(3), "x", b""));
        assert_eq!(c.take(&mut broke).map(|x| x.0).as_deref(), Some("req-0002.sse"));
        // An info finding is no reason to keep the bytes.
        let mut info = with_raw(OutcomeKind::Ok, false, 200);
        info.findings.push(Finding::new(Rule::UnknownBlock, None, "x", b""));
        assert!(c.take(&mut info).is_none());
        assert!(info.raw.is_none(), "the bytes are dropped either way");
    }

    #[test]
    fn a_sidecar_reads_back_as_written() {
        let raw = RawResponse { status: 529, headers: vec![("content-type".into(), "application/json".into()), ("retry-after".into(), "3".into())], body: Vec::new(), cut: 12 };
        let (status, headers) = read_sidecar(&raw.head_text()).expect("a sidecar");
        assert_eq!((status, headers), (529, raw.headers.clone()));
        assert!(read_sidecar("not a sidecar").is_none());
    }

    #[test]
    fn the_count_is_bounded() {
        let c = Captures::new(CaptureMode::All);
        let kept = (0..MAX_CAPTURES + 20).filter(|_| c.take(&mut with_raw(OutcomeKind::Ok, false, 200)).is_some()).count();
        assert_eq!(kept as u64, MAX_CAPTURES);
    }
}
