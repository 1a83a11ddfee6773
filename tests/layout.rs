//! The layout `src/lib.rs` describes, checked on the source: dependencies between top-level
//! modules point one way (no cycles), faces do not reach into each other, the threads core
//! knows no face, and the storage engine stays inside `store`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level module → the top-level modules its files name as `crate::…`.
fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(&src).unwrap();
            let first = relative.components().next().unwrap().as_os_str();
            let module = first.to_str().unwrap().trim_end_matches(".rs").to_string();
            if module == "lib" || module == "main" {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let used = deps.entry(module.clone()).or_default();
            for (i, _) in text.match_indices("crate::") {
                let name: String = text[i + 7..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && name != module {
                    used.insert(name);
                }
            }
        }
    }
    deps
}

/// Whether `to` can be reached from `from` by following dependencies.
fn reaches(deps: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from.to_string()];
    while let Some(module) = todo.pop() {
        for next in deps.get(&module).into_iter().flatten() {
            if next == to {
                return true;
            }
            if seen.insert(next.clone()) {
                todo.push(next.clone());
            }
        }
    }
    false
}

#[test]
fn top_level_modules_depend_on_each_other_one_way() {
    let deps = dependencies();
    for module in deps.keys() {
        assert!(
            !reaches(&deps, module, module),
            "{module} depends on itself through {:?}",
            deps[module]
        );
    }
}

#[test]
fn the_core_knows_no_face_and_faces_do_not_reach_into_each_other() {
    let deps = dependencies();
    let faces = ["ws", "rest", "freddy", "slack"];
    for face in faces.iter().chain(&["http"]) {
        assert!(!reaches(&deps, "threads", face), "threads reaches {face}");
    }
    for face in faces {
        for other in faces.iter().filter(|other| **other != face) {
            assert!(!deps[face].contains(*other), "{face} imports {other}");
        }
    }
}

#[test]
fn the_storage_engine_stays_inside_store() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if !path.ends_with("store") {
                    stack.push(path);
                }
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for engine in ["sled::", "tokio_postgres::", "deadpool_postgres::"] {
                assert!(
                    !text.contains(engine),
                    "{} names {engine}",
                    path.strip_prefix(&src).unwrap().display()
                );
            }
        }
    }
}
