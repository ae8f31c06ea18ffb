//! Every ready scenario's `report.html`, opened in headless Chromium: the page loads
//! with nothing fetched from outside the file, logs nothing to the console, and shows
//! its verdict and chart titles; `relaybench report` renders the saved report to the
//! same bytes. `.ci/run` installs Chromium from the distribution's packages.

use std::path::{Path, PathBuf};
use std::process::Command;

use relaybench::report::html::titles;
use relaybench::report::html_comparison::titles as comparison_titles;

fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_relaybench")
}

fn chromium() -> PathBuf {
    let path = std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    assert!(
        path.exists(),
        "{} not found: this test opens the HTML reports in headless Chromium; install it \
         (`apt-get install chromium`, which `bash .ci/run` does) or point CHROMIUM at one",
        path.display()
    );
    path
}

/// What Chromium saw of a page: the DOM after load, and what the page logged.
struct Visit {
    dom: String,
    console: Vec<String>,
}

fn open(page: &Path, profile: &Path, extra: &[String]) -> Visit {
    let url = format!("file://{}", page.canonicalize().expect("page exists").display());
    let output = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--no-first-run",
            "--enable-logging=stderr",
            "--log-level=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("chromium runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    Visit {
        dom: String::from_utf8_lossy(&output.stdout).into_owned(),
        console: stderr.lines().filter(|l| l.contains(":CONSOLE")).map(str::to_owned).collect(),
    }
}

/// Every `src=`, `href=` and CSS `url(` in the page points inside it: an anchor, a
/// relative file of the report folder, or inline data.
fn outside_references(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attribute in ["src=\"", "href=\"", "url(", "@import"] {
        for (at, _) in html.match_indices(attribute) {
            let value: String = html[at + attribute.len()..].chars().take_while(|&c| c != '"' && c != ')').collect();
            let inside = attribute != "@import" && (value.starts_with('#') || value.starts_with("data:") || !(value.contains(':') || value.starts_with('/')));
            if !inside {
                found.push(format!("{attribute}{value}"));
            }
        }
    }
    found
}

fn run_scenario(scenario: &Path, out: &Path) -> PathBuf {
    let status = Command::new(binary())
        .args(["run", "--quiet", "--out"])
        .arg(out)
        .arg(scenario)
        .env("NO_COLOR", "1")
        .output()
        .expect("relaybench runs");
    let code = status.status.code();
    assert!(matches!(code, Some(0 | 1)), "{}: exit {code:?}\n{}", scenario.display(), String::from_utf8_lossy(&status.stderr));
    let dirs: Vec<PathBuf> = std::fs::read_dir(out).expect("out").map(|e| e.expect("entry").path()).filter(|p| p.is_dir()).collect();
    assert_eq!(dirs.len(), 1, "{}: one report folder", scenario.display());
    dirs[0].clone()
}

/// The report pages of a run folder: its own, and in a comparison one target's (the
/// targets' pages are one run's page, drawn by the same code).
fn pages(dir: &Path) -> Vec<PathBuf> {
    let mut targets: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("folder")
        .map(|e| e.expect("entry").path().join("report.html"))
        .filter(|p| p.exists())
        .collect();
    targets.sort();
    std::iter::once(dir.join("report.html")).chain(targets.into_iter().take(1)).collect()
}

