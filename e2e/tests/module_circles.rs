//! No module circles: within each crate, at every level of the module tree,
//! no module uses a sibling that uses it back (directly or through other
//! siblings). `docs/architecture.md` ("Dependency rules (as they are)")
//! states the rule; this holds the code to it.
//!
//! A use is a `crate::…` or `super::…` path outside comments and outside
//! test-only code (a `#[cfg(test)]` module, inline or in a file of its
//! own). A module using its parent or its own children is not counted:
//! a parent declares and re-exports its children, which is how Rust
//! modules are built, not a circle.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const CRATES: [&str; 5] = ["protocol", "tutorial", "relay", "web", "e2e"];

/// A module's path inside its crate, `[]` being the crate root.
type ModPath = Vec<String>;

/// A child module declared test-only, and the file `#[path]` names for it.
type TestChild = (String, Option<String>);

/// Sibling modules (by name) and the siblings each uses.
type Edges = BTreeMap<String, BTreeSet<String>>;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("e2e/ sits in the workspace")
        .to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/a/b.rs` and `src/a/b/mod.rs` are `a::b`; `lib.rs` is the root.
fn module_of(src: &Path, file: &Path) -> Option<ModPath> {
    let rel = file.strip_prefix(src).ok()?;
    let mut parts: ModPath = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts.first().is_some_and(|p| p == "bin") {
        return None; // binaries are crates of their own
    }
    let last = parts.pop()?;
    match last.as_str() {
        "lib.rs" | "main.rs" if parts.is_empty() => {}
        "mod.rs" => {}
        name => parts.push(name.trim_end_matches(".rs").to_owned()),
    }
    Some(parts)
}

/// The text without comments and without what follows `#[cfg(test)]`
/// (test modules sit at a file's end), and the names of the child modules
/// it declares test-only, with their files when `#[path]` names one.
fn code_of(text: &str) -> (String, Vec<TestChild>) {
    let mut code = String::new();
    let mut test_children = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        if line == "#[cfg(test)]" {
            let mut path = None;
            let mut j = i + 1;
            while j < lines.len() && lines[j].trim().starts_with("#[") {
                if let Some(p) = lines[j].trim().strip_prefix("#[path = \"") {
                    path = p.strip_suffix("\"]").map(str::to_owned);
                }
                j += 1;
            }
            let next = lines.get(j).map_or("", |l| l.trim());
            let decl = next.strip_prefix("pub ").unwrap_or(next);
            if let Some(name) = decl.strip_prefix("mod ") {
                if let Some(name) = name.strip_suffix(';') {
                    test_children.push((name.to_owned(), path));
                    i = j + 1;
                    continue;
                }
                // An inline test module: the rest of the file is tests.
                break;
            }
            // A single test-only item (a `use`, a function): skip its line.
            i = j + 1;
            continue;
        }
        if !line.starts_with("//") {
            code.push_str(lines[i]);
            code.push('\n');
        }
        i += 1;
    }
    (code, test_children)
}

/// Every `crate::a::b` and `super::a` path in `code`, with one level of
/// `{…}` groups expanded, as the path segments after the prefix.
fn paths_in(code: &str) -> Vec<(bool, Vec<String>)> {
    let mut found = Vec::new();
    for (prefix, is_crate) in [("crate::", true), ("super::", false)] {
        let mut rest = code;
        while let Some(at) = rest.find(prefix) {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue; // `super::super::` is read from its first `super::`
            }
            let mut supers = 0;
            let mut tail = rest;
            while let Some(t) = tail.strip_prefix("super::") {
                supers += 1;
                tail = t;
            }
            let head: String = tail
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':' || *c == '{')
                .collect();
            let mut segments: Vec<String> = head
                .split("::")
                .take_while(|s| !s.is_empty() && !s.contains('{'))
                .map(str::to_owned)
                .collect();
            let mut groups = vec![];
            if head.ends_with('{') || head.contains('{') {
                let open = tail.find('{').unwrap();
                let close = tail[open..].find('}').map_or(tail.len(), |c| open + c);
                for item in tail[open + 1..close].split(',') {
                    let item = item.trim();
                    let first: String = item
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                        .collect();
                    let mut path = segments.clone();
                    path.extend(
                        first
                            .split("::")
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned),
                    );
                    groups.push(path);
                }
            }
            if groups.is_empty() {
                groups.push(std::mem::take(&mut segments));
            }
            for mut path in groups {
                let ups = vec!["super".to_owned(); supers];
                if !is_crate {
                    let mut p = ups;
                    p.append(&mut path);
                    path = p;
                }
                found.push((is_crate, path));
            }
        }
    }
    found
}

