//! Arbitrary text as a Hub revision (`org/name@REV`) and as the content of a cache `refs/`
//! file: whatever is accepted is a commit hash or a plain name that cannot leave the cache,
//! and nothing panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vitrs::hub::{check_revision, lookup_cached, ModelSpec, ResolveOptions};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if check_revision(text).is_ok() {
        assert!(!text.contains(".."), "{text:?}");
        assert!(!text.starts_with('/') && !text.ends_with('/'), "{text:?}");
        assert!(!text.contains(['\\', '\0', ' ', ':']), "{text:?}");
    }
    let _ = format!("org/name@{text}").parse::<ModelSpec>();
    // The same text as what refs/main holds.
    let tmp = tempfile::tempdir().unwrap();
    let refs = tmp.path().join("models--org--name").join("refs");
    std::fs::create_dir_all(&refs).unwrap();
    std::fs::write(refs.join("main"), data).unwrap();
    let opts = ResolveOptions::new(tmp.path());
    let _ = lookup_cached("org/name", None, &opts);
});
