//! `--dtype int8` and `vitrs convert --dtype int8` driven as a user drives them.

use std::path::Path;

mod common;
use common::{ok, vitrs};

/// The int8 checkpoint stores I8 weights with F32 scales (named and described in the header),
/// `info` says so, and running it in int8 gives exactly what quantizing the f32 checkpoint
/// while loading gives: it is not quantized again.
#[test]
fn int8_checkpoint_runs_as_on_the_fly_quantization() {
    let tmp = tempfile::tempdir().unwrap();
    let src = common::model_fixture("classifier");
    let q = tmp.path().join("q");
    ok(&vitrs(&[
        "convert",
        src.to_str().unwrap(),
        q.to_str().unwrap(),
        "--dtype",
        "int8",
    ]));
    let bytes = std::fs::read(q.join("model.safetensors")).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let w = "vit.encoder.layer.0.intermediate.dense.weight";
    assert_eq!(header[w]["dtype"], "I8");
    assert_eq!(header[format!("{w}_scale")]["dtype"], "F32");
    assert_eq!(
        header["vit.embeddings.patch_embeddings.projection.weight"]["dtype"],
        "F32"
    );
    assert_eq!(header["classifier.weight"]["dtype"], "F32");
    assert_eq!(header["__metadata__"]["vitrs_quantization"], "int8");

    let o = vitrs(&["info", "--model", q.to_str().unwrap()]);
    ok(&o);
    let info = String::from_utf8_lossy(&o.stdout);
    assert!(info.contains("weights           F32, I8"), "{info}");
    assert!(info.contains("quantized         int8"), "{info}");

    let input = src.join("input.safetensors");
    let run = |model: &Path, dtype: &str, out: &str| {
        let out = tmp.path().join(out);
        ok(&vitrs(&[
            "run",
            "--model",
            model.to_str().unwrap(),
            "--dtype",
            dtype,
            "--input",
            input.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
        ]));
        std::fs::read(out).unwrap()
    };
    let on_the_fly = run(&src, "int8", "a.safetensors");
    let stored = run(&q, "int8", "b.safetensors");
    assert!(
        on_the_fly == stored,
        "int8 checkpoint and on-the-fly int8 differ"
    );
    // In f32 the stored weights are dequantized: it runs, and is not the int8 result.
    let dequantized = run(&q, "f32", "c.safetensors");
    assert!(dequantized != stored);
}

#[test]
fn unknown_dtype_is_refused_in_one_line() {
    let o = vitrs(&[
        "run",
        "--model",
        "random:deit-tiny-patch16-224",
        "--dtype",
        "int4",
    ]);
    // A usage error (exit 2), naming the flag, the value and the values it takes.
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("invalid value 'int4' for '--dtype <DTYPE>'")
            && err.contains("[possible values: f32, int8]"),
        "{err}"
    );
}
