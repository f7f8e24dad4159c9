//! The whole model on the emulated sixteen-lane kernels (`VITRS_ISA=emu16`: the AVX-512
//! path's generic code — 6 × 64 tiles, 128-deep packing, 16-lane exp/erf/tanh, softmax and
//! LayerNorm — on plain arrays), against transformers' outputs for every committed model
//! case, at the same tolerance as the other paths. It runs on any CPU, so the 16-lane logic
//! is checked end to end where no AVX-512 exists. This file holds a single test: the choice of kernels is made once per
//! process, so it must set the variable before anything runs.

use std::path::Path;

use safetensors::SafeTensors;
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

#[test]
fn every_model_case_matches_transformers_on_the_emulated_16_lane_kernels() {
    assert_eq!(
        vitrs_kernels::gemm::force(vitrs_kernels::gemm::Isa::Emulated16),
        Ok(vitrs_kernels::gemm::Isa::Emulated16)
    );
    assert_eq!(
        vitrs_kernels::gemm::detect(),
        vitrs_kernels::gemm::Isa::Emulated16
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/models");
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    let mut checked = 0;
    let mut worst = 0.0f32;
    for dir in cases {
        let case: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("case.json")).unwrap()).unwrap();
        let flag = |k: &str| case[k].as_bool().unwrap_or(false);
        let opts = ForwardOptions {
            interpolate_pos_encoding: flag("interpolate_pos_encoding"),
            output_hidden_states: false,
            output_attentions: false,
        };
        let tolerance = case["tolerance"].as_f64().unwrap_or(5e-5) as f32;
        let vit = ViT::load(&dir).unwrap();
        let input_bytes = std::fs::read(dir.join("input.safetensors")).unwrap();
        let input = SafeTensors::deserialize(&input_bytes).unwrap();
        let (dims, data) = tensor(&input, "pixel_values").unwrap();
        let out = vit
            .forward(&Tensor::new(&dims, data).unwrap(), &opts)
            .unwrap();
        let expected_bytes = std::fs::read(dir.join("expected.safetensors")).unwrap();
        let expected = SafeTensors::deserialize(&expected_bytes).unwrap();
        for (name, got) in [
            ("last_hidden_state", Some(&out.last_hidden_state)),
            ("pooler_output", out.pooler_output.as_ref()),
            ("logits", out.logits.as_ref()),
        ] {
            let Some((_, want)) = tensor(&expected, name) else {
                continue;
            };
            let got = got.unwrap_or_else(|| panic!("{}: no {name}", dir.display()));
            let diff = got
                .data()
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert_eq!(got.data().len(), want.len(), "{}: {name}", dir.display());
            assert!(
                diff <= tolerance,
                "{}: {name} differs by {diff} (tolerance {tolerance})",
                dir.display()
            );
            checked += 1;
            worst = worst.max(diff);
        }
    }
    assert!(checked >= 25, "only {checked} outputs checked");
    eprintln!(
        "emu16 kernels: {checked} outputs checked, max |diff| against transformers {worst:e}"
    );
}
