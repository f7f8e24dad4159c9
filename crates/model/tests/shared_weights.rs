//! Weights moved into a shared read-only file ([`ViT::share_weights`]) give transformers'
//! outputs as before, for a model of each family and head (a classifier, DeiT's teacher pair,
//! CLIP's projection, SigLIP's attention-pooling head, a SwiGLU MLP, a dense pooler), and a
//! second "process" loading the same weights maps the file the first one wrote.

use std::path::Path;

use vitrs_model::{ComputeDtype, ForwardOptions, LoadOptions, ViT};

mod common;
use common::{case_matches_transformers, pixels};

fn check(vit: &ViT, dir: &Path) {
    let (checked, _) = case_matches_transformers(vit, dir);
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
fn int8_models_share_every_layer_and_compute_as_before() {
    // The int8 encoder layers' packed weights move into the file beside the f32 ones (patch
    // embedding, classifier), a second load maps it, and the outputs stay bit for bit those
    // of the unshared int8 model.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/models/classifier");
    let cache = tempfile::tempdir().unwrap();
    let opts = LoadOptions {
        dtype: ComputeDtype::Int8,
        ..LoadOptions::default()
    };
    let pixels = pixels(&dir);
    let private = ViT::load_with(&dir, &opts).unwrap();
    let mut shared = ViT::load_with(&dir, &opts).unwrap();
    let file = shared.share_weights(cache.path()).unwrap();
    assert!(file.created && file.bytes > 0, "{file:?}");
    let f32_file = ViT::load(&dir)
        .unwrap()
        .share_weights(tempfile::tempdir().unwrap().path())
        .unwrap();
    assert_eq!(file.layers, f32_file.layers, "every linear layer is shared");
    assert!(
        file.bytes < f32_file.bytes,
        "int8: {} bytes shared, f32: {}",
        file.bytes,
        f32_file.bytes
    );
    let mut second = ViT::load_with(&dir, &opts).unwrap();
    let again = second.share_weights(cache.path()).unwrap();
    assert_eq!((again.path, again.created), (file.path, false));
    let want = private
        .forward(&pixels, &ForwardOptions::default())
        .unwrap();
    for model in [&shared, &second] {
        let got = model.forward(&pixels, &ForwardOptions::default()).unwrap();
        assert_eq!(want.last_hidden_state.data(), got.last_hidden_state.data());
        assert_eq!(
            want.logits.as_ref().unwrap().data(),
            got.logits.as_ref().unwrap().data()
        );
    }
}
