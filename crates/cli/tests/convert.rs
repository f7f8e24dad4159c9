//! `vitrs convert` driven as a user drives it.
#![cfg(feature = "cli")]

use std::path::{Path, PathBuf};

mod common;
use common::vitrs;

fn fixture(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/convert")
        .join(case)
}

#[test]
fn timm_converts_to_a_loadable_folder_with_a_preprocessor() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("hf");
    let src = fixture("timm_tiny_head");
    let o = vitrs(&[
        "convert",
        src.to_str().unwrap(),
        out.to_str().unwrap(),
        "--dtype",
        "bf16",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("Timm checkpoint"));
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["layer_norm_eps"], 1e-6);
    assert_eq!(cfg["num_attention_heads"], 3);
    assert_eq!(cfg["architectures"][0], "ViTForImageClassification");
    let pp: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("preprocessor_config.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(pp["resample"], 3);
    let o = vitrs(&["info", "--model", out.to_str().unwrap()]);
    let info = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && info.contains("weights           BF16"),
        "{info}"
    );
}

#[test]
fn refused_and_unknown_inputs_fail_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("hf");
    let junk = tmp.path().join("junk.safetensors");
    std::fs::write(&junk, b"not safetensors at all").unwrap();
    for (src, needle) in [
        (fixture("refuse_layerscale"), "LayerScale"),
        (fixture("refuse_registers"), "register tokens"),
        (junk.clone(), "not a valid safetensors file"),
        (tmp.path().join("missing.npz"), "missing.npz"),
    ] {
        let o = vitrs(&["convert", src.to_str().unwrap(), out.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{src:?}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{needle:?} not in {err}");
    }
    assert!(!out.join("model.safetensors").exists());
}
