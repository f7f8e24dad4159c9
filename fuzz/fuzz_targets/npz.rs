//! Arbitrary bytes as a JAX `.npz`: opening the archive, reading every member's header and
//! decoding every tensor must return (Ok or Err) without panicking or allocating past the
//! stated member limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vitrs_convert::source::{Npz, TensorSource};

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.npz");
    std::fs::write(&path, data).unwrap();
    if let Ok(npz) = Npz::open(&path) {
        for name in npz.names() {
            // Members are size-checked against their headers at open; keep runs small.
            if npz.dims(&name).is_some_and(|d| d.iter().product::<usize>() <= 1 << 20) {
                let _ = npz.read(&name);
            }
        }
    }
});
