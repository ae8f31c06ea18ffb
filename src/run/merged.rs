//! `relaybench merge` from folders (or logs) to a written report: finds every segment
//! report under the folders given, or framed in the logs, groups them by target (a comparison's workers hold one folder per
//! target), merges each group ([`crate::report::merge`]) and writes each merged report,
//! with the comparison when there are several targets.

use std::path::{Path, PathBuf};

use super::result::{Exit, Finished, TargetRun};
use crate::report::comparison::Comparison;
use crate::report::{self, Report, REPORT_JSON};

/// How deep under a folder given report.json files are looked for: a Job's volume holds a
/// folder per segment, with the run's folder, with a folder per target.
const DEPTH: u32 = 4;

/// Every report.json under `dir`, outside `skip`.
fn reports_under(dir: &Path, skip: &Path, depth: u32) -> Vec<PathBuf> {
    let report = dir.join(REPORT_JSON);
    if report.is_file() {
        return vec![report];
    }
    if depth == 0 || dir.starts_with(skip) {
        return Vec::new();
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir() && !p.starts_with(skip))
        .flat_map(|p| reports_under(&p, skip, depth - 1))
        .collect();
    found.sort();
    found
}

/// The segment reports found at `paths` (report files, or folders holding them, outside
/// `out`). Errors are usage errors: nothing found, a file that is no report.
pub fn reports_from_files(paths: &[PathBuf], out: &Path) -> Result<Vec<Report>, (String, Exit)> {
    let mut files = Vec::new();
    for path in paths {
        let found = if path.is_file() { vec![path.clone()] } else { reports_under(path, out, DEPTH) };
        if found.is_empty() {
            return Err((format!("{}: no report.json in it or in its folders", path.display()), Exit::Usage));
        }
        files.extend(found);
    }
    files.iter().map(|f| report::read(f).map_err(|e| (e, Exit::Usage))).collect()
}

/// The reports framed in the logs at `paths` (`-` is stdin), as `run --emit-report`
/// prints them. A log with no frame, or a frame cut short, is a usage error.
pub fn reports_from_logs(paths: &[PathBuf]) -> Result<Vec<Report>, (String, Exit)> {
    let mut reports = Vec::new();
    for path in paths {
        let text = if path.as_os_str() == "-" {
            std::io::read_to_string(std::io::stdin()).map_err(|e| (format!("stdin: {e}"), Exit::Usage))?
        } else {
            std::fs::read_to_string(path).map_err(|e| (format!("{}: {e}", path.display()), Exit::Usage))?
        };
        let found = report::frame::read_frames(&text, &path.display().to_string()).map_err(|e| (e, Exit::Usage))?;
        if found.is_empty() {
            return Err((format!("{}: no framed report in it (were the workers run with --emit-report?)", path.display()), Exit::Usage));
        }
        reports.extend(found);
    }
    Ok(reports)
}

/// Merges segment reports into `out`: one report per target, and the comparison when
/// there are several. A set that cannot merge is a usage error.
pub fn merge_reports(reports: Vec<Report>, out: &Path) -> Result<Finished, (String, Exit)> {
    let mut groups: Vec<(String, Vec<Report>)> = Vec::new();
    for r in reports {
        match groups.iter_mut().find(|(name, _)| *name == r.target.name) {
            Some((_, list)) => list.push(r),
            None => groups.push((r.target.name.clone(), vec![r])),
        }
    }
    let several = groups.len() > 1;
    let mut targets = Vec::new();
    for (name, parts) in groups {
        let merged = report::merge::merge(parts).map_err(|e| (format!("target {name}: {e}"), Exit::Usage))?;
        let dir = if several { out.join(&name) } else { out.to_path_buf() };
        std::fs::create_dir_all(&dir).and_then(|()| report::write(&merged, &dir)).map_err(|e| (format!("{}: {e}", dir.display()), Exit::CannotProceed))?;
        targets.push(TargetRun { report: merged, dir, blocker: None });
    }
    let comparison = several.then(|| {
        let reports: Vec<(&Report, &str)> = targets.iter().map(|t| (&t.report, t.report.target.name.as_str())).collect();
        Comparison::new(&reports)
    });
    if let Some(c) = &comparison {
        let reports: Vec<&Report> = targets.iter().map(|t| &t.report).collect();
        report::files::write_comparison(c, &reports, out).map_err(|e| (format!("{}: {e}", out.display()), Exit::CannotProceed))?;
    }
    Ok(Finished { targets, dir: out.to_path_buf(), comparison })
}

/// The exit a merge deserves: a sum without all its parts passes no gate (and is not an
/// interrupted run either); otherwise as the run would have.
pub fn exit(finished: &Finished) -> Exit {
    if finished.targets.iter().any(|t| t.report.merge.as_ref().is_some_and(|m| !m.missing.is_empty())) {
        return Exit::GateFailed;
    }
    let exits: Vec<Exit> = finished.targets.iter().map(TargetRun::exit).collect();
    [Exit::CannotProceed, Exit::Interrupted, Exit::GateFailed].into_iter().find(|e| exits.contains(e)).unwrap_or(Exit::Ok)
}
