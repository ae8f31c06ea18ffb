//! relaybench: a load-testing and conformance harness for the Anthropic Messages API.
//!
//! The library holds everything; the `relaybench` binary only parses the command line and
//! maps errors to exit codes, so tests and benches drive the same code a user runs.

// No unsafe anywhere in the library; `forbid` cannot be re-allowed further down.
#![forbid(unsafe_code)]

pub mod calibrate;
pub mod cli;
pub mod client;
pub mod conformance;
pub mod features;
pub mod headers;
pub mod load;
pub mod metrics;
pub mod mock;
pub mod outcome;
pub mod probes;
pub mod protocol;
pub mod provider;
pub mod retry;
pub mod report;
pub mod rng;
pub mod run;
pub mod scenario;
pub mod schemas;
pub mod sse;
pub mod stop;
pub mod synth;
pub mod text;
pub mod thresholds;
pub mod tokenizer;
pub mod yaml;
