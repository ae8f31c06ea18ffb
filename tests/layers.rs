//! The house rules of `src/`, checked so they hold without review: every module lives on
//! one floor and imports only from floors below its own; no files import each other in a
//! circle (inside a module folder either); no file passes the line limit. The floors are
//! the one table below, mirrored in docs/architecture.md (also checked).
//!
//! Imports are read as text: comments and string literals are blanked, then every path
//! that starts with `crate::`, `super::`, `self::`, a child module declared with `mod x;`,
//! or (in `main.rs`) `relaybench::` is resolved to the module and the file it names,
//! following `pub use` re-exports to the file that defines the name.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The floors, lowest first: (name, modules on it). A module imports only from lower
/// floors. `main` is the binary.
const FLOORS: &[(&str, &[&str])] = &[
    ("foundations", &["headers", "protocol", "rng", "sse", "stop", "text", "yaml"]),
    ("derived data", &["schemas", "synth"]),
    ("conformance", &["conformance"]),
    ("records", &["outcome", "provider"]),
    ("wire", &["client", "metrics", "mock", "retry"]),
    ("one-off requests and expressions", &["calibrate", "features", "probes", "thresholds", "tokenizer"]),
    ("input model", &["scenario"]),
    ("load", &["load"]),
    ("report", &["report"]),
    ("run", &["cli", "run"]),
    ("binary", &["main"]),
];

/// Longest source file, in lines.
const MAX_LINES: usize = 800;

/// Source files by path relative to `src/`.
type Tree = BTreeMap<String, String>;

#[test]
fn imports_go_only_downward_and_no_file_is_too_long() {
    let tree = read_tree(Path::new(env!("CARGO_MANIFEST_DIR")).join("src").as_path());
    assert!(tree.len() > 20, "src/ was not read");
    let problems = check(&tree);
    assert!(problems.is_empty(), "the house rules of src/ are broken:\n{}", problems.join("\n"));
}

#[test]
fn the_architecture_page_lists_the_same_floors() {
    let page = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/architecture.md")).expect("docs/architecture.md");
    let section = page.split("\n## ").next().unwrap_or(&page);
    let mut found: Vec<(usize, Vec<String>)> = Vec::new();
    for line in section.lines().filter(|l| l.starts_with("| ")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let Ok(floor) = cells[1].parse::<usize>() else { continue };
        let modules = cells[2].split('`').skip(1).step_by(2).map(str::to_owned).collect();
        found.push((floor, modules));
    }
    found.sort();
    let expected: Vec<(usize, Vec<String>)> =
        FLOORS.iter().enumerate().map(|(i, (_, mods))| (i + 1, mods.iter().map(|m| (*m).to_owned()).collect())).collect();
    assert_eq!(found, expected, "docs/architecture.md's floor table must list the floors of tests/layers.rs");
}

// ---- the checks, over an in-memory tree so they can be tested on broken trees ----

fn read_tree(src: &Path) -> Tree {
    fn walk(dir: &Path, src: &Path, tree: &mut Tree) {
        for entry in std::fs::read_dir(dir).expect("readable src/") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, src, tree);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(src).expect("under src").to_string_lossy().replace('\\', "/");
                tree.insert(rel, std::fs::read_to_string(&path).expect("utf-8 source"));
            }
        }
    }
    let mut tree = Tree::new();
    walk(src, src, &mut tree);
    tree
}

