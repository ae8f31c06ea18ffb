//! Datasets are streamed, not loaded whole: writes a JSONL dataset of
//! RELAYBENCH_DATASET_MB megabytes (1024 by default) to a temporary folder, checks it as
//! the scenario loader does, then feeds every record through a run's reader, and prints
//! the time of each pass and the growth of the process's peak memory against the file's
//! size. Run: `cargo bench --bench dataset`.

#![allow(missing_docs)]

use std::io::Write;
use std::time::Instant;

use relaybench::scenario::dataset::{count_kept, DatasetSpec};

/// Peak resident memory so far, in KiB (Linux).
fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok()).unwrap_or(0)
}

fn main() {
    let mb: u64 = std::env::var("RELAYBENCH_DATASET_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(1024);
    let dir = std::env::temp_dir().join("relaybench-dataset-bench");
    std::fs::create_dir_all(&dir).expect("tmp");
    let file = dir.join("big.jsonl");
    let words = "the relay streams tokens over a steady connection while each event arrives in order ".repeat(20);
    let mut out = std::io::BufWriter::new(std::fs::File::create(&file).expect("create"));
    let (mut written, mut records) = (0u64, 0u64);
    while written < mb << 20 {
        let line = format!("{{\"messages\": [{{\"role\": \"user\", \"content\": \"{} {records}\"}}]}}\n", words);
        out.write_all(line.as_bytes()).expect("write");
        written += line.len() as u64;
        records += 1;
    }
    out.flush().expect("flush");
    drop(out);
    let before = peak_kib();

    let spec: DatasetSpec = once_spec(&file);
    let t = Instant::now();
    let kept = count_kept(&file, &spec, 1).expect("valid dataset");
    let check = t.elapsed();
    assert_eq!(kept, records);

    let mut spec = spec;
    spec.resolved = Some((file.clone(), kept, 1));
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let t = Instant::now();
    let fed = runtime.block_on(async {
        let feed = relaybench::load::feed::Feed::start(&spec);
        let mut n = 0u64;
        while feed.next().await.is_some() {
            n += 1;
        }
        n
    });
    let stream = t.elapsed();
    assert_eq!(fed, records);
    let grew = peak_kib().saturating_sub(before);
    println!("dataset {:.0} MB, {records} records", written as f64 / 1e6);
    println!("check pass {:.2} s ({:.0} MB/s); feed pass {:.2} s ({:.0} MB/s)", check.as_secs_f64(), written as f64 / 1e6 / check.as_secs_f64(), stream.as_secs_f64(), written as f64 / 1e6 / stream.as_secs_f64());
    println!("peak memory grew {:.1} MB while reading it twice: {:.3}% of the file", grew as f64 / 1024.0, grew as f64 * 1024.0 / written as f64 * 100.0);
    std::fs::remove_file(&file).ok();
}

/// The dataset spec a scenario would give: `{file, once: true}`.
fn once_spec(file: &std::path::Path) -> DatasetSpec {
    DatasetSpec { file: file.to_owned(), format: None, min_tokens: None, max_tokens: None, sample: None, once: true, resolved: None }
}
