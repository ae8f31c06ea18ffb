//! JUnit XML, the format CI systems display: one test case per threshold (the
//! scenario's and each phase's), per conformance rule, per negative probe and per
//! feature case (an unsupported feature is skipped).

use std::fmt::Write;

use super::model::Report;
use crate::conformance::{Severity, RULES};
use crate::features::Status;

use crate::text::escape_markup as escape;

/// One test case: its name and, when it failed, the failure message and details; a
/// skipped case (an unsupported feature) carries its reason.
struct Case {
    name: String,
    failure: Option<(String, String)>,
    skipped: Option<String>,
}

fn suite(xml: &mut String, name: &str, classname: &str, cases: &[Case]) {
    let failures = cases.iter().filter(|c| c.failure.is_some()).count();
    let skipped = cases.iter().filter(|c| c.skipped.is_some()).count();
    let _ = writeln!(
        xml,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">",
        escape(name),
        cases.len()
    );
    for case in cases {
        let _ = write!(xml, "    <testcase classname=\"{}\" name=\"{}\"", escape(classname), escape(&case.name));
        match (&case.failure, &case.skipped) {
            (None, None) => xml.push_str("/>\n"),
            (None, Some(reason)) => {
                let _ = writeln!(xml, ">\n      <skipped>{}</skipped>\n    </testcase>", escape(reason));
            }
            (Some((message, details)), _) => {
                let _ = writeln!(xml, ">\n      <failure message=\"{}\" type=\"failure\">{}</failure>\n    </testcase>", escape(message), escape(details));
            }
        }
    }
    xml.push_str("  </testsuite>\n");
}

/// Renders the report's gates as JUnit XML.
pub fn render(r: &Report) -> String {
    render_all(&[r], false)
}

/// Renders several targets' gates in one file, each suite named after its target when
/// `named` (a comparison), so a CI system reads one file for the whole run.
pub fn render_all(reports: &[&Report], named: bool) -> String {
    let scenario = reports.first().map_or("", |r| r.scenario.name.as_str());
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(xml, "<testsuites name=\"relaybench {}\">", escape(scenario));
    for r in reports {
        let prefix = if named { format!("{scenario}.{}", r.target.name) } else { scenario.to_owned() };
        suites(&mut xml, r, &prefix);
    }
    xml.push_str("</testsuites>\n");
    xml
}

/// The four suites of one report, named `PREFIX.thresholds` and so on.
fn suites(xml: &mut String, r: &Report, prefix: &str) {
    // A run cut short (interrupted, target unreachable, an internal error) is a failure a
    // CI system must see, whatever the gates said about the part that ran.
    let stopped = r.stopped_early.as_ref().map(|why| Case {
        name: "run completed".to_owned(),
        failure: Some((why.clone(), format!("the run did not complete: {why}; its figures cover only what ran"))),
        skipped: None,
    });
    // Certificate checks turned off: a skipped case, so the CI page shows the warning.
    let insecure = super::network::warning(r.target.tls_insecure).map(|warning| Case { name: "TLS certificate verified".to_owned(), failure: None, skipped: Some(warning) });
    let thresholds: Vec<Case> = stopped.into_iter().chain(insecure).chain(super::lines::all_thresholds(r)
        .map(|(phase, t)| Case {
            name: match phase {
                Some(phase) => format!("{phase}: {}", t.expression),
                None => t.expression.clone(),
            },
            failure: (!t.passed).then(|| {
                let observed = t.observed.map_or("no data".to_owned(), |v| format!("{v:.3}"));
                (format!("observed {observed}"), format!("{} failed: observed {observed}", t.expression))
            }),
            skipped: None,
        }))
        .collect();
    let rules: Vec<Case> = RULES
        .iter()
        .map(|rule| {
            let fired = r.conformance.rules.get(rule.id);
            let failure = fired.filter(|_| rule.severity == Severity::Error).map(|f| {
                let examples: Vec<String> = f
                    .examples
                    .iter()
                    .map(|e| format!("request {} ({}): {} | {}", e.request, e.template, e.message, e.excerpt))
                    .collect();
                (format!("{} finding(s): {}", f.count, rule.text), examples.join("\n"))
            });
            Case { name: rule.id.to_owned(), failure, skipped: None }
        })
        .collect();
    let probes: Vec<Case> = r
        .probes
        .iter()
        .map(|p| Case {
            name: p.name.clone(),
            failure: (!p.passed).then(|| {
                let got = format!("{:?} {:?}", p.status, p.error_type);
                (format!("expected {} {}, got {got}", p.expected_status, p.expected_error_type), String::new())
            }),
            skipped: None,
        })
        .collect();
    let features: Vec<Case> = r
        .features
        .iter()
        .map(|f| Case {
            name: f.name.clone(),
            failure: (f.status == Status::Fail).then(|| (f.detail.clone(), format!("{}: {}", f.text, f.detail))),
            skipped: (f.status == Status::Unsupported).then(|| f.detail.clone()),
        })
        .collect();
    suite(xml, &format!("{prefix}.thresholds"), "relaybench.thresholds", &thresholds);
    suite(xml, &format!("{prefix}.conformance"), "relaybench.conformance", &rules);
    suite(xml, &format!("{prefix}.probes"), "relaybench.probes", &probes);
    suite(xml, &format!("{prefix}.features"), "relaybench.features", &features);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_control_characters() {
        assert_eq!(escape("a<b & \"c\" 'd'>\u{1}"), "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt; ");
    }
}