/// Every broken rule, one line each, naming the file, line and import.
fn check(tree: &Tree) -> Vec<String> {
    let mut problems = Vec::new();
    let floor_of: BTreeMap<&str, usize> =
        FLOORS.iter().enumerate().flat_map(|(i, (_, mods))| mods.iter().map(move |m| (*m, i + 1))).collect();
    let modules: BTreeSet<String> = tree.keys().filter_map(|f| top_module(f)).collect();
    for m in &modules {
        if !floor_of.contains_key(m.as_str()) {
            problems.push(format!("module `{m}` is on no floor: add it to FLOORS in tests/layers.rs and to docs/architecture.md"));
        }
    }
    for m in floor_of.keys().filter(|m| !modules.contains(**m)) {
        problems.push(format!("FLOORS names `{m}`, which is not a module of src/"));
    }
    for (file, text) in tree {
        let lines = text.lines().count();
        if lines > MAX_LINES {
            problems.push(format!("src/{file} has {lines} lines (limit {MAX_LINES}): split it along its concerns"));
        }
    }
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (file, text) in tree {
        let Some(own) = top_module(file) else { continue };
        for import in imports(file, text, tree) {
            let Some(target) = import.module.first() else { continue };
            if let (Some(&from), Some(&to)) = (floor_of.get(own.as_str()), floor_of.get(target.as_str())) {
                if *target != own && to >= from {
                    problems.push(format!(
                        "src/{file}:{} imports `{}` from floor {to} ({}), but `{own}` is on floor {from} ({}): imports go only downward",
                        import.line,
                        import.text,
                        FLOORS[to - 1].0,
                        FLOORS[from - 1].0
                    ));
                }
            }
            if let Some(to_file) = resolve_file(&import.module, tree, 0) {
                if to_file != *file {
                    edges.entry(file.clone()).or_default().insert(to_file);
                }
            }
        }
    }
    if let Some(circle) = find_circle(&edges) {
        problems.push(format!("files import each other in a circle: {}", circle.join(" -> ")));
    }
    problems
}

/// The top-level module a file belongs to (`main` for the binary), None for `lib.rs`.
fn top_module(file: &str) -> Option<String> {
    match file {
        "lib.rs" => None,
        "main.rs" => Some("main".into()),
        _ => Some(file.split('/').next()?.trim_end_matches(".rs").to_owned()),
    }
}

/// The module path a file defines: `a/b.rs` and `a/b/mod.rs` are `[a, b]`.
fn module_path(file: &str) -> Vec<String> {
    if file == "lib.rs" || file == "main.rs" {
        return Vec::new();
    }
    let mut parts: Vec<String> = file.trim_end_matches(".rs").split('/').map(str::to_owned).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// One path a file uses, resolved to an absolute module path (crate root first).
struct Import {
    line: usize,
    text: String,
    module: Vec<String>,
}

/// Every crate-internal path in `text`, resolved.
fn imports(file: &str, text: &str, tree: &Tree) -> Vec<Import> {
    let code = blank_comments_and_strings(text);
    let own = module_path(file);
    let children = declared_children(&code);
    let inline = inline_modules(&code);
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let boundary = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_' || bytes[i - 1] == b':');
        if !boundary || !(bytes[i].is_ascii_alphabetic() || bytes[i] == b'_') {
            i += 1;
            continue;
        }
        let (paths, end) = read_path(&code, i);
        for segments in paths {
            if segments.len() < 2 {
                continue;
            }
            let mut scope: Vec<String> = own.clone();
            let inside: Vec<&str> = inline.iter().filter(|(s, e, _)| *s <= i && i < *e).map(|(_, _, n)| n.as_str()).collect();
            scope.extend(inside.iter().map(|s| (*s).to_owned()));
            let first = segments[0].as_str();
            let module = match first {
                "crate" => segments[1..].to_vec(),
                "relaybench" if file == "main.rs" => segments[1..].to_vec(),
                "self" => scope.iter().cloned().chain(segments[1..].iter().cloned()).collect(),
                "super" => {
                    let ups = segments.iter().take_while(|s| *s == "super").count();
                    let kept = scope.len().saturating_sub(ups);
                    scope[..kept].iter().cloned().chain(segments[ups..].iter().cloned()).collect()
                }
                _ if inside.is_empty() && children.contains(first) => own.iter().cloned().chain(segments.iter().cloned()).collect(),
                _ => continue,
            };
            let known = module.first().is_some_and(|m| tree.contains_key(&format!("{m}.rs")) || tree.contains_key(&format!("{m}/mod.rs")));
            if known {
                let line = code[..i].matches('\n').count() + 1;
                out.push(Import { line, text: segments.join("::"), module });
            }
        }
        i = end.max(i + 1);
    }
    out
}

