//! JPEGs are decoded a row at a time straight into the resize's horizontal pass (libjpeg,
//! upright images); everything else is decoded whole first. Both must give the same bytes:
//! here the file path (`preprocess_bytes`) against the decoded-image path (`preprocess` of
//! `decode_bytes`, turned by its EXIF orientation) for every filter, both backends, the size
//! rules and all eight orientations. (`cargo xtask verify` checks both against transformers'
//! own outputs, EXIF fixtures included.)

use std::path::Path;

use image::codecs::jpeg::JpegEncoder;
use image::ImageEncoder;
use vitrs_image::{decode, Backend, ImageProcessor, Limits};

/// A noisy `width × height` JPEG (detail in every channel, so no filter is a no-op).
fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let mut s = 0x9e37_79b9_7f4a_7c15u64 ^ u64::from(width * 31 + height);
    let rgb: Vec<u8> = (0..width * height * 3)
        .map(|i| {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((i % (3 * width)) as u64 * 150 / u64::from(3 * width) + (s >> 58)) as u8
        })
        .collect();
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 92)
        .write_image(&rgb, width, height, image::ExtendedColorType::Rgb8)
        .unwrap();
    out
}

fn processor(config: &str, backend: Backend) -> Option<ImageProcessor> {
    ImageProcessor::from_json_str(config, Path::new("preprocessor_config.json"))
        .unwrap()
        .with_backend(backend)
        .ok()
}

/// `bytes` through the file path (streamed for a JPEG) equals decoding them whole, turning
/// the image by `orientation` and preprocessing it: dims and every value.
fn assert_streamed_is_whole(p: &ImageProcessor, bytes: &[u8], orientation: u8, what: &str) {
    let name = Path::new("test.jpg");
    let streamed = p.preprocess_bytes(bytes, name).unwrap();
    let whole = decode::decode_bytes(bytes, name, Limits::default()).unwrap();
    let whole = p
        .preprocess(&vitrs_image::exif::apply(whole, orientation))
        .unwrap();
    assert_eq!(streamed.dims(), whole.dims(), "{what}");
    assert!(
        streamed.data() == whole.data(),
        "{what}: the streamed path differs"
    );
}

#[test]
fn streamed_jpegs_equal_the_whole_image_path() {
    let configs = [
        // ViT: exact size, bilinear.
        r#"{"size": {"height": 224, "width": 224}, "resample": 2}"#,
        // CLIP-like: shortest edge then crop, bicubic.
        r#"{"size": {"shortest_edge": 224}, "crop_size": {"height": 224, "width": 224}, "do_center_crop": true, "resample": 3}"#,
        r#"{"size": {"height": 160, "width": 96}, "resample": 1}"#,
        r#"{"size": {"height": 64, "width": 64}, "resample": 0}"#,
        r#"{"size": {"height": 64, "width": 48}, "resample": 4}"#,
        r#"{"size": {"height": 50, "width": 70}, "resample": 5}"#,
    ];
    // Down in both axes, up in both, and the width unchanged (the row pass copies).
    let images = [jpeg(640, 480), jpeg(40, 30), jpeg(224, 300), jpeg(96, 97)];
    for config in configs {
        for backend in [Backend::Pil, Backend::Torchvision] {
            let Some(p) = processor(config, backend) else {
                continue; // BOX and HAMMING have no torchvision kernel.
            };
            for (i, bytes) in images.iter().enumerate() {
                assert_streamed_is_whole(&p, bytes, 1, &format!("{config} {backend} image {i}"));
            }
        }
    }
}

/// `jpeg` with an EXIF APP1 segment holding `orientation` (big-endian TIFF, one IFD entry).
fn with_orientation(jpeg: &[u8], orientation: u8) -> Vec<u8> {
    let mut tiff = b"MM\0*\0\0\0\x08".to_vec();
    tiff.extend([
        0,
        1,
        0x01,
        0x12,
        0,
        3,
        0,
        0,
        0,
        1,
        0,
        orientation,
        0,
        0,
        0,
        0,
        0,
        0,
    ]);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(tiff);
    let len = (app1.len() + 2) as u16;
    let mut out = jpeg[..2].to_vec(); // SOI
    out.extend([0xFF, 0xE1]);
    out.extend(len.to_be_bytes());
    out.extend(app1);
    out.extend(&jpeg[2..]);
    out
}

#[test]
fn streamed_turned_jpegs_equal_turning_the_whole_image() {
    let configs = [
        r#"{"size": {"height": 224, "width": 224}, "resample": 2}"#,
        r#"{"size": {"shortest_edge": 64}, "crop_size": {"height": 64, "width": 64}, "do_center_crop": true, "resample": 3}"#,
        r#"{"size": {"height": 40, "width": 30}, "resample": 1}"#,
    ];
    // Down, up, and one axis unchanged once turned (300 wide → 224 after a quarter turn).
    let images = [jpeg(640, 480), jpeg(40, 30), jpeg(300, 224)];
    for config in configs {
        for backend in [Backend::Pil, Backend::Torchvision] {
            let p = processor(config, backend).unwrap();
            for (i, plain) in images.iter().enumerate() {
                for orientation in 1..=8u8 {
                    let bytes = with_orientation(plain, orientation);
                    assert_eq!(vitrs_image::exif::orientation_of_bytes(&bytes), orientation);
                    let what = format!("{config} {backend} image {i}, orientation {orientation}");
                    assert_streamed_is_whole(&p, &bytes, orientation, &what);
                }
            }
        }
    }
}
