//! Where things are in the workspace.

use std::path::PathBuf;

/// The workspace root (the parent of `xtask/`).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}

/// Committed fixtures.
pub fn fixtures() -> PathBuf {
    root().join("fixtures")
}

/// Generated full-size fixtures (git-ignored).
pub fn full_fixtures() -> PathBuf {
    fixtures().join("full")
}
