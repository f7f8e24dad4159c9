//! The library API as a user's program calls it: files, encoded bytes and decoded images in,
//! preprocessing checked against transformers' `pixel_values` (the oracle fixtures), batches
//! that keep a bad input in its place, typed errors; and the examples, run.

use std::path::{Path, PathBuf};

use vitrs::{Error, Input, Pipeline, Pool};
use vitrs_model::checkpoint::SafetensorsFile;

#[allow(dead_code)]
#[path = "../examples/cosine_search.rs"]
mod cosine_search;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The `pooler` fixture model (16x16 inputs, 4x4 patches) with the preprocessor config of the
/// preprocessing fixture `case`.
fn model_with_processor(tmp: &Path, case: &str) -> PathBuf {
    let dir = tmp.join(case);
    std::fs::create_dir(&dir).unwrap();
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(root().join("fixtures/models/pooler").join(f), dir.join(f)).unwrap();
    }
    std::fs::copy(
        root()
            .join("fixtures/preprocess")
            .join(case)
            .join("preprocessor_config.json"),
        dir.join("preprocessor_config.json"),
    )
    .unwrap();
    dir
}

/// Image `i` of the oracle's `pixel_values` for `case`.
fn expected(case: &str, i: usize) -> Vec<f32> {
    let f = SafetensorsFile::open(
        &root()
            .join("fixtures/preprocess")
            .join(case)
            .join("expected.safetensors"),
    )
    .unwrap();
    let dims = f.dims("pixel_values").unwrap();
    let all = f.load("pixel_values").unwrap();
    let per: usize = dims[1..].iter().product();
    all[i * per..(i + 1) * per].to_vec()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Encoded bytes go through the same decoding as files: EXIF orientation applied (all eight),
/// torchvision resize, against transformers' output for the same JPEGs.
#[test]
fn bytes_are_preprocessed_as_transformers_does_files() {
    let tmp = tempfile::tempdir().unwrap();
    let case = "tv_exif_orientations_resized";
    let dir = model_with_processor(tmp.path(), case);
    let vit = Pipeline::builder(dir.to_str().unwrap())
        .interpolate_pos_encoding(true)
        .build()
        .unwrap();
    // libjpeg-turbo decodes as Pillow does; the pure-Rust decoder may differ by a level.
    let tolerance = if cfg!(feature = "libjpeg") {
        1e-6
    } else {
        2.0 / 255.0 / 0.5 + 1e-6
    };
    for k in 1..=8 {
        let path = root().join(format!("fixtures/preprocess/images/exif_{k}.jpg"));
        let bytes = std::fs::read(&path).unwrap();
        let want = expected(case, k - 1);
        let from_bytes = vit.preprocess_input(&Input::from(&bytes[..])).unwrap();
        let from_path = vit.preprocess_input(&Input::from(&path)).unwrap();
        assert_eq!(from_bytes.dims(), &[3, 12, 20]);
        let d = max_diff(from_bytes.data(), &want);
        assert!(d <= tolerance, "exif_{k}.jpg as bytes: max |diff| {d}");
        assert!(
            max_diff(from_path.data(), &want) <= tolerance,
            "exif_{k}.jpg"
        );
    }
}

/// `image::DynamicImage` and `image::RgbImage` decoded by the caller: the same pixel_values as
/// transformers makes from the PIL image.
#[test]
fn decoded_images_are_preprocessed_as_transformers_does() {
    let tmp = tempfile::tempdir().unwrap();
    let case = "tv_hub_default_224";
    let dir = model_with_processor(tmp.path(), case);
    let vit = Pipeline::from_pretrained(dir.to_str().unwrap()).unwrap();
    let chelsea = root().join("fixtures/images/chelsea.png");
    let decoded = vitrs::image::open(&chelsea).unwrap();
    let want = expected(case, 0);
    let rgba = vitrs::image::DynamicImage::ImageRgba8(decoded.to_rgba8());
    for input in [
        Input::from(&decoded),
        Input::from(decoded.to_rgb8()),
        Input::from(rgba),
    ] {
        let got = vit.preprocess_input(&input).unwrap();
        assert_eq!(got.dims(), &[3, 224, 224]);
        let d = max_diff(got.data(), &want);
        assert!(d <= 1e-6, "max |diff| {d}");
    }
}

/// A batch of mixed inputs: results line up with the inputs, a bad one is an error in its
/// place naming it, and the others are the embeddings of their images.
#[test]
fn a_batch_keeps_a_bad_input_in_its_place() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("m");
    std::fs::create_dir(&dir).unwrap();
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(root().join("fixtures/models/pooler").join(f), dir.join(f)).unwrap();
    }
    std::fs::write(dir.join("preprocessor_config.json"), r#"{"size": 16}"#).unwrap();
    let vit = Pipeline::builder(dir.to_str().unwrap())
        .batch_size(2)
        .build()
        .unwrap();
    let chelsea = root().join("fixtures/images/chelsea.png");
    let bytes = std::fs::read(&chelsea).unwrap();
    let inputs = vec![
        Input::from(&chelsea),
        Input::named_bytes(&b"\x89PNG\r\n\x1a\n truncated"[..], "upload 7"),
        Input::from(bytes),
    ];
    let out = vit.embed_batch(inputs, Pool::Pooler).unwrap();
    assert_eq!(out.len(), 3);
    let a = out[0].as_ref().unwrap();
    let c = out[2].as_ref().unwrap();
    assert_eq!(a.dims(), &[64]);
    assert_eq!(a.data(), c.data(), "a file and its bytes embed alike");
    let bad = out[1].as_ref().unwrap_err();
    assert_eq!(bad.path, Path::new("upload 7"));
    assert!(matches!(bad.error, Error::Image(_)), "{:?}", bad.error);
    assert!(bad.to_string().starts_with("upload 7: "), "{bad}");

    // Typed errors: no classifier, a pooling the model lacks, an unknown random: name.
    let e = vit.classify(&chelsea, 3).unwrap_err();
    assert!(matches!(e, Error::NoClassifier { .. }), "{e}");
    let e = vit.embed(&chelsea, Pool::ImageEmbeds).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Option {
                option: "--pool",
                ..
            }
        ),
        "{e}"
    );
    let e = Pipeline::from_pretrained("random:no-such-net")
        .err()
        .unwrap();
    assert!(matches!(e, Error::UnknownArchitecture { .. }), "{e}");
}

/// The cosine-search example, run: every fixture image ranked, the query itself first at
/// similarity 1 (its own L2-normalised embedding).
#[test]
fn the_cosine_search_example_runs() {
    let images = root().join("fixtures/images");
    let query = images.join("chelsea.png");
    let ranked = cosine_search::search(
        &query,
        images.to_str().unwrap(),
        "random:deit-tiny-patch16-224",
    )
    .unwrap();
    assert_eq!(ranked.len(), 6);
    assert!(ranked[0].0.ends_with("chelsea.png"), "{ranked:?}");
    assert!((ranked[0].1 - 1.0).abs() < 1e-5, "{ranked:?}");
    assert!(ranked.windows(2).all(|w| w[0].1 >= w[1].1));
}
