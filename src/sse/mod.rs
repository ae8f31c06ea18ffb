//! `text/event-stream` framing: the incremental [`parser`] and the line-end classifier it
//! stands on ([`line_ends`]).

pub mod line_ends;
pub mod parser;

pub use parser::{parse_chunks, Error, Event, OwnedEvent, Parser, DEFAULT_MAX_EVENT_SIZE};