/// Reads `a::b::{c, d::e}` starting at `at`: every full path, and where it ends.
fn read_path(code: &str, at: usize) -> (Vec<Vec<String>>, usize) {
    let bytes = code.as_bytes();
    let ident_end = |mut j: usize| {
        while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
            j += 1;
        }
        j
    };
    let mut segments = Vec::new();
    let mut j = at;
    loop {
        let end = ident_end(j);
        if end == j {
            break;
        }
        segments.push(code[j..end].to_owned());
        j = end;
        if !code[j..].starts_with("::") {
            return (vec![segments], j);
        }
        j += 2;
        if code[j..].starts_with('{') {
            // A group: each item is a path of its own below the prefix.
            let close = matching_brace(code, j).unwrap_or(code.len());
            let mut paths = Vec::new();
            for item in split_top_level(&code[j + 1..close.min(code.len())]) {
                let item = item.trim();
                if item == "self" {
                    paths.push(segments.clone());
                } else if !item.is_empty() && item != "*" {
                    for tail in read_path(item, 0).0 {
                        paths.push(segments.iter().cloned().chain(tail).collect());
                    }
                }
            }
            return (paths, close + 1);
        }
        if code[j..].starts_with('*') {
            return (vec![segments], j + 1);
        }
    }
    (vec![segments], j)
}

fn matching_brace(code: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (k, b) in code.bytes().enumerate().skip(open) {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(k);
                }
            }
            _ => {}
        }
    }
    None
}

fn split_top_level(group: &str) -> Vec<&str> {
    let (mut depth, mut start, mut items) = (0usize, 0, Vec::new());
    for (k, b) in group.bytes().enumerate() {
        match b {
            b'{' => depth += 1,
            b'}' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => {
                items.push(&group[start..k]);
                start = k + 1;
            }
            _ => {}
        }
    }
    items.push(&group[start..]);
    items
}

/// Modules declared as files: `mod x;` and `pub mod x;`.
fn declared_children(code: &str) -> BTreeSet<&str> {
    code.split(';')
        .filter_map(|stmt| {
            let words: Vec<&str> = stmt.split_whitespace().collect();
            match words.as_slice() {
                [.., "mod", name] => Some(*name),
                _ => None,
            }
        })
        .collect()
}

/// Inline modules (`mod tests { … }`): their byte span and name.
fn inline_modules(code: &str) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(k) = code[from..].find("mod ") {
        let at = from + k;
        from = at + 4;
        if at > 0 && (code.as_bytes()[at - 1].is_ascii_alphanumeric() || code.as_bytes()[at - 1] == b'_') {
            continue;
        }
        let rest = &code[at + 4..];
        let name: String = rest.trim_start().chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        let after = rest.trim_start()[name.len()..].trim_start();
        if !name.is_empty() && after.starts_with('{') {
            let open = code.len() - after.len();
            let close = matching_brace(code, open).unwrap_or(code.len());
            out.push((open, close, name));
        }
    }
    out
}

/// The file a module path lands in, following `pub use` re-exports of the name after it.
fn resolve_file(module: &[String], tree: &Tree, depth: usize) -> Option<String> {
    let (file, taken) = (1..=module.len()).rev().find_map(|k| {
        let base = module[..k].join("/");
        [format!("{base}.rs"), format!("{base}/mod.rs")].into_iter().find(|f| tree.contains_key(f)).map(|f| (f, k))
    })?;
    let Some(name) = module.get(taken) else { return Some(file) };
    if depth > 8 {
        return Some(file);
    }
    for (exported, target) in reexports(&file, &tree[&file], tree) {
        let hit = match exported.as_str() {
            "*" => resolve_file(&target, tree, depth + 1).is_some_and(|f| defines(&tree[&f], name)),
            _ => exported == *name,
        };
        if hit {
            let mut path = target.clone();
            if exported == "*" {
                path.push(name.clone());
            }
            return resolve_file(&path, tree, depth + 1);
        }
    }
    Some(file)
}

