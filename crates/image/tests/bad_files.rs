//! Every bad file gets an error that names it; nothing panics.

use std::path::{Path, PathBuf};

use vitrs_image::{ImageError, ImageProcessor, Limits};

fn real(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/images")
        .join(name)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn err(path: &Path) -> String {
    let e = ImageProcessor::default().preprocess_path(path).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.starts_with(&path.display().to_string()),
        "{msg} should name {}",
        path.display()
    );
    msg
}

/// CRC-32 (IEEE) for patching PNG chunks.
fn crc32(bytes: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in bytes {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

#[test]
fn missing_empty_and_non_image_files() {
    let tmp = tempfile::tempdir().unwrap();
    assert!(err(&tmp.path().join("nope.png")).contains("No such file"));
    assert!(err(&write(tmp.path(), "empty.jpg", b"")).contains("the file is empty"));
    let text = write(tmp.path(), "notes.png", b"these are not pixels\n");
    assert!(err(&text).contains("not an image vitrs can read"));
    // A recognised format that is not compiled in (PNM) is refused, not guessed at.
    let ppm = write(tmp.path(), "x.ppm", b"P6\n2 2\n255\n............");
    let msg = err(&ppm);
    assert!(
        msg.contains("cannot decode") || msg.contains("not an image"),
        "{msg}"
    );
}

#[test]
fn truncated_and_corrupt_files() {
    let tmp = tempfile::tempdir().unwrap();
    for name in ["chelsea.png", "rocket.jpg"] {
        let bytes = std::fs::read(real(name)).unwrap();
        let cut = write(
            tmp.path(),
            &format!("cut-{name}"),
            &bytes[..bytes.len() / 2],
        );
        assert!(err(&cut).contains("cannot decode"), "{name}");
        let mut bad = bytes.clone();
        for i in (200..bad.len()).step_by(97) {
            bad[i] ^= 0xA5;
        }
        let corrupt = write(tmp.path(), &format!("corrupt-{name}"), &bad);
        assert!(err(&corrupt).contains("cannot decode"), "{name}");
    }
}

#[test]
fn decompression_bomb_is_refused_before_decoding() {
    // A real PNG whose header claims 60000 x 60000 pixels (3.6 G pixels, 10.8 GB as RGB).
    let tmp = tempfile::tempdir().unwrap();
    let mut png = std::fs::read(real("microaneurysms.png")).unwrap();
    png[16..20].copy_from_slice(&60_000u32.to_be_bytes());
    png[20..24].copy_from_slice(&60_000u32.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    let bomb = write(tmp.path(), "bomb.png", &png);
    let msg = err(&bomb);
    assert!(
        msg.contains("60000x60000") && msg.contains("more than the limit"),
        "{msg}"
    );

    // The limit is the user's to set.
    let mut small = ImageProcessor::default();
    small.set_limits(Limits { max_pixels: 10_000 });
    match small.preprocess_path(&real("chelsea.png")) {
        Err(ImageError::TooLarge {
            width: 451,
            height: 300,
            limit: 10_000,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_config_that_would_make_a_huge_output_is_refused() {
    // 451x300 with shortest_edge 2000 becomes 2000x3006: more than a 5 M pixel limit.
    let cfg = r#"{"size": {"shortest_edge": 2000}}"#;
    let mut p = ImageProcessor::from_json_str(cfg, Path::new("pp.json")).unwrap();
    p.set_limits(Limits {
        max_pixels: 5_000_000,
    });
    let msg = p
        .preprocess_path(&real("chelsea.png"))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("would make a 2000x3006 image"), "{msg}");
}

/// A PNG of `width` x `height` black pixels.
fn png(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    image::DynamicImage::new_rgb8(width, height)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

#[test]
fn the_output_size_is_known_and_refused_before_decoding() {
    // 3000 x 1 with shortest_edge 224 asks for 224 x 672000 pixels (600 MB of f32): the model
    // takes 224 x 224, so the header alone settles it.
    let tmp = tempfile::tempdir().unwrap();
    let thin = write(tmp.path(), "thin.png", &png(3000, 1));
    let p = ImageProcessor::from_json_str(
        r#"{"size": {"shortest_edge": 224}, "do_center_crop": false}"#,
        Path::new("pp.json"),
    )
    .unwrap();
    assert_eq!(p.output_size([1, 3000]), [224, 672_000]);
    let mut asked = None;
    let e = p
        .preprocess_path_checked(&thin, |size| {
            asked = Some(size);
            Err("it takes 224x224 only".into())
        })
        .unwrap_err();
    assert_eq!(asked, Some([224, 672_000]));
    let msg = e.to_string();
    assert!(
        msg.starts_with(&thin.display().to_string())
            && msg.contains("3000x1 image preprocesses to 224x672000")
            && msg.contains("it takes 224x224 only"),
        "{msg}"
    );
    // Accepted sizes go through unchanged.
    let ok = ImageProcessor::default()
        .preprocess_path_checked(&real("chelsea.png"), |s| {
            assert_eq!(s, [224, 224]);
            Ok(())
        })
        .unwrap();
    assert_eq!(ok.dims(), &[3, 224, 224]);
}

#[test]
fn a_resize_to_zero_pixels_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let thin = write(tmp.path(), "thin.png", &png(3000, 1));
    let p = ImageProcessor::from_json_str(
        r#"{"size": {"shortest_edge": 224, "longest_edge": 300}, "do_center_crop": false}"#,
        Path::new("pp.json"),
    )
    .unwrap();
    match p.preprocess_path(&thin) {
        Err(e @ ImageError::ZeroSize { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("at least one row and one column"), "{msg}");
        }
        other => panic!("{other:?}"),
    }
}

#[cfg(unix)]
#[test]
fn fifos_and_devices_are_refused_without_blocking() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("pipe.png");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    assert!(err(&fifo).contains("a FIFO"));
    let dev = tmp.path().join("zero.png");
    std::os::unix::fs::symlink("/dev/zero", &dev).unwrap();
    assert!(err(&dev).contains("a character device"));
    assert!(err(tmp.path()).contains("a directory"));
}

#[test]
fn an_image_file_larger_than_any_image_at_the_limit_is_refused_unread() {
    let tmp = tempfile::tempdir().unwrap();
    let mut p = ImageProcessor::default();
    p.set_limits(Limits { max_pixels: 100 });
    let big = write(tmp.path(), "big.png", &vec![0u8; (2 << 20) as usize]);
    let msg = p.preprocess_path(&big).unwrap_err().to_string();
    assert!(msg.contains("refused before reading"), "{msg}");
}

#[test]
fn a_preprocessor_config_that_cannot_be_read_is_an_error_not_defaults() {
    let tmp = tempfile::tempdir().unwrap();
    // Missing: transformers' defaults.
    assert!(ImageProcessor::from_dir(tmp.path()).is_ok());
    let path = tmp.path().join("preprocessor_config.json");
    std::fs::write(&path, "{ not json").unwrap();
    let msg = ImageProcessor::from_dir(tmp.path())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("preprocessor_config.json"), "{msg}");
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    let msg = ImageProcessor::from_dir(tmp.path())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("a directory"), "{msg}");
    std::fs::remove_dir(&path).unwrap();
    std::fs::write(&path, " ".repeat(2 << 20)).unwrap();
    let msg = ImageProcessor::from_dir(tmp.path())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("limit for a preprocessor_config.json"),
        "{msg}"
    );
    // A dangling symlink exists but cannot be read: an error too.
    #[cfg(unix)]
    {
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("gone"), &path).unwrap();
        assert!(ImageProcessor::from_dir(tmp.path()).is_err());
    }
}
