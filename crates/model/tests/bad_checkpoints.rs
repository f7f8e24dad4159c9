//! Every kind of bad checkpoint or input gives an error naming the file, tensor or field, with
//! what was expected and what was found, and never a panic.

use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use tempfile::TempDir;
use vitrs_model::{ForwardOptions, ViT};
use vitrs_tensor::Tensor;

fn fixture(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/models")
        .join(case)
}

/// A copy of a committed fixture's checkpoint in a temporary folder.
fn copy_of(case: &str) -> TempDir {
    let tmp = TempDir::new().unwrap();
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(fixture(case).join(f), tmp.path().join(f)).unwrap();
    }
    tmp
}

type Entry = (String, Dtype, Vec<usize>, Vec<u8>);

/// Rewrites `model.safetensors` in `dir` after `edit` changes its list of tensors.
fn rewrite(dir: &Path, edit: impl FnOnce(&mut Vec<Entry>)) {
    rewrite_file(&dir.join("model.safetensors"), edit)
}

/// Rewrites the safetensors file at `path` after `edit` changes its list of tensors.
fn rewrite_file(path: &Path, edit: impl FnOnce(&mut Vec<Entry>)) {
    let path = path.to_path_buf();
    let bytes = std::fs::read(&path).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut entries: Vec<Entry> = st
        .tensors()
        .into_iter()
        .map(|(n, v)| (n, v.dtype(), v.shape().to_vec(), v.data().to_vec()))
        .collect();
    edit(&mut entries);
    let views: Vec<(String, TensorView)> = entries
        .iter()
        .map(|(n, d, s, b)| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    safetensors::tensor::serialize_to_file(views, &None, &path).unwrap();
}

fn load_err(dir: &Path) -> String {
    match ViT::load(dir) {
        Ok(_) => panic!("{} loaded but should not have", dir.display()),
        Err(e) => e.to_string(),
    }
}

fn assert_contains(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "{msg:?} should contain {p:?}");
    }
}

#[test]
fn missing_tensor_is_named() {
    let dir = copy_of("pooler");
    rewrite(dir.path(), |e| {
        e.retain(|t| t.0 != "encoder.layer.1.output.dense.bias")
    });
    assert_contains(
        &load_err(dir.path()),
        &["missing tensor `encoder.layer.1.output.dense.bias`"],
    );
}

#[test]
fn extra_tensor_is_named() {
    let dir = copy_of("no_pooler");
    rewrite(dir.path(), |e| {
        e.push(("decoder.weight".into(), Dtype::F32, vec![2], vec![0; 8]));
    });
    assert_contains(
        &load_err(dir.path()),
        &["unexpected tensors", "decoder.weight"],
    );
}

#[test]
fn wrong_shape_names_tensor_expected_and_found() {
    let dir = copy_of("pooler");
    rewrite(dir.path(), |e| {
        let t = e.iter_mut().find(|t| t.0 == "layernorm.bias").unwrap();
        t.2 = vec![16, 4];
    });
    assert_contains(
        &load_err(dir.path()),
        &[
            "tensor `layernorm.bias`",
            "expected shape [64]",
            "found [16, 4]",
        ],
    );
}

#[test]
fn unsupported_dtype_is_named() {
    let dir = copy_of("pooler");
    rewrite(dir.path(), |e| {
        let t = e.iter_mut().find(|t| t.0 == "layernorm.weight").unwrap();
        t.1 = Dtype::I32;
    });
    assert_contains(
        &load_err(dir.path()),
        &[
            "model.safetensors",
            "`layernorm.weight`",
            "dtype I32",
            "expected F32, F16 or BF16",
        ],
    );
}

