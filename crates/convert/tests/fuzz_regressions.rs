//! Inputs that once crashed a fuzz target; each must now give an error or a value, no panic.

use std::path::Path;

use vitrs_convert::source::{Npz, TensorSource};

#[test]
fn npz_inputs_found_by_the_fuzzer() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if let Ok(npz) = Npz::open(&path) {
            for name in npz.names() {
                let _ = npz.read(&name);
            }
        }
    }
}
