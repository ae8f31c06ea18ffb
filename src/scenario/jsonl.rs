//! Reading JSONL files a scenario names (traces, datasets) line by line, each line capped,
//! so a file without newlines cannot fill memory, and each record parsed on its own with
//! its line and column in the error.

use std::io::{BufRead, Read};
use std::ops::ControlFlow;
use std::path::Path;

use serde::de::DeserializeOwned;

use super::error::ScenarioError;

/// Calls `each` with every non-blank line of `file`, parsed as `T`, and its 1-based
/// number; stops when `each` breaks or fails. `what` names the file's kind in messages.
pub fn for_each<T: DeserializeOwned>(
    file: &Path,
    max_line: usize,
    what: &str,
    mut each: impl FnMut(usize, T) -> Result<ControlFlow<()>, ScenarioError>,
) -> Result<(), ScenarioError> {
    let error = |line: Option<usize>, column: Option<usize>, message: String| ScenarioError { file: file.to_owned(), line, column, message };
    let handle = std::fs::File::open(file).map_err(|e| error(None, None, format!("cannot read {what}: {e}")))?;
    let mut reader = std::io::BufReader::new(handle);
    let mut buf = Vec::new();
    for number in 1.. {
        buf.clear();
        let read = (&mut reader).take(max_line as u64 + 1).read_until(b'\n', &mut buf).map_err(|e| error(Some(number), None, e.to_string()))?;
        if read == 0 {
            break;
        }
        if buf.len() > max_line {
            return Err(error(Some(number), None, format!("line longer than {max_line} bytes")));
        }
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let record: T = serde_json::from_slice(&buf).map_err(|e| error(Some(number), Some(e.column()), format!("not a {what} record: {}", without_position(&e))))?;
        if each(number, record)?.is_break() {
            break;
        }
    }
    Ok(())
}

/// serde_json's message without the position it ends with (the error carries it).
pub fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    text.rfind(" at line ").map_or(text.clone(), |at| text[..at].to_owned())
}
