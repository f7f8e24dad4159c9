//! What the whole-model tests share: one case checked against transformers, and the kernel
//! tests' body (one test binary per forced ISA, since the
//! kernel choice is made once per process).

// Each test binary uses a part of this module.
#![allow(dead_code)]

use std::path::Path;

use safetensors::SafeTensors;
use vitrs_kernels::gemm::Isa;
use vitrs_model::{ForwardOptions, ViT};
use vitrs_tensor::Tensor;

fn tensor(st: &SafeTensors, name: &str) -> Option<(Vec<usize>, Vec<f32>)> {
    let view = st.tensor(name).ok()?;
    let data = view
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Some((view.shape().to_vec(), data))
}

/// The committed case `dir`'s `pixel_values`.
pub fn pixels(dir: &Path) -> Tensor {
    let input_bytes = std::fs::read(dir.join("input.safetensors")).unwrap();
    let input = SafeTensors::deserialize(&input_bytes).unwrap();
    let (dims, data) = tensor(&input, "pixel_values").unwrap();
    Tensor::new(&dims, data).unwrap()
}

/// Runs `vit` on the committed case `dir`'s input (with its forward options) and checks every
/// output transformers saved against it within the case's tolerance — and again with
/// `prefix_only` where the model allows it (the heads' outputs and the prefix rows of
/// `last_hidden_state`); returns how many outputs were checked and the largest difference.
pub fn case_matches_transformers(vit: &ViT, dir: &Path) -> (usize, f32) {
    let case: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("case.json")).unwrap()).unwrap();
    let flag = |k: &str| case[k].as_bool().unwrap_or(false);
    let tolerance = case["tolerance"].as_f64().unwrap_or(5e-5) as f32;
    let expected_bytes = std::fs::read(dir.join("expected.safetensors")).unwrap();
    let expected = SafeTensors::deserialize(&expected_bytes).unwrap();
    let (mut checked, mut worst) = (0, 0.0f32);
    for prefix_only in [false, true] {
        if prefix_only && !vit.prefix_suffices() {
            continue;
        }
        let opts = ForwardOptions {
            interpolate_pos_encoding: flag("interpolate_pos_encoding"),
            output_hidden_states: false,
            output_attentions: false,
            prefix_only,
        };
        let out = vit.forward(&pixels(dir), &opts).unwrap();
        for (name, got) in [
            ("last_hidden_state", Some(&out.last_hidden_state)),
            ("pooler_output", out.pooler_output.as_ref()),
            ("logits", out.logits.as_ref()),
            ("image_embeds", out.image_embeds.as_ref()),
        ] {
            let Some((dims, mut want)) = tensor(&expected, name) else {
                continue;
            };
            let got = got.unwrap_or_else(|| panic!("{}: no {name}", dir.display()));
            if prefix_only && name == "last_hidden_state" {
                // transformers' [B, T, D], cut to each image's first P tokens.
                let (t, d, p) = (dims[1], dims[2], vit.prefix_tokens());
                assert_eq!(got.dims(), &[dims[0], p, d], "{}", dir.display());
                want = want
                    .chunks_exact(t * d)
                    .flat_map(|img| img[..p * d].to_vec())
                    .collect();
            }
            assert_eq!(got.data().len(), want.len(), "{}: {name}", dir.display());
            let diff = got
                .data()
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(
                diff <= tolerance,
                "{} (prefix_only {prefix_only}): {name} differs by {diff} (tolerance \
                 {tolerance})",
                dir.display()
            );
            checked += 1;
            worst = worst.max(diff);
        }
    }
    (checked, worst)
}

/// Forces `isa` for this process (it must be the first kernel choice the process makes), then
/// checks every committed model case's outputs against transformers' within the case's
/// tolerance, and prints how many outputs were checked and the largest difference.
pub fn every_model_case_matches_transformers_on(isa: Isa) {
    assert_eq!(vitrs_kernels::gemm::force(isa), Ok(isa));
    assert_eq!(vitrs_kernels::gemm::detect(), isa);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/models");
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    let (mut checked, mut worst) = (0, 0.0f32);
    for dir in cases {
        let (n, diff) = case_matches_transformers(&ViT::load(&dir).unwrap(), &dir);
        checked += n;
        worst = worst.max(diff);
    }
    assert!(checked >= 25, "only {checked} outputs checked");
    eprintln!(
        "{} kernels: {checked} outputs checked, max |diff| against transformers {worst:e}",
        isa.name()
    );
}
