//! What a hostile or careless user can hand `vitrs` as input, built in a temporary folder and
//! run through the binary: FIFOs, sockets and devices (skipped, never opened, never a hang),
//! symlink loops (walked once), unreadable folders (skipped and reported), images the model
//! cannot take (refused from the header, before decoding), and model specs for `preprocess`.
#![cfg(feature = "cli")]

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{root, s, stderr, vitrs};

/// The `pooler` fixture model (16x16 inputs) with `preprocessor` as its processor config.
fn model_dir(tmp: &Path, preprocessor: &str) -> PathBuf {
    let dir = tmp.join("model");
    std::fs::create_dir(&dir).unwrap();
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(root().join("fixtures/models/pooler").join(f), dir.join(f)).unwrap();
    }
    std::fs::write(dir.join("preprocessor_config.json"), preprocessor).unwrap();
    dir
}

fn chelsea() -> PathBuf {
    root().join("fixtures/images/chelsea.png")
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo").arg(path).status().unwrap().success();
    assert!(ok, "mkfifo {}", path.display());
}

#[cfg(unix)]
#[test]
fn fifos_sockets_devices_and_loops_in_a_folder_are_skipped_without_hanging() {
    let tmp = tempfile::tempdir().unwrap();
    let model = model_dir(tmp.path(), r#"{"size": 16}"#);
    let images = tmp.path().join("images");
    std::fs::create_dir_all(images.join("sub")).unwrap();
    std::fs::copy(chelsea(), images.join("cat.png")).unwrap();
    mkfifo(&images.join("fifo.png"));
    let _socket = std::os::unix::net::UnixListener::bind(images.join("sock.jpg")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", images.join("zero.png")).unwrap();
    std::os::unix::fs::symlink(&images, images.join("sub/loop")).unwrap();
    std::os::unix::fs::symlink(images.join("sub"), images.join("again")).unwrap();
    let o = vitrs(&["embed", s(&images), "--model", s(&model)]);
    let err = stderr(&o);
    // One image embedded once (not again through `loop` or `again`), three skipped: exit 3.
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("embedded 1 image "), "{err}");
    assert!(
        err.contains("fifo.png: a FIFO (named pipe), not a regular file"),
        "{err}"
    );
    assert!(err.contains("sock.jpg: a socket"), "{err}");
    assert!(err.contains("zero.png: a character device"), "{err}");
    assert!(err.contains("skipped 3 of 4 files"), "{err}");

    // Named directly, on embed and classify alike.
    let fifo = images.join("fifo.png");
    let o = vitrs(&["embed", s(&fifo), s(&chelsea()), "--model", s(&model)]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("a FIFO"), "{}", stderr(&o));
    let classifier = root().join("fixtures/models/classifier");
    let o = vitrs(&["classify", s(&fifo), "--model", s(&classifier)]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("a FIFO"), "{}", stderr(&o));
}

#[cfg(unix)]
#[test]
fn an_unreadable_subfolder_is_skipped_and_reported() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let model = model_dir(tmp.path(), r#"{"size": 16}"#);
    let images = tmp.path().join("images");
    let locked = images.join("locked");
    std::fs::create_dir_all(&locked).unwrap();
    std::fs::copy(chelsea(), images.join("cat.png")).unwrap();
    std::fs::copy(chelsea(), locked.join("hidden.png")).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    // Root (or CAP_DAC_OVERRIDE) reads it anyway: then it is walked like any folder.
    let readable = std::fs::read_dir(&locked).is_ok();
    let o = vitrs(&["embed", s(&images), "--model", s(&model)]);
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    let err = stderr(&o);
    if readable {
        assert!(o.status.success(), "{err}");
        assert!(err.contains("embedded 2 images"), "{err}");
    } else {
        assert_eq!(o.status.code(), Some(3), "{err}");
        assert!(err.contains("embedded 1 image "), "{err}");
        assert!(err.contains("locked: cannot read the folder"), "{err}");
    }
}

#[test]
fn an_image_the_model_cannot_take_is_refused_from_its_header() {
    // shortest_edge without a crop keeps the aspect ratio: 451x300 becomes 16x24, which a
    // 16x16 model cannot take. It is refused before decoding, naming both sizes.
    let tmp = tempfile::tempdir().unwrap();
    let model = model_dir(
        tmp.path(),
        r#"{"size": {"shortest_edge": 16}, "do_center_crop": false}"#,
    );
    let o = vitrs(&["embed", s(&chelsea()), "--model", s(&model)]);
    let err = stderr(&o);
    assert!(!o.status.success(), "{err}");
    assert!(
        err.contains("451x300 image preprocesses to 16x24")
            && err.contains("which the model cannot take"),
        "{err}"
    );
}

#[test]
fn max_pixels_lowers_the_limit_on_embed_and_classify() {
    let tmp = tempfile::tempdir().unwrap();
    let model = model_dir(tmp.path(), r#"{"size": 16}"#);
    let o = vitrs(&[
        "embed",
        s(&chelsea()),
        "--model",
        s(&model),
        "--max-pixels",
        "1000",
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("more than the limit of 1000"),
        "{}",
        stderr(&o)
    );
    let classifier = root().join("fixtures/models/classifier");
    let o = vitrs(&[
        "classify",
        s(&chelsea()),
        "--model",
        s(&classifier),
        "--max-pixels",
        "1000",
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("more than the limit of 1000"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn preprocess_takes_every_model_spec_and_refuses_a_missing_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("px.safetensors");
    let missing = tmp.path().join("no-such-model");
    let o = vitrs(&[
        "preprocess",
        s(&chelsea()),
        "--model",
        s(&missing),
        "-o",
        s(&out),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("no-such-model"), "{}", stderr(&o));
    assert!(!out.exists());
    let o = vitrs(&[
        "preprocess",
        s(&chelsea()),
        "--model",
        "random:deit-tiny-patch16-224",
        "-o",
        s(&out),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // A preprocessor_config.json that exists but is broken is an error, not defaults.
    let model = model_dir(tmp.path(), "{ broken");
    let cat = chelsea();
    for cmd in ["preprocess", "embed"] {
        let mut args = vec![cmd, s(&cat), "--model", s(&model)];
        if cmd == "preprocess" {
            args.extend(["-o", s(&out)]);
        }
        let o = vitrs(&args);
        assert!(!o.status.success(), "{cmd}");
        assert!(
            stderr(&o).contains("preprocessor_config.json"),
            "{cmd}: {}",
            stderr(&o)
        );
    }
}
