//! The report: the canonical JSON record of a run ([`model`]), how it is built from what
//! a run collected ([`build`]), judged ([`gate`]), written ([`files`]) and rendered
//! (terminal, Markdown, JUnit, comparison).

pub mod authenticity;
pub mod build;
pub mod charts;
pub mod comparison;
pub mod cost;
pub mod files;
pub mod frame;
pub mod gate;
pub mod html;
pub mod held;
pub mod html_comparison;
pub mod junit;
pub mod limits;
pub mod lines;
pub mod markdown;
pub mod merge;
pub mod merge_phases;
pub mod page;
pub mod model;
pub mod names;
pub mod network;
pub mod phase;
pub mod reference;
pub mod regression;
pub mod retries;
pub mod sums;
pub mod sweep;
pub mod terminal;
pub mod timefmt;
pub mod workers;

pub use build::{build, conformance, RunInfo};
pub use files::{create_report_dir, read, write, write_atomic, write_captures, JUNIT_XML, REPORT_JSON, SUMMARY_MD};
pub use lines::*;
pub use model::*;
