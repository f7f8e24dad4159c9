//! Every tensor of a real checkpoint replaced in turn by a scalar or a zero-sized tensor:
//! each conversion must end in an error or a file, never a panic, and never leave a
//! temporary file behind.

use std::io::{Read, Write};
use std::path::Path;

use safetensors::tensor::{Dtype, TensorView};
use vitrs_convert::{convert, DType};

fn fixture(case: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/convert")
        .join(case)
}

/// Shapes with no values, or one.
const SHAPES: &[&[usize]] = &[&[], &[0], &[0, 0], &[1, 0, 4], &[0, 1_000_000_000_000]];

fn assert_clean(out: &Path) {
    if let Ok(entries) = std::fs::read_dir(out) {
        for e in entries {
            let name = e.unwrap().file_name();
            assert!(
                !name.to_string_lossy().starts_with(".vitrs-partial-"),
                "left {name:?}"
            );
        }
    }
}

#[test]
fn timm_tensors_scalar_or_empty() {
    safetensors_cases(&fixture("timm_tiny_head"));
}

#[test]
fn hf_tensors_scalar_or_empty() {
    safetensors_cases(&fixture("../models/pooler"));
}

fn safetensors_cases(src: &Path) {
    let bytes = std::fs::read(src.join("model.safetensors")).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let names: Vec<String> = file.names().into_iter().cloned().collect();
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(src.join("config.json"), tmp.path().join("config.json")).unwrap();
    let input = tmp.path().join("model.safetensors");
    let out = tmp.path().join("out");
    for victim in &names {
        for shape in SHAPES {
            let n: usize = shape.iter().product();
            let data = vec![0u8; 4 * n];
            let tensors: Vec<(String, TensorView)> = names
                .iter()
                .map(|name| {
                    let view = if name == victim {
                        TensorView::new(Dtype::F32, shape.to_vec(), &data).unwrap()
                    } else {
                        file.tensor(name).unwrap()
                    };
                    (name.clone(), view)
                })
                .collect();
            safetensors::serialize_to_file(tensors, &None, &input).unwrap();
            // Ok or Err are both fine; a panic fails the test.
            let _ = convert(&input, &out, None, DType::F16);
            assert_clean(&out);
        }
    }
}

/// The `.npy` bytes of a zero-filled f4 array of `shape`.
fn npy(shape: &[usize]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut text = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + text.len() + 1) % 64 != 0 {
        text.push(' ');
    }
    text.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((text.len() as u16).to_le_bytes());
    out.extend(text.as_bytes());
    out
}

#[test]
fn jax_members_scalar_or_empty() {
    let src = std::fs::read(fixture("jax_classifier").join("model.npz")).unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&src)).unwrap();
    let mut members = Vec::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).unwrap();
        members.push((f.name().to_string(), bytes));
    }
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("model.npz");
    let out = tmp.path().join("out");
    for (victim, _) in &members {
        for shape in SHAPES {
            let mut data = npy(shape);
            data.extend(vec![0u8; 4 * shape.iter().product::<usize>()]);
            let mut w = zip::ZipWriter::new(std::fs::File::create(&input).unwrap());
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored);
            for (name, bytes) in &members {
                w.start_file(name.as_str(), opts).unwrap();
                w.write_all(if name == victim { &data } else { bytes })
                    .unwrap();
            }
            w.finish().unwrap();
            let _ = convert(&input, &out, None, DType::F32);
            assert_clean(&out);
        }
    }
}
