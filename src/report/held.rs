//! A stream head held back until the first token, judged against a reference target of
//! the same run: where the reference's `message_start` comes well before its first token
//! and a relay's comes with it, the relay holds the head (PROTOCOL.md §9). The rule
//! `stream.head-held` also judges each target alone ([`crate::conformance::series`]), on
//! every stream; this judges the medians, so it also catches a relay that holds most heads
//! but not every one, and names the reference it was held against.

use super::build::add_finding;
use super::{FindingInfo, Report};
use crate::conformance::series::HELD_MIN_TTFT;
use crate::conformance::Rule;

/// `message_start` at this share of the TTFT or later is a held head.
const HELD_SHARE: f64 = 0.9;
/// The reference sends its head by this share of its TTFT.
const EARLY_SHARE: f64 = 0.5;
/// Streams a target needs before its medians are judged.
const MIN_STREAMS: u64 = 10;

/// The median `message_start` as a share of the median TTFT, with the TTFT in ms, for a
/// target with enough streams slow enough to tell.
fn head_share(r: &Report) -> Option<(f64, f64, f64)> {
    let start = r.metrics.get("message_start").filter(|m| m.count >= MIN_STREAMS)?;
    let ttft = r.metrics.get("ttft").filter(|m| m.count >= MIN_STREAMS && m.p50 >= HELD_MIN_TTFT.as_secs_f64() * 1e3)?;
    Some((start.p50 / ttft.p50, start.p50, ttft.p50))
}

/// Adds `stream.head-held` to each report (but the reference's, at `reference`) whose
/// head comes with its first token where the reference's comes early.
pub fn against_reference(reports: &mut [&mut Report], reference: usize) {
    let Some((theirs, their_start, their_ttft)) = reports.get(reference).and_then(|r| head_share(r)) else { return };
    if theirs > EARLY_SHARE {
        return;
    }
    let name = reports[reference].target.name.clone();
    for (i, r) in reports.iter_mut().enumerate() {
        let Some((ours, start, ttft)) = head_share(r).filter(|_| i != reference) else { continue };
        if ours < HELD_SHARE {
            continue;
        }
        let message = format!(
            "message_start p50 {start:.1} ms of a TTFT p50 of {ttft:.1} ms ({:.0}%), where the reference {name} sends it at {their_start:.1} ms of {their_ttft:.1} ms ({:.0}%): the head is held back until the first token",
            ours * 100.0,
            theirs * 100.0
        );
        let example = FindingInfo { request: 0, template: "comparison".to_owned(), event_index: None, message, excerpt: String::new(), capture: None, at_s: None };
        add_finding(&mut r.conformance, Rule::StreamHeadHeld, example);
    }
}
