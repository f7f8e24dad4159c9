//! `vitrs preprocess`, `vitrs embed` and `vitrs classify`, driven as a user drives them.
#![cfg(feature = "cli")]

use std::path::{Path, PathBuf};
use std::process::Command;

use vitrs_model::checkpoint::SafetensorsFile;

mod common;
use common::{root, s, vitrs};

/// The `pooler` fixture model with a preprocessor config for its 16x16 inputs.
fn model_dir(tmp: &Path) -> PathBuf {
    let dir = tmp.join("model");
    std::fs::create_dir(&dir).unwrap();
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(root().join("fixtures/models/pooler").join(f), dir.join(f)).unwrap();
    }
    std::fs::write(
        dir.join("preprocessor_config.json"),
        r#"{"size": 16, "resample": 3}"#,
    )
    .unwrap();
    dir
}

fn load(path: &Path, name: &str) -> (Vec<usize>, Vec<f32>) {
    let f = SafetensorsFile::open(path).unwrap();
    (f.dims(name).unwrap(), f.load(name).unwrap())
}

/// `--backend pil` against ViTImageProcessorPil's output; the default (torchvision) against
/// ViTImageProcessor's.
#[test]
fn preprocess_matches_transformers() {
    preprocess_matches("int_size_crop", &["--backend", "pil"]);
    preprocess_matches("tv_int_size_crop", &[]);
    preprocess_matches("tv_int_size_crop", &["--backend", "torchvision"]);
}

fn preprocess_matches(case: &str, flags: &[&str]) {
    let case = root().join("fixtures/preprocess").join(case);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("px.safetensors");
    let chelsea = root().join("fixtures/images/chelsea.png");
    let coins = root().join("fixtures/images/coins.png");
    let mut argv = vec![
        "preprocess",
        s(&chelsea),
        s(&coins),
        "--model",
        s(&case),
        "-o",
        s(&out),
    ];
    argv.extend_from_slice(flags);
    let o = vitrs(&argv);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (dims, got) = load(&out, "pixel_values");
    let (want_dims, want) = load(&case.join("expected.safetensors"), "pixel_values");
    assert_eq!(dims, want_dims);
    let max = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(max <= 1e-6, "max |diff| {max}");
}

#[test]
fn preprocess_refuses_a_bad_file_naming_it_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.jpg");
    std::fs::write(&bad, b"\xFF\xD8\xFF\xE0 garbage").unwrap();
    let out = tmp.path().join("px.safetensors");
    let good = root().join("fixtures/images/chelsea.png");
    let o = vitrs(&[
        "preprocess",
        s(&good),
        s(&bad),
        "--model",
        s(tmp.path()),
        "-o",
        s(&out),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("bad.jpg"), "{err}");
    assert!(!out.exists());
}