/// `pub use` items of a file: (name made public or `*`, the module path it comes from).
fn reexports(file: &str, text: &str, tree: &Tree) -> Vec<(String, Vec<String>)> {
    let code = blank_comments_and_strings(text);
    let children = declared_children(&code);
    let mut out = Vec::new();
    for stmt in code.split(';') {
        let Some(at) = stmt.find("pub use ") else { continue };
        let path_text = stmt[at + 8..].trim();
        // Read alone, a path into a child module needs the `self::` its file implies.
        let first = path_text.split("::").next().unwrap_or_default();
        let path_text = if children.contains(first) { format!("self::{path_text}") } else { path_text.to_owned() };
        let path_text = path_text.as_str();
        let imports_here = imports(file, path_text, tree);
        let glob = path_text.ends_with('*');
        for import in imports_here {
            let mut module = import.module.clone();
            let last = if glob { "*".to_owned() } else { module.pop().unwrap_or_default() };
            if glob {
                out.push((last, import.module));
            } else {
                let name = path_text.rsplit(" as ").next().filter(|_| path_text.contains(" as ")).map(str::to_owned).unwrap_or(last.clone());
                module.push(last);
                out.push((name, module));
            }
        }
    }
    out
}

fn defines(text: &str, name: &str) -> bool {
    ["fn", "struct", "enum", "const", "static", "trait", "type", "mod"]
        .iter()
        .any(|kw| text.contains(&format!("{kw} {name}(")) || text.contains(&format!("{kw} {name} ")) || text.contains(&format!("{kw} {name}<")) || text.contains(&format!("{kw} {name}:")) || text.contains(&format!("{kw} {name};")))
}

