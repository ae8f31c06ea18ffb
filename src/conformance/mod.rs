//! Conformance checking: what a provider sends, held against the protocol facts of
//! `shared/PROTOCOL.md`. Checks run on every live response and on captured bodies
//! (`relaybench check`), through the same code.

pub mod capture;
pub mod channel;
pub mod envelope;
pub mod fast;
pub mod fingerprint;
pub mod finding;
pub mod limits;
pub mod message;
pub mod pacing;
pub mod request;
pub mod rules;
pub mod series;
pub mod stream;
pub mod usage;
pub mod validate;

pub use capture::{check_capture, check_capture_counted, Capture};
pub use finding::{has_violation, Finding};
pub use rules::{Rule, Severity, RULES};