/// The longest module of `known` that `path` starts with.
fn resolve(known: &BTreeSet<ModPath>, path: &[String]) -> ModPath {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| known.contains(p))
        .unwrap_or_default()
}

/// The sibling modules (under their common parent) an edge from `from` to
/// `to` joins, unless one contains the other.
fn sibling_edge(from: &ModPath, to: &ModPath) -> Option<(ModPath, String, String)> {
    let common = from.iter().zip(to).take_while(|(a, b)| a == b).count();
    if common == from.len() || common == to.len() {
        return None;
    }
    Some((
        from[..common].to_vec(),
        from[common].clone(),
        to[common].clone(),
    ))
}

/// The strongly connected groups of more than one node (Tarjan).
fn circles(edges: &Edges) -> Vec<Vec<String>> {
    struct Walk<'a> {
        edges: &'a Edges,
        index: BTreeMap<String, usize>,
        low: BTreeMap<String, usize>,
        stack: Vec<String>,
        on_stack: BTreeSet<String>,
        found: Vec<Vec<String>>,
    }
    fn visit(w: &mut Walk<'_>, v: &str) {
        let i = w.index.len();
        w.index.insert(v.to_owned(), i);
        w.low.insert(v.to_owned(), i);
        w.stack.push(v.to_owned());
        w.on_stack.insert(v.to_owned());
        let next: Vec<String> = w.edges.get(v).into_iter().flatten().cloned().collect();
        for n in next {
            if !w.index.contains_key(&n) {
                visit(w, &n);
                let low = w.low[v].min(w.low[&n]);
                w.low.insert(v.to_owned(), low);
            } else if w.on_stack.contains(&n) {
                let low = w.low[v].min(w.index[&n]);
                w.low.insert(v.to_owned(), low);
            }
        }
        if w.low[v] == w.index[v] {
            let mut group = Vec::new();
            while let Some(n) = w.stack.pop() {
                w.on_stack.remove(&n);
                let done = n == v;
                group.push(n);
                if done {
                    break;
                }
            }
            if group.len() > 1 {
                group.sort();
                w.found.push(group);
            }
        }
    }
    let mut w = Walk {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !w.index.contains_key(v) {
            visit(&mut w, v);
        }
    }
    w.found
}

