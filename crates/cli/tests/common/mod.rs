//! What the binary's integration tests share: the repository's paths and running `vitrs`.
//! (Each test file uses a part of it.)
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (fixtures live under it).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A committed model case: `fixtures/models/<case>`.
pub fn model_fixture(case: &str) -> PathBuf {
    root().join("fixtures/models").join(case)
}

/// The `vitrs` binary with `args` and `env` set, run to its end.
pub fn vitrs_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vitrs"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

/// The `vitrs` binary with `args`, run to its end.
pub fn vitrs(args: &[&str]) -> Output {
    vitrs_env(args, &[])
}

/// A path as the `&str` argument it is passed as.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// What a run printed to stderr.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts that a run succeeded, showing its stderr if not.
pub fn ok(o: &Output) {
    assert!(o.status.success(), "{}", stderr(o));
}
