//! The workspace's `unsafe_code` lint is `deny` rather than `forbid` only
//! so that one item may allow it: glibc's `malloc_trim` call in
//! disque-embedded/src/trim.rs. This test keeps it that way: no other
//! source file of the workspace may mention the lint (to allow or expect
//! it) or contain an `unsafe` block, function, trait or impl, and no member
//! crate may set its own lints instead of the workspace's.

use std::path::{Path, PathBuf};

const ALLOWED: &str = "disque-embedded/src/trim.rs";
/// This file, which names what it looks for.
const CHECKER: &str = "disque-embedded/tests/unsafe_code.rs";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// Every file under `dir` ending in `ext`, skipping build output, the
/// fuzz crate (outside the workspace) and hidden folders.
fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if !(name.starts_with('.') || name == "target" || name == "fuzz") {
                files(&path, ext, out);
            }
        } else if name.ends_with(ext) {
            out.push(path);
        }
    }
}

fn relative(path: &Path) -> String {
    path.strip_prefix(workspace())
        .unwrap()
        .to_string_lossy()
        .replace('\\', "/")
}

#[test]
fn only_trim_rs_may_use_unsafe_code() {
    let mut sources = Vec::new();
    files(&workspace(), ".rs", &mut sources);
    assert!(sources.len() > 50, "walked {} files", sources.len());
    let lint = "unsafe_code";
    let keyword = "unsafe ";
    let mut found = Vec::new();
    for path in &sources {
        let rel = relative(path);
        if rel == ALLOWED || rel == CHECKER {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            let opens_unsafe = code.split('"').step_by(2).any(|outside_strings| {
                outside_strings.contains(&format!("{keyword}{{"))
                    || ["fn ", "impl", "trait ", "extern "]
                        .iter()
                        .any(|item| outside_strings.contains(&format!("{keyword}{item}")))
            });
            if line.contains(lint) || opens_unsafe {
                found.push(format!("{rel}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "unsafe code outside {ALLOWED}:\n{}",
        found.join("\n")
    );
    let trim = std::fs::read_to_string(workspace().join(ALLOWED)).unwrap();
    assert_eq!(trim.matches(&format!("allow({lint})")).count(), 1);
    assert_eq!(trim.matches("// SAFETY:").count(), 1);
}

#[test]
fn every_crate_takes_the_workspace_lints() {
    let mut manifests = Vec::new();
    files(&workspace(), "Cargo.toml", &mut manifests);
    let lint = "unsafe_code";
    for path in manifests {
        let rel = relative(&path);
        let text = std::fs::read_to_string(&path).unwrap();
        if rel == "Cargo.toml" {
            assert!(text.contains(&format!("{lint} = \"deny\"")), "{rel}");
            continue;
        }
        assert!(!text.contains(lint), "{rel} sets {lint} itself");
        assert!(
            text.contains("[lints]\nworkspace = true"),
            "{rel} does not take the workspace's lints"
        );
    }
}