#[test]
fn truncated_and_corrupt_files_are_refused() {
    let dir = copy_of("pooler");
    let path = dir.path().join("model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 100]).unwrap();
    assert_contains(
        &load_err(dir.path()),
        &["model.safetensors", "not a valid safetensors file"],
    );
    std::fs::write(&path, &bytes[..5]).unwrap();
    assert_contains(&load_err(dir.path()), &["too short for a header"]);
    let mut garbage = bytes.clone();
    garbage[8..40].copy_from_slice(&[b'#'; 32]);
    std::fs::write(&path, &garbage).unwrap();
    assert_contains(&load_err(dir.path()), &["not a valid safetensors file"]);
    std::fs::write(&path, u64::MAX.to_le_bytes()).unwrap();
    assert_contains(&load_err(dir.path()), &["not a valid safetensors file"]);
}

#[test]
fn missing_weights_file_is_named() {
    let dir = copy_of("pooler");
    std::fs::remove_file(dir.path().join("model.safetensors")).unwrap();
    assert_contains(
        &load_err(dir.path()),
        &["model.safetensors", "no model.safetensors"],
    );
}

#[test]
fn bad_config_fields_are_named() {
    let dir = copy_of("pooler");
    let cfg = dir.path().join("config.json");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, text.replace("\"gelu\"", "\"gelu_99\"")).unwrap();
    assert_contains(
        &load_err(dir.path()),
        &["config.json", "`hidden_act`", "gelu_99"],
    );
    std::fs::write(&cfg, &text[..text.len() / 2]).unwrap();
    assert_contains(&load_err(dir.path()), &["config.json", "EOF"]);
    std::fs::write(
        &cfg,
        text.replace("\"hidden_size\": 64", "\"hidden_size\": 32"),
    )
    .unwrap();
    assert_contains(
        &load_err(dir.path()),
        &[
            "`embeddings.patch_embeddings.projection.weight`",
            "expected shape [32, 3, 4, 4]",
            "found [64, 3, 4, 4]",
        ],
    );
}

#[test]
fn wrong_input_shapes_are_explained() {
    let vit = ViT::load(&fixture("pooler")).unwrap();
    let run = |dims: &[usize], interpolate: bool| {
        let pixels = Tensor::zeros(dims).unwrap();
        let opts = ForwardOptions {
            interpolate_pos_encoding: interpolate,
            ..Default::default()
        };
        vit.forward(&pixels, &opts).unwrap_err().to_string()
    };
    assert_contains(
        &run(&[1, 4, 16, 16], false),
        &["expected 3 channels", "found 4"],
    );
    assert_contains(
        &run(&[1, 3, 24, 24], false),
        &["(24*24) doesn't match model (16*16)"],
    );
    assert_contains(&run(&[3, 16, 16], false), &["expected 4 dimensions"]);
    assert_contains(&run(&[1, 3, 2, 2], true), &["smaller than one 4x4 patch"]);
    // 1 + 129·129 tokens: refused before the scores are allocated.
    assert_contains(
        &run(&[1, 3, 516, 516], true),
        &["16642 tokens; at most 16385"],
    );
}

#[test]
fn not_a_vit_is_refused_with_what_was_found() {
    let dir = copy_of("pooler");
    rewrite(dir.path(), |e| {
        for t in e.iter_mut() {
            t.0 = format!("model.{}", t.0);
        }
    });
    assert_contains(
        &load_err(dir.path()),
        &[
            "not a ViT checkpoint",
            "`embeddings.patch_embeddings.projection.weight`",
            "model.embeddings",
        ],
    );
}

#[test]
fn non_finite_weights_are_refused_unless_allowed() {
    let dir = copy_of("pooler");
    rewrite(dir.path(), |e| {
        let t = e
            .iter_mut()
            .find(|t| t.0 == "encoder.layer.0.intermediate.dense.weight")
            .unwrap();
        t.3[8..12].copy_from_slice(&f32::NAN.to_le_bytes());
        t.3[20..24].copy_from_slice(&f32::INFINITY.to_le_bytes());
    });
    assert_contains(
        &load_err(dir.path()),
        &[
            "`encoder.layer.0.intermediate.dense.weight`",
            "2 non-finite values",
            "first at index 2",
        ],
    );
    let opts = vitrs_model::LoadOptions {
        allow_nonfinite: true,
        ..Default::default()
    };
    assert!(ViT::load_with(dir.path(), &opts).is_ok());
}

/// A copy of the sharded fixture (config, index, every shard).
fn sharded_copy() -> TempDir {
    let tmp = TempDir::new().unwrap();
    for e in std::fs::read_dir(fixture("sharded")).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("model") || name == "config.json" {
            std::fs::copy(e.path(), tmp.path().join(&name)).unwrap();
        }
    }
    tmp
}

