//! The files of a report folder, each written atomically, and reading a report back.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::model::Report;
use crate::load::capture::{sidecar_name, CaptureFile, CAPTURE_DIR};
use super::comparison::Comparison;
use super::{html, html_comparison, junit, markdown};

pub use super::names::{COMPARISON_JSON, JUNIT_XML, REPORT_HTML, REPORT_JSON, SUMMARY_MD};

/// Writes `bytes` to `path` so that a reader sees the old file or the new one, never a
/// part: write a temporary file beside it, flush it to disk, then rename over.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("report");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Creates a new folder `<out>/<name>-<stamp>`, adding `-2`, `-3`… if it exists.
pub fn create_report_dir(out: &Path, name: &str, stamp: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(out)?;
    for n in 1u32.. {
        let dir = if n == 1 { out.join(format!("{name}-{stamp}")) } else { out.join(format!("{name}-{stamp}-{n}")) };
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    unreachable!("u32 range exhausted creating report folders")
}

/// Writes `report.json`, `summary.md`, `junit.xml` and `report.html` into `dir`, each
/// atomically.
pub fn write(report: &Report, dir: &Path) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(report).map_err(std::io::Error::other)?;
    write_atomic(&dir.join(REPORT_JSON), &json)?;
    write_atomic(&dir.join(SUMMARY_MD), markdown::render(report).as_bytes())?;
    write_atomic(&dir.join(JUNIT_XML), junit::render(report).as_bytes())?;
    write_atomic(&dir.join(REPORT_HTML), html::render(report).as_bytes())
}

/// Writes `comparison.json`, the comparison `summary.md`, a `junit.xml` holding every
/// target's suites and the comparison's `report.html` into `dir`, each atomically.
pub fn write_comparison(c: &Comparison, reports: &[&Report], dir: &Path) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(c).map_err(std::io::Error::other)?;
    write_atomic(&dir.join(COMPARISON_JSON), &json)?;
    write_atomic(&dir.join(SUMMARY_MD), super::comparison::markdown(c).as_bytes())?;
    write_atomic(&dir.join(JUNIT_XML), junit::render_all(reports, true).as_bytes())?;
    write_atomic(&dir.join(REPORT_HTML), html_comparison::render(c, reports).as_bytes())
}

/// A saved report folder (or file) read back: one run's report, or a comparison with
/// its targets' reports.
pub enum Saved {
    /// One run.
    Run(Box<Report>),
    /// Several targets side by side, with their reports in column order.
    Comparison(Box<Comparison>, Vec<Report>),
}

impl Saved {
    /// Reads `path`: a report folder, a `report.json` or a `comparison.json`.
    pub fn read(path: &Path) -> Result<(Saved, PathBuf), String> {
        let (file, dir) = if path.is_dir() {
            let comparison = path.join(COMPARISON_JSON);
            (if comparison.exists() { comparison } else { path.join(REPORT_JSON) }, path.to_path_buf())
        } else {
            (path.to_path_buf(), path.parent().map_or(PathBuf::from("."), Path::to_path_buf))
        };
        if file.file_name().is_some_and(|n| n == COMPARISON_JSON) {
            let c: Comparison = read_as(&file, "comparison")?;
            let reports = c.targets.iter().map(|t| read(&dir.join(&t.report))).collect::<Result<Vec<_>, _>>()?;
            return Ok((Saved::Comparison(Box::new(c), reports), dir));
        }
        Ok((Saved::Run(Box::new(read(&file)?)), dir))
    }

    /// Its HTML page.
    pub fn html(&self) -> String {
        match self {
            Saved::Run(r) => html::render(r),
            Saved::Comparison(c, reports) => html_comparison::render(c, &reports.iter().collect::<Vec<_>>()),
        }
    }
}

/// Writes capture files into `dir` (a target's report folder): each body under
/// [`CAPTURE_DIR`], its status and headers in a sidecar beside it, each atomically.
pub fn write_captures(captures: &[CaptureFile], dir: &Path) -> std::io::Result<()> {
    if captures.is_empty() {
        return Ok(());
    }
    let folder = dir.join(CAPTURE_DIR);
    std::fs::create_dir_all(&folder)?;
    for (name, raw) in captures {
        write_atomic(&folder.join(name), &raw.body)?;
        write_atomic(&folder.join(sidecar_name(name)), raw.head_text().as_bytes())?;
    }
    Ok(())
}

/// Reads a report file.
pub fn read(path: &Path) -> Result<Report, String> {
    read_as(path, "report")
}

/// Reads a JSON file of relaybench's (`what` names it in the error).
fn read_as<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<T, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{}: not a relaybench {what}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_whole_file() {
        let dir = std::env::temp_dir().join(format!("relaybench-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp dir");
        let path = dir.join("r.json");
        write_atomic(&path, b"first").expect("write");
        write_atomic(&path, b"second").expect("rewrite");
        assert_eq!(std::fs::read(&path).expect("read"), b"second");
        let leftovers = std::fs::read_dir(&dir).expect("list").count();
        assert_eq!(leftovers, 1, "no temporary file left behind");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
