//! `relaybench fingerprint save`: a reference target's token counts, taken from the report
//! of a run against it, written to a file later runs compare against (`reference_file:`).
//! Counts come only from a report of a real run; none are made up here.

use std::path::Path;

use super::files::Saved;
use super::Report;
use crate::tokenizer::{ReferenceFile, TokenCounts, REFERENCE_FORMAT};

/// The reference file of the saved runs at `paths`, one model each: the counts of each
/// run's target, or of the target named `target` in a comparison. A model counted twice
/// is refused: which count is the reference would be a guess.
pub fn from_saved(paths: &[std::path::PathBuf], target: Option<&str>) -> Result<ReferenceFile, String> {
    let mut file = ReferenceFile { format: REFERENCE_FORMAT.to_owned(), source: String::new(), models: Vec::new() };
    let mut sources = Vec::new();
    for path in paths {
        let (counts, source) = one(path, target)?;
        if file.models.iter().any(|m| m.model == counts.model) {
            return Err(format!("{}: the model {} is counted in an earlier report too; save one run per model", path.display(), counts.model));
        }
        file.models.push(counts);
        sources.push(source);
    }
    if paths.is_empty() {
        return Err("name a report folder or file to save from".into());
    }
    file.source = sources.join("; ");
    Ok(file)
}

fn one(path: &Path, target: Option<&str>) -> Result<(TokenCounts, String), String> {
    let (saved, _) = Saved::read(path)?;
    let reports: Vec<Report> = match saved {
        Saved::Run(r) => vec![*r],
        Saved::Comparison(_, reports) => reports,
    };
    let counted = |r: &&Report| r.authenticity.as_ref().and_then(|a| a.tokenizer.as_ref()).is_some_and(|t| !t.counts.texts.is_empty());
    let names = || reports.iter().map(|r| r.target.name.as_str()).collect::<Vec<_>>().join(", ");
    let chosen: Vec<&Report> = match target {
        Some(name) => reports.iter().filter(|r| r.target.name == name).collect(),
        None => reports.iter().filter(counted).collect(),
    };
    let report = match chosen.as_slice() {
        [one] => *one,
        [] if target.is_some() => return Err(format!("{}: no target named {:?} (targets: {})", path.display(), target.unwrap_or_default(), names())),
        [] => return Err(format!("{}: no token counts in it; run the reference target with `authenticity:` set", path.display())),
        _ => return Err(format!("{}: several targets counted tokens ({}); name one with --target", path.display(), names())),
    };
    let tokenizer = report.authenticity.as_ref().and_then(|a| a.tokenizer.as_ref());
    let counts: TokenCounts = match tokenizer {
        Some(t) if !t.counts.texts.is_empty() => t.counts.clone(),
        _ => return Err(format!("{}: target {} counted no tokens; run it with `authenticity:` set", path.display(), report.target.name)),
    };
    if counts.texts.iter().all(|t| t.billed.is_none() && t.counted.is_none()) {
        return Err(format!("{}: target {} answered none of the counting requests", path.display(), report.target.name));
    }
    let source = format!("target {} ({}) in the run of {} started {}", report.target.name, report.target.url, report.scenario.name, report.started_at);
    Ok((counts, source))
}