#[test]
fn embed_equals_preprocess_then_run_and_skips_bad_files() {
    let tmp = tempfile::tempdir().unwrap();
    let model = model_dir(tmp.path());
    let images: Vec<PathBuf> = ["chelsea.png", "rocket.jpg", "logo.png"]
        .iter()
        .map(|n| root().join("fixtures/images").join(n))
        .collect();
    let bad = tmp.path().join("broken.png");
    std::fs::write(&bad, b"\x89PNG\r\n\x1a\n broken").unwrap();

    // preprocess + run
    let px = tmp.path().join("px.safetensors");
    let mut args = vec!["preprocess"];
    args.extend(images.iter().map(|p| s(p)));
    args.extend(["--model", s(&model), "-o", s(&px)]);
    assert!(vitrs(&args).status.success());
    let ran = tmp.path().join("ran.safetensors");
    let o = vitrs(&[
        "run",
        "--model",
        s(&model),
        "--input",
        s(&px),
        "--output",
        s(&ran),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (_, lhs) = load(&ran, "last_hidden_state");
    let (_, pooled) = load(&ran, "pooler_output");

    // embed, with a broken file in the middle: reported, skipped, exit code 3
    for (pool, want) in [("none", &lhs), ("pooler", &pooled)] {
        let out = tmp.path().join(format!("emb-{pool}.safetensors"));
        let o = vitrs(&[
            "embed",
            s(&images[0]),
            s(&bad),
            s(&images[1]),
            s(&images[2]),
            "--model",
            s(&model),
            "--pool",
            pool,
            "--batch",
            "2",
            "-o",
            s(&out),
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(3), "{err}");
        assert!(
            err.contains("skipped") && err.contains("broken.png"),
            "{err}"
        );
        let (_, got) = load(&out, "embeddings");
        assert_eq!(got.len(), want.len());
        let max = got
            .iter()
            .zip(want.iter())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(max <= 1e-5, "{pool}: max |diff| {max}");
    }
}

#[test]
fn embed_formats_and_a_directory_input() {
    let tmp = tempfile::tempdir().unwrap();
    let model = model_dir(tmp.path());
    let dir = root().join("fixtures/images");
    for (ext, check) in [
        ("npy", &b"\x93NUMPY"[..]),
        ("jsonl", &b"{\"embedding\""[..]),
    ] {
        let out = tmp.path().join(format!("e.{ext}"));
        let o = vitrs(&["embed", s(&dir), "--model", s(&model), "-o", s(&out)]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let bytes = std::fs::read(&out).unwrap();
        assert!(bytes.starts_with(check), "{ext}");
        if ext == "jsonl" {
            let text = String::from_utf8(bytes).unwrap();
            assert_eq!(
                text.lines().count(),
                6,
                "one row per image in fixtures/images"
            );
            assert!(text.lines().next().unwrap().contains("camera.png"));
        }
    }
}

#[test]
fn embedding_the_same_folder_twice_at_once_gives_identical_files() {
    let tmp = tempfile::tempdir().unwrap();
    let model = model_dir(tmp.path());
    let dir = root().join("fixtures/images");
    let outs: Vec<PathBuf> = (0..2)
        .map(|i| tmp.path().join(format!("c{i}.npy")))
        .collect();
    let children: Vec<_> = outs
        .iter()
        .map(|o| {
            Command::new(env!("CARGO_BIN_EXE_vitrs"))
                .args([
                    "embed",
                    s(&dir),
                    "--model",
                    s(&model),
                    "-o",
                    s(o),
                    "--threads",
                    "1",
                ])
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    assert_eq!(
        std::fs::read(&outs[0]).unwrap(),
        std::fs::read(&outs[1]).unwrap()
    );
}

#[test]
fn classify_needs_a_classifier_and_prints_labels() {
    let tmp = tempfile::tempdir().unwrap();
    let model = model_dir(tmp.path());
    let chelsea = root().join("fixtures/images/chelsea.png");
    let o = vitrs(&["classify", s(&chelsea), "--model", s(&model)]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no classifier"));

    let cls = tmp.path().join("cls");
    std::fs::create_dir(&cls).unwrap();
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(
            root().join("fixtures/models/classifier").join(f),
            cls.join(f),
        )
        .unwrap();
    }
    std::fs::write(cls.join("preprocessor_config.json"), r#"{"size": 16}"#).unwrap();
    let o = vitrs(&[
        "classify",
        s(&chelsea),
        "--model",
        s(&cls),
        "--top-k",
        "2",
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["labels"].as_array().unwrap().len(), 2);
    assert!(v["labels"][0]["label"]
        .as_str()
        .unwrap()
        .starts_with("class "));
}

#[test]
fn embed_errors_say_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let model = model_dir(tmp.path());
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    for (args, needle) in [
        (
            vec!["embed", "/no/such/dir", "--model", s(&model)],
            "/no/such/dir: no such file or directory",
        ),
        (
            vec!["embed", s(&empty), "--model", s(&model)],
            "holds no image files",
        ),
        (
            vec!["embed", s(&model), "--model", s(&model), "--pool", "cls"],
            "holds no image files",
        ),
    ] {
        let o = vitrs(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?}");
        assert!(
            err.lines()
                .any(|l| l.starts_with("error: ") && l.contains(needle)),
            "{err}"
        );
    }
}

#[cfg(unix)]
#[test]
fn an_interrupted_embed_leaves_no_output_and_no_partial_file() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("e.npy");
    let dir = root().join("fixtures/images");
    // Interrupted once it has started: its first line (after the signal handler is set up)
    // names the model, whose full-size random weights then take seconds to build. Waiting for
    // that line instead of a fixed time keeps the interrupt mid-run on any machine.
    let mut child = Command::new(env!("CARGO_BIN_EXE_vitrs"))
        .args([
            "embed",
            s(&dir),
            "--model",
            "random:vit-base-patch16-224",
            "-o",
            s(&out),
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut first).unwrap();
    assert!(first.contains("random:vit-base-patch16-224"), "{first}");
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    // Read the rest so that the child never waits on a full pipe.
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "interrupted run must not report success: {rest}"
    );
    assert!(!out.exists(), "no output file after an interrupt");
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(leftovers.is_empty(), "no partial files: {leftovers:?}");
}

/// A family fixture model with a preprocessor config of the family's class for 16x16 inputs.
fn family_dir(tmp: &Path, case: &str, processor: &str) -> PathBuf {
    let dir = tmp.join(case);
    std::fs::create_dir(&dir).unwrap();
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(
            root().join("fixtures/models").join(case).join(f),
            dir.join(f),
        )
        .unwrap();
    }
    std::fs::write(dir.join("preprocessor_config.json"), processor).unwrap();
    dir
}

#[test]
fn embed_pools_as_each_family_naturally_does_and_normalizes_on_request() {
    let tmp = tempfile::tempdir().unwrap();
    let siglip = family_dir(
        tmp.path(),
        "siglip_vision",
        r#"{"image_processor_type": "SiglipImageProcessor", "size": {"height": 16, "width": 16}}"#,
    );
    let clip = family_dir(
        tmp.path(),
        "clip_full",
        r#"{"image_processor_type": "CLIPImageProcessor", "size": 16, "crop_size": 16}"#,
    );
    let image = root().join("fixtures/images/chelsea.png");
    let embed = |model: &Path, name: &str, extra: &[&str]| {
        let out = tmp.path().join(name);
        let mut args = vec!["embed", s(&image), "--model", s(model), "-o", s(&out)];
        args.extend_from_slice(extra);
        let o = vitrs(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        load(&out, "embeddings")
    };
    // SigLIP: the MAP head's pooler_output by default.
    let natural = embed(&siglip, "a.safetensors", &[]);
    assert_eq!(
        natural,
        embed(&siglip, "b.safetensors", &["--pool", "pooler"])
    );
    let (dims, unit) = embed(&siglip, "c.safetensors", &["--normalize"]);
    assert_eq!(dims, natural.0);
    let norm: f32 = natural.1.iter().map(|v| v * v).sum::<f32>().sqrt();
    for (u, v) in unit.iter().zip(&natural.1) {
        assert!((u - v / norm).abs() < 1e-6);
    }
    let o = vitrs(&["embed", s(&image), "--model", s(&siglip), "--pool", "cls"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no CLS token"), "{err}");
    // CLIP with projection: image_embeds (projection_dim 12) by default.
    let (dims, _) = embed(&clip, "d.safetensors", &[]);
    assert_eq!(dims, vec![1, 12]);
}