#[test]
fn every_scenario_writes_a_report_page_that_opens_offline_and_renders_again_the_same() {
    chromium();
    let root = std::env::temp_dir().join(format!("relaybench-html-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let scenarios: Vec<PathBuf> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios"))
        .expect("scenarios")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    assert!(scenarios.len() >= 10, "the ready scenarios: {scenarios:?}");
    // The runs mostly wait on the mock's delays, so they go side by side.
    let runs: Vec<(PathBuf, PathBuf)> = std::thread::scope(|s| {
        let handles: Vec<_> = scenarios
            .iter()
            .map(|scenario| {
                let out = root.join(scenario.file_stem().expect("name"));
                s.spawn(move || (scenario.clone(), run_scenario(scenario, &out)))
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("run thread")).collect()
    });
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-screenshots");
    std::fs::create_dir_all(&shots).expect("screenshot folder");
    for (scenario, dir) in &runs {
        let name = scenario.file_stem().and_then(|n| n.to_str()).expect("name");
        let comparison = dir.join("comparison.json").exists();
        for page in pages(dir) {
            let html = std::fs::read_to_string(&page).expect("report.html");
            assert!(html.len() < 4 << 20, "{}: {} bytes", page.display(), html.len());
            assert_eq!(outside_references(&html), Vec::<String>::new(), "{}", page.display());
            let visit = open(&page, &root.join("profile"), &[]);
            assert!(visit.console.is_empty(), "{}: the page logged {:?}", page.display(), visit.console);
            assert!(visit.dom.contains("<h2 id=\"verdict\">Verdict</h2>"), "{}: no verdict", page.display());
            // Every link to a section of the page has its section.
            for (at, _) in html.match_indices("href=\"#") {
                let id: String = html[at + 7..].chars().take_while(|&c| c != '"').collect();
                assert!(html.contains(&format!("id=\"{id}\"")), "{}: a link to #{id} has no section", page.display());
            }
            let own = page.parent() == Some(dir.as_path());
            if comparison && own {
                for title in [comparison_titles::THROUGHPUT, "ttft by target", "Conformance findings per rule", "Usage accounting and cost"] {
                    assert!(visit.dom.contains(title), "{}: lacks {title:?}", page.display());
                }
            } else {
                assert!(visit.dom.contains("class=\"verdict pass\">PASS<") || visit.dom.contains("class=\"verdict fail\">FAIL<"), "{}: no verdict badge", page.display());
                for title in [titles::RATE, titles::IN_FLIGHT, titles::ERRORS, titles::TOKENS, "Distribution of e2e (ms)"] {
                    assert!(visit.dom.contains(title), "{}: lacks the chart {title:?}", page.display());
                }
            }
            if name == "rate-limits" {
                assert!(visit.dom.contains(titles::RATE_LIMITS), "{}: lacks {:?}", page.display(), titles::RATE_LIMITS);
            }
            if name == "capacity-sweep" {
                for title in [titles::SWEEP_RATE, titles::SWEEP_LATENCY] {
                    assert!(visit.dom.contains(title), "{}: lacks {title:?}", page.display());
                }
                // The page says what the report found, whatever this machine's load made of it.
                let report = relaybench::report::read(&dir.join("report.json")).expect("report");
                let sweep = report.phases.iter().find_map(|p| p.sweep.as_ref()).expect("a sweep");
                assert!(visit.dom.contains(&relaybench::report::sweep::max_rate_line(sweep)), "{}: lacks the max rate line", page.display());
                assert_eq!(visit.dom.contains("max within SLO "), sweep.max_rate_within_slo.is_some(), "{}: the max rate's mark", page.display());
            }
            if matches!(name, "smoke" | "capacity-sweep" | "compare-relays") && own {
                let shot = shots.join(format!("{name}.png"));
                open(&page, &root.join("profile"), &["--window-size=1200,4000".into(), format!("--screenshot={}", shot.display())]);
            }
            // Rendered again from the saved report: the same bytes.
            let again = root.join("again.html");
            let status = Command::new(binary()).arg("report").arg(page.parent().expect("folder")).arg("--out").arg(&again).output().expect("report runs");
            assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
            assert!(std::fs::read(&again).expect("again") == html.as_bytes(), "{}: `relaybench report` rendered other bytes", page.display());
        }
    }
    std::fs::remove_dir_all(&root).expect("cleanup");
}

#[test]
fn the_browser_check_sees_a_page_that_reaches_outside_its_file() {
    // The control: without it, a console that is always empty would pass every page. The
    // address is loopback's discard port; the page's policy blocks the load before any
    // connection, and the browser says so on its console.
    let root = std::env::temp_dir().join(format!("relaybench-html-control-{}", std::process::id()));
    std::fs::create_dir_all(&root).expect("tmp");
    let mut page = relaybench::report::page::Page::new("control");
    page.para("a page with one outside image");
    let html = page.finish().replace("</body>", "<img src=\"http://127.0.0.1:9/x.png\" alt=\"\"></body>");
    let path = root.join("control.html");
    std::fs::write(&path, &html).expect("write");
    assert_eq!(outside_references(&html), vec!["src=\"http://127.0.0.1:9/x.png".to_owned()]);
    let visit = open(&path, &root.join("profile"), &[]);
    assert!(visit.console.iter().any(|l| l.contains("Content Security Policy")), "console: {:?}", visit.console);
    assert!(visit.dom.contains("a page with one outside image"));
    std::fs::remove_dir_all(&root).expect("cleanup");
}

#[test]
fn a_merged_report_page_shows_its_workers_in_the_browser() {
    chromium();
    let root = std::env::temp_dir().join(format!("relaybench-html-merged-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).expect("tmp");
    let scenario = root.join("split.yaml");
    std::fs::write(
        &scenario,
        "name: split\nseed: 3\ntarget: {mock: {ttft: 5ms, tokens_per_s: 5000, jitter: 0}}\nmodel: claude-sonnet-4-5\n\
         requests:\n  - {stream: true, max_tokens: 16, prompt: hi}\nload: {executor: constant-rate, rate: 40, requests: 40}\n",
    )
    .expect("scenario");
    let mut folders = Vec::new();
    for i in 0..2 {
        let out = root.join(format!("w{i}"));
        let o = Command::new(binary()).args(["run", "--quiet", "--segment", &format!("{i}/2"), "--out"]).arg(&out).arg(&scenario).output().expect("worker");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        folders.push(out);
    }
    let merged = root.join("merged");
    let o = Command::new(binary()).arg("merge").args(&folders).arg("--out").arg(&merged).output().expect("merge");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let page = merged.join("report.html");
    let html = std::fs::read_to_string(&page).expect("report.html");
    assert_eq!(outside_references(&html), Vec::<String>::new());
    let visit = open(&page, &root.join("profile"), &[]);
    assert!(visit.console.is_empty(), "the page logged {:?}", visit.console);
    assert!(visit.dom.contains("<h2 id=\"workers\">Workers</h2>") && visit.dom.contains("href=\"#workers\""), "no Workers section in the page");
    for title in [titles::WORKER_LAG, titles::WORKER_RATE, titles::TTFT] {
        assert!(visit.dom.contains(title), "lacks the chart {title:?}");
    }
    let again = root.join("again.html");
    let o = Command::new(binary()).arg("report").arg(&merged).arg("--out").arg(&again).output().expect("report runs");
    assert!(o.status.success() && std::fs::read(&again).expect("again") == html.as_bytes(), "`relaybench report` rendered other bytes");
    std::fs::remove_dir_all(&root).expect("cleanup");
}
