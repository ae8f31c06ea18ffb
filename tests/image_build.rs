//! The Dockerfile's build, without a docker daemon: its build stage's commands run as a
//! script in a copy of the build context (what `.dockerignore` lets through), and the file
//! its runtime stage copies out must then exist and run as the image's entrypoint would,
//! printing the version the image is labelled with. A release build from scratch takes
//! minutes; its target folder is kept under `target/` so later runs rebuild only what
//! changed.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Dockerfile's instructions, continuation lines joined: (stage name, instruction,
/// arguments).
fn instructions(text: &str) -> Vec<(String, String, String)> {
    let mut joined = Vec::new();
    let mut current = String::new();
    for line in text.lines().map(str::trim).filter(|l| !l.starts_with('#')) {
        match line.strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => {
                current.push_str(line);
                if !current.trim().is_empty() {
                    joined.push(std::mem::take(&mut current));
                }
                current.clear();
            }
        }
    }
    let mut stage = String::new();
    joined
        .into_iter()
        .map(|line| {
            let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((&line, ""));
            let word = word.to_uppercase();
            if word == "FROM" {
                stage = rest.split_whitespace().skip_while(|w| !w.eq_ignore_ascii_case("as")).nth(1).unwrap_or("final").to_owned();
            }
            (stage.clone(), word, rest.trim().to_owned())
        })
        .collect()
}

/// Copies the build context: every file but those `.dockerignore` names (paths from the
/// context's root, as this repository's are).
fn copy_context(root: &Path, relative: &Path, to: &Path, ignored: &[String]) {
    std::fs::create_dir_all(to.join(relative)).expect("context folder");
    for entry in std::fs::read_dir(root.join(relative)).expect("read").flatten() {
        let path = relative.join(entry.file_name());
        if ignored.iter().any(|i| Path::new(i) == path) {
            continue;
        }
        if entry.path().is_dir() {
            copy_context(root, &path, to, ignored);
        } else {
            std::fs::copy(entry.path(), to.join(&path)).expect("copy");
        }
    }
}

#[test]
fn the_dockerfile_build_stage_makes_the_binary_its_runtime_stage_copies() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let steps = instructions(&std::fs::read_to_string(root.join("Dockerfile")).expect("Dockerfile"));
    let ignored: Vec<String> = std::fs::read_to_string(root.join(".dockerignore")).expect(".dockerignore").lines().map(|l| l.trim().trim_matches('/').to_owned()).filter(|l| !l.is_empty()).collect();
    assert!(ignored.contains(&"target".to_owned()), "the build context leaves target/ out");

    // The build stage: its WORKDIR is the context's copy; `COPY . .` is the copy itself.
    let build: Vec<&(String, String, String)> = steps.iter().filter(|(stage, _, _)| stage == "build").collect();
    assert!(build.iter().any(|(_, word, args)| word == "COPY" && args == ". ."), "the build stage copies the context: {build:?}");
    let workdir = build.iter().find(|(_, word, _)| word == "WORKDIR").map(|(_, _, a)| a.clone()).expect("a WORKDIR");
    let context = std::env::temp_dir().join(format!("relaybench-image-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&context);
    copy_context(root, Path::new(""), &context, &ignored);
    // The build's target folder outlives the test, so the next run builds incrementally.
    let kept = root.join("target").join("image-build");
    std::fs::create_dir_all(&kept).expect("target/image-build");
    std::os::unix::fs::symlink(&kept, context.join("target")).expect("link target/");
    for (_, _, script) in build.iter().filter(|(_, word, _)| word == "RUN") {
        let o = Command::new("sh").args(["-ec", script]).current_dir(&context).env_remove("CARGO_TARGET_DIR").env("CARGO_INCREMENTAL", "0").output().expect("sh");
        assert!(o.status.success(), "RUN {script}\n{}", String::from_utf8_lossy(&o.stderr));
    }

    // The runtime stage copies the binary from the build stage's path and runs it.
    let runtime: Vec<&(String, String, String)> = steps.iter().filter(|(stage, _, _)| stage == "final").collect();
    let copy = runtime.iter().find(|(_, word, args)| word == "COPY" && args.starts_with("--from=build")).map(|(_, _, a)| a.clone()).expect("COPY --from=build");
    let source = copy.split_whitespace().nth(1).expect("a source path");
    let inside: PathBuf = context.join(Path::new(source).strip_prefix(&workdir).expect("the source lies in the WORKDIR"));
    assert!(inside.is_file(), "{source} was not built: {}", inside.display());
    let entrypoint = runtime.iter().find(|(_, word, _)| word == "ENTRYPOINT").map(|(_, _, a)| a.clone()).expect("ENTRYPOINT");
    let target = copy.split_whitespace().nth(2).expect("a destination");
    assert_eq!(entrypoint, format!("[\"{target}\"]"), "the entrypoint is the binary copied in");
    let version = Command::new(&inside).arg("--version").output().expect("the built binary runs");
    assert_eq!(String::from_utf8_lossy(&version.stdout).trim(), format!("relaybench {}", env!("CARGO_PKG_VERSION")));
    let label = runtime.iter().find(|(_, word, args)| word == "ARG" && args.starts_with("VERSION=")).map(|(_, _, a)| a.clone()).expect("ARG VERSION");
    assert_eq!(label, format!("VERSION={}", env!("CARGO_PKG_VERSION")), "the image is labelled with the binary's version");
    let _ = std::fs::remove_dir_all(&context);
}
