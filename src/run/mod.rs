//! One run from scenario file to report folder ([`flow`]), and what it ends with: the
//! exit code the result deserves ([`result`]).

pub mod checks;
pub mod flow;
pub mod k8s;
pub mod merged;
pub mod result;
pub mod scan;

pub use checks::PROBE_WRONG_KEY;
pub use flow::{run, run_file, INTERRUPT_GRACE, MOCK_KEY};
pub use result::{Exit, Finished, RunError, RunOptions, TargetRun};
