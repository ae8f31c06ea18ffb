//! A scenario mistake, with where it is: the file (the scenario, or a file it names) and,
//! when known, the line and column.

use std::path::PathBuf;

/// A scenario file that could not be used, with where the problem is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct ScenarioError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// What is wrong, naming the field.
    pub message: String,
}

impl ScenarioError {
    fn render(&self) -> String {
        match (self.line, self.column) {
            (Some(l), Some(c)) => format!("{}:{l}:{c}: {}", self.file.display(), self.message),
            (Some(l), None) => format!("{}:{l}: {}", self.file.display(), self.message),
            _ => format!("{}: {}", self.file.display(), self.message),
        }
    }
}