#[test]
fn a_tensor_stored_twice_or_elsewhere_than_the_index_says_is_refused() {
    let dir = sharded_copy();
    assert!(ViT::load(dir.path()).is_ok());
    // A second copy of a shard-1 tensor in shard 2.
    let first = dir.path().join("model-00001-of-00007.safetensors");
    let bytes = std::fs::read(&first).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let (name, view) = st
        .tensors()
        .into_iter()
        .find(|(n, _)| n == "embeddings.cls_token")
        .unwrap();
    let copy: Entry = (
        name,
        view.dtype(),
        view.shape().to_vec(),
        view.data().to_vec(),
    );
    rewrite_file(&dir.path().join("model-00002-of-00007.safetensors"), |e| {
        e.push(copy)
    });
    assert_contains(
        &load_err(dir.path()),
        &[
            "`embeddings.cls_token`",
            "model-00002-of-00007.safetensors",
            "index puts it in \"model-00001-of-00007.safetensors\"",
        ],
    );

    // The index pointing a tensor at a shard that does not hold it is refused too.
    let dir = sharded_copy();
    let index = dir.path().join("model.safetensors.index.json");
    let text = std::fs::read_to_string(&index).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["weight_map"]["embeddings.cls_token"] = "model-00002-of-00007.safetensors".into();
    std::fs::write(&index, json.to_string()).unwrap();
    assert_contains(&load_err(dir.path()), &["embeddings.cls_token"]);
}

#[test]
fn id2label_keys_are_integers_without_holes_or_duplicates() {
    let labels = |map: &str| {
        let text = format!(r#"{{"model_type": "vit", "id2label": {map}}}"#);
        vitrs_model::ViTConfig::from_json_str(&text, Path::new("config.json"))
            .map(|c| c.id2label)
            .map_err(|e| e.to_string())
    };
    assert_eq!(
        labels(r#"{"1": "b", "0": "a", "2": "c"}"#).unwrap(),
        ["a", "b", "c"]
    );
    // Keys are numbers: "02" is label 2, as int("02") is in Python.
    assert_eq!(
        labels(r#"{"00": "a", "1": "b", "02": "c"}"#).unwrap(),
        ["a", "b", "c"]
    );
    let e = labels(r#"{"0": "a", "00": "b"}"#).unwrap_err();
    assert!(e.contains("id2label") && e.contains("twice"), "{e}");
    let e = labels(r#"{"0": "a", "2": "c"}"#).unwrap_err();
    assert!(e.contains("id2label") && e.contains("without holes"), "{e}");
    let e = labels(r#"{"x": "a"}"#).unwrap_err();
    assert!(e.contains("id2label") && e.contains("\"x\""), "{e}");
}

#[test]
fn oversized_configs_are_refused_before_parsing() {
    let dir = copy_of("pooler");
    let path = dir.path().join("config.json");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(&" ".repeat(100 << 20));
    std::fs::write(&path, text).unwrap();
    assert_contains(
        &load_err(dir.path()),
        &[
            "config.json",
            "limit for a config.json",
            "refused before reading",
        ],
    );
}

#[cfg(unix)]
#[test]
fn weights_that_are_not_regular_files_are_refused_without_blocking() {
    let dir = copy_of("pooler");
    let weights = dir.path().join("model.safetensors");
    std::fs::remove_file(&weights).unwrap();
    // A FIFO with no writer: opening it for reading would block forever.
    let status = std::process::Command::new("mkfifo")
        .arg(&weights)
        .status()
        .unwrap();
    assert!(status.success());
    assert_contains(
        &load_err(dir.path()),
        &["model.safetensors", "a FIFO", "not a regular file"],
    );
    // A device is refused the same way.
    std::fs::remove_file(&weights).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &weights).unwrap();
    assert_contains(&load_err(dir.path()), &["a character device"]);
}

#[test]
fn a_nan_pixel_gives_nan_outputs_not_plausible_numbers() {
    // tanh of a NaN used to come out as exactly -1.0 on the AVX2 path: a pooler_output that
    // looked valid.
    let vit = ViT::load(&fixture("pooler")).unwrap();
    let mut data = vec![0.25f32; 3 * 16 * 16];
    data[17] = f32::NAN;
    let pixels = Tensor::new(&[1, 3, 16, 16], data).unwrap();
    let out = vit.forward(&pixels, &ForwardOptions::default()).unwrap();
    let pooled = out.pooler_output.expect("the pooler fixture has a pooler");
    assert!(
        pooled.data().iter().all(|v| v.is_nan()),
        "{:?}",
        pooled.data()
    );
    assert!(out.last_hidden_state.data().iter().all(|v| v.is_nan()));
}
