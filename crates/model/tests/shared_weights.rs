//! Weights moved into a shared read-only file ([`ViT::share_weights`]) give transformers'
//! outputs as before, for a model of each family and head (a classifier, DeiT's teacher pair,
//! CLIP's projection, SigLIP's attention-pooling head, a SwiGLU MLP, a dense pooler), and a
//! second "process" loading the same weights maps the file the first one wrote.

use std::path::Path;

use safetensors::SafeTensors;
use vitrs_model::{ComputeDtype, ForwardOptions, LoadOptions, ViT};
use vitrs_tensor::Tensor;

fn tensor(st: &SafeTensors, name: &str) -> Option<Vec<f32>> {
    let view = st.tensor(name).ok()?;
    Some(
        view.data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
    )
}

fn check(vit: &ViT, dir: &Path) {
    let case: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("case.json")).unwrap()).unwrap();
    let tolerance = case["tolerance"].as_f64().unwrap_or(5e-5) as f32;
    let input_bytes = std::fs::read(dir.join("input.safetensors")).unwrap();
    let input = SafeTensors::deserialize(&input_bytes).unwrap();
    let dims = input.tensor("pixel_values").unwrap().shape().to_vec();
    let pixels = Tensor::new(&dims, tensor(&input, "pixel_values").unwrap()).unwrap();
    let out = vit.forward(&pixels, &ForwardOptions::default()).unwrap();
    let expected_bytes = std::fs::read(dir.join("expected.safetensors")).unwrap();
    let expected = SafeTensors::deserialize(&expected_bytes).unwrap();
    let mut checked = 0;
    for (name, got) in [
        ("last_hidden_state", Some(&out.last_hidden_state)),
        ("pooler_output", out.pooler_output.as_ref()),
        ("logits", out.logits.as_ref()),
        ("image_embeds", out.image_embeds.as_ref()),
    ] {
        let Some(want) = tensor(&expected, name) else {
            continue;
        };
        let got = got.unwrap_or_else(|| panic!("{}: no {name}", dir.display()));
        assert_eq!(got.data().len(), want.len(), "{}: {name}", dir.display());
        let diff = got
            .data()
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(
            diff <= tolerance,
            "{}: {name} differs by {diff} (tolerance {tolerance})",
            dir.display()
        );
        checked += 1;
    }
    assert!(checked >= 2, "{}: {checked} outputs checked", dir.display());
}

#[test]
fn shared_weights_give_transformers_outputs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/models");
    let cache = tempfile::tempdir().unwrap();
    for case in [
        "classifier",
        "deit_teacher",
        "clip_projection",
        "siglip_vision",
        "dinov2_swiglu",
        "pooler",
    ] {
        let dir = root.join(case);
        let mut first = ViT::load(&dir).unwrap();
        let shared = first.share_weights(cache.path()).unwrap();
        assert!(shared.created && shared.bytes > 0, "{case}: {shared:?}");
        check(&first, &dir);
        let mut second = ViT::load(&dir).unwrap();
        let again = second.share_weights(cache.path()).unwrap();
        assert_eq!(again.path, shared.path, "{case}");
        assert!(
            !again.created,
            "{case}: the second load maps the first one's file"
        );
        check(&second, &dir);
    }
}

#[test]
fn int8_models_share_their_f32_layers_and_compute_as_before() {
    // The int8 encoder layers stay private; the f32 ones (patch embedding, classifier) move
    // into the file, and the outputs stay bit for bit those of the unshared int8 model.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/models/classifier");
    let cache = tempfile::tempdir().unwrap();
    let opts = LoadOptions {
        dtype: ComputeDtype::Int8,
        ..LoadOptions::default()
    };
    let input_bytes = std::fs::read(dir.join("input.safetensors")).unwrap();
    let input = SafeTensors::deserialize(&input_bytes).unwrap();
    let dims = input.tensor("pixel_values").unwrap().shape().to_vec();
    let pixels = Tensor::new(&dims, tensor(&input, "pixel_values").unwrap()).unwrap();
    let private = ViT::load_with(&dir, &opts).unwrap();
    let mut shared = ViT::load_with(&dir, &opts).unwrap();
    let file = shared.share_weights(cache.path()).unwrap();
    assert!(file.created && file.bytes > 0, "{file:?}");
    let f32_file = ViT::load(&dir)
        .unwrap()
        .share_weights(tempfile::tempdir().unwrap().path())
        .unwrap();
    assert!(
        file.bytes < f32_file.bytes,
        "int8: {} bytes shared, f32: {}",
        file.bytes,
        f32_file.bytes
    );
    let a = private
        .forward(&pixels, &ForwardOptions::default())
        .unwrap();
    let b = shared.forward(&pixels, &ForwardOptions::default()).unwrap();
    assert_eq!(a.last_hidden_state.data(), b.last_hidden_state.data());
    assert_eq!(
        a.logits.as_ref().unwrap().data(),
        b.logits.as_ref().unwrap().data()
    );
}
