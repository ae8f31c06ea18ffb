//! Replays every committed fuzz input (`fuzz/corpus/TARGET/`, and the inputs that once
//! crashed, under `fuzz/regressions/TARGET/`) through the fuzz targets' own code, on
//! stable Rust: what libFuzzer explored, and every crash it found, stays tested in CI.

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::Path;

/// A fuzz target: its name, and what it does with one input.
type Target = (&'static str, fn(&[u8]));

const TARGETS: [Target; 9] = [
    ("sse_split", harness::sse_split),
    ("stream_checker", harness::stream_checker),
    ("message_checker", harness::message_checker),
    ("scenario", harness::scenario),
    ("thresholds", harness::thresholds),
    ("report", harness::report),
    ("fast_delta", harness::fast_delta),
    ("chunked", harness::chunked),
    ("frame", harness::frame),
];

fn inputs(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
    files.sort();
    files
}

#[test]
fn every_committed_fuzz_input_runs_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    for (target, run) in TARGETS {
        let corpus = inputs(&root.join("corpus").join(target));
        assert!(!corpus.is_empty(), "fuzz/corpus/{target} has no seeds");
        for file in corpus.iter().chain(&inputs(&root.join("regressions").join(target))) {
            let data = std::fs::read(file).expect("read a fuzz input");
            // A panic names the input, so it can be rerun with `cargo fuzz run TARGET FILE`.
            if let Err(e) = std::panic::catch_unwind(|| run(&data)) {
                let message = e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned())).unwrap_or_default();
                panic!("{target} fails on {}: {message}", file.display());
            }
        }
    }
}

#[test]
fn the_report_corpus_holds_reports_that_decode_so_every_renderer_runs() {
    // The report target renders only what decodes; a corpus of refusals would test no
    // renderer at all.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/report");
    let decoded = inputs(&dir)
        .iter()
        .filter(|f| serde_json::from_slice::<relaybench::report::Report>(&std::fs::read(f).expect("read")).is_ok())
        .count();
    assert!(decoded >= 10, "only {decoded} inputs of fuzz/corpus/report decode to a report");
}
