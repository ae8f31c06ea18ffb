//! What each target is sent once before the load: the negative probes, the feature suite,
//! the model scan with the tokenizer counts, and the calibration; then the tokenizer
//! verdicts, which need every target's counts (a reference may be one of them).

use crate::calibrate::Calibration;
use crate::client::{ApiKey, Client, ClientError, Target, Timeouts};
use crate::conformance::channel::Evidence;
use crate::features::{FeatureResult, Status};
use crate::probes::{Probe, ProbeResult};
use crate::provider::Provider;
use crate::report::authenticity::{ScanInfo, TokenizerInfo};
use crate::stop::Stop;
use crate::tokenizer::{ReferenceFile, TokenCounts};

use super::scan::ScanJob;

/// The key the `wrong-key` probe presents.
pub const PROBE_WRONG_KEY: &str = "relaybench-deliberately-wrong-key";

/// The row of the tokenizer check among the feature cases.
pub const TOKENIZER_ROW: &str = "tokenizer";
const TOKENIZER_TEXT: &str = "fixed texts cost what the reference bills for the same model, and count_tokens agrees with the bill";

/// One target's checks, as the run asks for them.
pub struct CheckJob {
    /// Where they go.
    pub target: Target,
    /// The target's model.
    pub model: String,
    /// Its catalog entry.
    pub provider: Option<&'static Provider>,
    /// The negative probes.
    pub probes: Vec<Probe>,
    /// The feature cases.
    pub features: Vec<String>,
    /// Fit tokens per word first, with this seed.
    pub calibrate: Option<u64>,
    /// The model scan, and with it the tokenizer counts.
    pub scan: Option<ScanJob>,
    /// Each request's limits.
    pub timeouts: Timeouts,
}

/// What one target's checks found.
#[derive(Default)]
pub struct Checked {
    /// The probes' results.
    pub probes: Vec<ProbeResult>,
    /// The feature cases' rows, the scan's (`scan:MODEL`) and the tokenizer's.
    pub features: Vec<FeatureResult>,
    /// The calibration, when asked.
    pub calibration: Option<Calibration>,
    /// The scan's evidence and what it asked.
    pub scan: Option<(Evidence, ScanInfo)>,
    /// The fixed texts' counts, and the findings on the answers that billed them.
    pub tokens: Option<(TokenCounts, Vec<crate::conformance::Finding>)>,
    /// The tokenizer verdict, once every target's counts are in ([`judge_tokens`]).
    pub tokenizer: Option<TokenizerInfo>,
}

/// Runs one target's checks in order; `stop` (an interrupt) ends them at once.
pub async fn run(job: CheckJob, stop: &Stop) -> Result<Checked, ClientError> {
    let timeouts = job.timeouts;
    let mut checked = Checked { probes: run_probes(&job.target, &job.probes, timeouts, stop).await?, ..Checked::default() };
    checked.features = crate::features::run(&job.target, timeouts, &job.model, job.provider, &job.features, stop).await?;
    if let Some(scan) = job.scan.as_ref().filter(|_| !stop.is_stopped()) {
        let (scanned, info) = super::scan::run(&job.target, timeouts, scan, stop).await?;
        let mut evidence = Evidence::default();
        for s in scanned {
            s.fingerprints.iter().for_each(|fp| evidence.observe(fp, None));
            checked.features.push(s.result);
        }
        checked.scan = Some((evidence, info));
        if !stop.is_stopped() {
            checked.tokens = Some(crate::tokenizer::count(&Client::new(&job.target, timeouts)?, &job.model, stop).await);
        }
    }
    if let Some(seed) = job.calibrate.filter(|_| !stop.is_stopped()) {
        let client = Client::new(&job.target, timeouts)?;
        checked.calibration = tokio::select! {
            c = crate::calibrate::calibrate(&client, &job.model, seed) => Some(c),
            _ = stop.wait() => None,
        };
    }
    Ok(checked)
}

/// The negative probes against one target.
async fn run_probes(target: &Target, probes: &[Probe], timeouts: Timeouts, stop: &Stop) -> Result<Vec<ProbeResult>, ClientError> {
    if probes.is_empty() {
        return Ok(Vec::new());
    }
    let with_key = |key: ApiKey| {
        let mut t = target.clone();
        t.api_key = key;
        Client::new(&t, timeouts)
    };
    let clients = crate::probes::ProbeClients {
        target: Client::new(target, timeouts)?,
        wrong_key: with_key(ApiKey::new(PROBE_WRONG_KEY))?,
        no_key: with_key(ApiKey::none())?,
    };
    Ok(crate::probes::run_until(&clients, probes, stop).await)
}

/// Holds every target's token counts against the reference's: the target marked
/// `reference` (by `names`' index in `references`) when it counted, else the reference
/// file's counts for the same model. Each target that counted gets its verdict and a
/// `tokenizer` row with the findings.
pub fn judge_tokens(checked: &mut [Checked], names: &[String], references: &[bool], file: Option<&ReferenceFile>) {
    let reference = references.iter().zip(checked.iter()).position(|(r, c)| *r && c.tokens.is_some());
    let reference_counts = reference.and_then(|r| checked[r].tokens.as_ref().map(|(c, _)| (c.clone(), format!("target {}", names[r]))));
    for (i, c) in checked.iter_mut().enumerate() {
        let Some((counts, answered)) = c.tokens.take() else { continue };
        let against = match (&reference_counts, file) {
            _ if reference == Some(i) => None,
            (Some((theirs, name)), _) if theirs.model == counts.model => Some((theirs.clone(), name.clone())),
            (_, Some(f)) => crate::tokenizer::reference_for(f, &counts.model).map(|theirs| (theirs.clone(), format!("the reference file ({})", f.source))),
            _ => None,
        };
        let verdict = crate::tokenizer::compare(&counts, against.as_ref().map(|(t, n)| (t, n.as_str())));
        let context = match (reference == Some(i), &against) {
            (true, _) => "the reference of this run",
            (false, None) => "no reference to compare with (a target with `reference: true`, or `reference_file:` with this model)",
            (false, Some(_)) => "",
        };
        let detail = [context, verdict.detail.as_str()].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join("; ");
        let mut findings = verdict.findings;
        findings.extend(answered);
        let status = if verdict.same { Status::Pass } else { Status::Fail };
        c.features.push(FeatureResult { name: TOKENIZER_ROW.to_owned(), text: TOKENIZER_TEXT, status, detail: detail.clone(), findings });
        c.tokenizer = Some(TokenizerInfo { counts, reference: against.map(|(_, n)| n), same: verdict.same, detail });
    }
}