/// A circle among files, as a path that ends where it began.
fn find_circle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(n: &str, edges: &BTreeMap<String, BTreeSet<String>>, state: &mut BTreeMap<String, u8>, stack: &mut Vec<String>) -> Option<Vec<String>> {
        state.insert(n.to_owned(), 1);
        stack.push(n.to_owned());
        for m in edges.get(n).into_iter().flatten() {
            match state.get(m.as_str()) {
                Some(1) => {
                    let from = stack.iter().position(|s| s == m).unwrap_or(0);
                    return Some(stack[from..].iter().cloned().chain([m.clone()]).map(|f| format!("src/{f}")).collect());
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(m, edges, state, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        state.insert(n.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in edges.keys() {
        if !state.contains_key(n.as_str()) {
            if let Some(c) = visit(n, edges, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

/// `text` with comments and the insides of string and char literals replaced by spaces
/// (newlines kept), so only code is read.
fn blank_comments_and_strings(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if (c == 'r' || (c == 'b' && next == Some('r'))) && !prev_is_ident(&chars, i) && raw_string_start(&chars, i).is_some() {
            let (open_len, hashes) = raw_string_start(&chars, i).unwrap_or((0, 0));
            out.extend(std::iter::repeat_n(' ', open_len));
            i += open_len;
            let closing: Vec<char> = std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
            while i < chars.len() && chars[i..].iter().take(closing.len()).ne(closing.iter()) {
                out.push(blank(chars[i]));
                i += 1;
            }
            out.extend(std::iter::repeat_n(' ', closing.len().min(chars.len() - i)));
            i += closing.len();
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < chars.len() {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' && (next == Some('\\') || chars.get(i + 2) == Some(&'\'')) {
            // A char literal; a lifetime has no closing quote right after one char.
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                out.push(' ');
                i += 1;
            }
            out.push(' ');
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn prev_is_ident(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

/// At `r"`, `r#"`, `br"`…: the opening's length and its number of `#`.
fn raw_string_start(chars: &[char], i: usize) -> Option<(usize, usize)> {
    let mut j = i + if chars[i] == 'b' { 2 } else { 1 };
    let hashes = chars[j..].iter().take_while(|c| **c == '#').count();
    j += hashes;
    (chars.get(j) == Some(&'"')).then_some((j + 1 - i, hashes))
}

// ---- the checks shown failing on trees that break them ----

fn tree(files: &[(&str, &str)]) -> Tree {
    let mut t: Tree = FLOORS
        .iter()
        .flat_map(|(_, mods)| mods.iter())
        .filter(|m| **m != "main")
        .map(|m| (format!("{m}.rs"), String::new()))
        .collect();
    t.insert("lib.rs".into(), String::new());
    t.insert("main.rs".into(), String::new());
    for (f, text) in files {
        t.insert((*f).to_owned(), (*text).to_owned());
    }
    t
}

#[test]
fn a_clean_tree_passes() {
    let t = tree(&[
        ("client.rs", "use crate::sse::Parser;\nuse crate::conformance::{Finding, request::{self, RequestFacts}};\n"),
        ("main.rs", "use relaybench::run::run;\n"),
        ("sse.rs", "// crate::client in a comment\nconst S: &str = \"crate::client::X\";\nconst R: &str = r#\"crate::load\"#;\nfn f<'a>(x: &'a str) -> char { 'c' }\n"),
    ]);
    assert_eq!(check(&t), Vec::<String>::new());
}

#[test]
fn an_upward_import_is_named_with_its_file_line_and_floors() {
    let t = tree(&[("sse.rs", "\n\nuse crate::client::Client;\n")]);
    let problems = check(&t);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("src/sse.rs:3 imports `crate::client::Client` from floor 5 (wire), but `sse` is on floor 1 (foundations)"), "{}", problems[0]);
    // Sideways is upward too: two modules of one floor do not import each other.
    let t = tree(&[("metrics.rs", "fn f() { crate::client::send(); }\n")]);
    assert!(check(&t).iter().any(|p| p.contains("src/metrics.rs:1 imports `crate::client::send`")), "{:?}", check(&t));
    // In a group, through `super` from a top-level file, and from the binary.
    let t = tree(&[("conformance.rs", "use crate::{sse, report::Report};\n"), ("rng.rs", "use super::load::Stop;\n")]);
    let problems = check(&t);
    assert!(problems.iter().any(|p| p.contains("`crate::report::Report`")) && problems.iter().any(|p| p.contains("`super::load::Stop`")), "{problems:?}");
}

#[test]
fn a_circle_of_files_inside_a_module_is_found_through_reexports() {
    let mut t = tree(&[
        ("report/mod.rs", "pub mod files;\npub mod model;\npub use model::*;\n"),
        ("report/model.rs", "pub struct Report;\nuse super::files::write;\n"),
        ("report/files.rs", "use super::Report;\npub fn write() {}\n"),
    ]);
    t.remove("report.rs");
    let problems = check(&t);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("files import each other in a circle: src/report/"), "{}", problems[0]);
    assert!(problems[0].contains("src/report/files.rs") && problems[0].contains("src/report/model.rs"), "{}", problems[0]);
    // The same names taken from the defining file make no circle.
    t.insert("report/model.rs".into(), "pub struct Report;\n".into());
    assert_eq!(check(&t), Vec::<String>::new());
}

#[test]
fn a_long_file_and_a_module_off_the_table_are_named() {
    let long = "fn f() {}\n".repeat(MAX_LINES + 1);
    let t = tree(&[("sse.rs", long.as_str()), ("gadget.rs", "")]);
    let problems = check(&t);
    assert!(problems.iter().any(|p| p == &format!("src/sse.rs has {} lines (limit {MAX_LINES}): split it along its concerns", MAX_LINES + 1)), "{problems:?}");
    assert!(problems.iter().any(|p| p.starts_with("module `gadget` is on no floor")), "{problems:?}");
}
