//! The files of a report folder, each written atomically, and reading a report back.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::model::Report;
use crate::load::capture::{sidecar_name, CaptureFile, CAPTURE_DIR};
use super::{junit, markdown};

/// File name of the canonical report inside a report folder.
pub const REPORT_JSON: &str = "report.json";
/// File name of the Markdown summary.
pub const SUMMARY_MD: &str = "summary.md";
/// File name of the JUnit XML for CI systems.
pub const JUNIT_XML: &str = "junit.xml";

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

/// Writes `report.json` and `summary.md` into `dir`, each atomically.
pub fn write(report: &Report, dir: &Path) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(report).map_err(std::io::Error::other)?;
    write_atomic(&dir.join(REPORT_JSON), &json)?;
    write_atomic(&dir.join(SUMMARY_MD), markdown::render(report).as_bytes())?;
    write_atomic(&dir.join(JUNIT_XML), junit::render(report).as_bytes())
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
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{}: not a relaybench report: {e}", path.display()))
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