/// Each crate's sibling edges, keyed by (crate, parent module).
fn sibling_graphs() -> BTreeMap<(String, String), Edges> {
    let mut graphs: BTreeMap<(String, String), Edges> = BTreeMap::new();
    for krate in CRATES {
        let src = workspace().join(krate).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        files.sort();
        let mut modules: BTreeMap<ModPath, (String, Vec<TestChild>)> = BTreeMap::new();
        for file in &files {
            if let Some(module) = module_of(&src, file) {
                let text = fs::read_to_string(file).unwrap();
                modules.insert(module, code_of(&text));
            }
        }
        // Test-only children, and the files a `#[path]` points them at.
        let mut test_only: BTreeSet<ModPath> = BTreeSet::new();
        for (module, (_, children)) in &modules {
            for (name, path) in children {
                let mut child = module.clone();
                child.push(name.clone());
                test_only.insert(child);
                if let Some(path) = path {
                    let mut file = module.clone();
                    if let Some(parent_dir) = Path::new(path).parent() {
                        file.extend(parent_dir.iter().map(|p| p.to_string_lossy().into_owned()));
                    }
                    let stem = Path::new(path).file_stem().unwrap().to_string_lossy();
                    // A #[path] file beside a non-mod.rs file sits in its parent's dir.
                    let mut beside = module[..module.len().saturating_sub(1)].to_vec();
                    beside.push(stem.to_string());
                    test_only.insert(beside);
                    file.push(stem.to_string());
                    test_only.insert(file);
                }
            }
        }
        let known: BTreeSet<ModPath> = modules.keys().cloned().collect();
        for (module, (code, _)) in &modules {
            if test_only.iter().any(|t| module.starts_with(t)) {
                continue;
            }
            for (is_crate, path) in paths_in(code) {
                let absolute: ModPath = if is_crate {
                    path
                } else {
                    let mut base = module.clone();
                    let mut rest = path.as_slice();
                    // `super` from `a::b` (a file or a mod.rs) is `a`.
                    base.pop();
                    while rest.first().is_some_and(|s| s == "super") {
                        base.pop();
                        rest = &rest[1..];
                    }
                    if rest.is_empty() {
                        continue;
                    }
                    base.extend(rest.iter().cloned());
                    base
                };
                let to = resolve(&known, &absolute);
                if test_only.iter().any(|t| to.starts_with(t)) {
                    continue;
                }
                if let Some((parent, a, b)) = sibling_edge(module, &to) {
                    graphs
                        .entry((krate.to_owned(), parent.join("::")))
                        .or_default()
                        .entry(a)
                        .or_default()
                        .insert(b);
                }
            }
        }
    }
    graphs
}

#[test]
fn no_module_uses_a_sibling_that_uses_it_back() {
    let mut found = Vec::new();
    for ((krate, parent), edges) in sibling_graphs() {
        for group in circles(&edges) {
            let described: Vec<String> = group
                .iter()
                .map(|m| format!("{m} -> {:?}", edges[m]))
                .collect();
            found.push(format!("{krate} {parent}: {}", described.join("; ")));
        }
    }
    assert!(found.is_empty(), "module circles:\n{}", found.join("\n"));
}

#[test]
fn the_checker_sees_the_edges_it_must() {
    let graphs = sibling_graphs();
    let edges = |krate: &str, parent: &str, from: &str| -> BTreeSet<String> {
        graphs
            .get(&(krate.to_owned(), parent.to_owned()))
            .and_then(|g| g.get(from))
            .cloned()
            .unwrap_or_default()
    };
    // Each form is read: `use crate::a::B;`, `use super::a::{self, B};`,
    // `crate::a::f()` in an expression.
    assert!(edges("relay", "", "record").contains("budget"));
    assert!(edges("relay", "", "bridge").contains("record"));
    assert!(edges("web", "model", "state").contains("replay"));
    assert!(edges("web", "", "labs").contains("socket_url"));
    assert!(edges("protocol", "relay_api", "names").contains("observe"));
    // Tests are not counted: the model's tests use `crate::model`.
    assert!(!graphs.contains_key(&("web".to_owned(), "model::tests".to_owned())));
    let mut demo = BTreeMap::new();
    demo.insert("a".to_owned(), BTreeSet::from(["b".to_owned()]));
    demo.insert("b".to_owned(), BTreeSet::from(["a".to_owned()]));
    assert_eq!(circles(&demo), vec![vec!["a".to_owned(), "b".to_owned()]]);
}

/// A module is a file or a directory, never both: `a.rs` beside `a/`
/// makes a reader look in two places for one module.
#[test]
fn no_module_is_both_a_file_and_a_directory() {
    let mut both = Vec::new();
    for krate in CRATES {
        let mut files = Vec::new();
        rust_files(&workspace().join(krate).join("src"), &mut files);
        for file in files {
            if file.with_extension("").is_dir() {
                both.push(file.display().to_string());
            }
        }
    }
    assert!(
        both.is_empty(),
        "files beside a directory of the same name: {both:?}"
    );
}
