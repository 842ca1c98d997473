//! Files the tests read: recorded client requests (`tests/fixtures`), the fuzz corpus and the
//! recorded API Gateway events (`events/`), by path from the crate root.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// A path under the crate root.
pub fn path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// The text of a file under the crate root.
#[track_caller]
pub fn text(relative: &str) -> String {
    let full = path(relative);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// A JSON file under the crate root.
#[track_caller]
pub fn json(relative: &str) -> Value {
    serde_json::from_str(&text(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// A recorded request body from `tests/fixtures`.
#[track_caller]
pub fn fixture(relative: &str) -> Value {
    json(&format!("tests/fixtures/{relative}"))
}

/// The files of a directory under the crate root, sorted by name.
#[track_caller]
pub fn files(relative: &str) -> Vec<PathBuf> {
    let dir = path(relative);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            e.unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .path()
        })
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}
