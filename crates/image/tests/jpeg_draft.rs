//! Draft decoding (`ImageProcessor::set_jpeg_draft`): off by default and then bit-identical
//! to the exact path; on, a large JPEG is decoded shrunk and gives the same output size with
//! pixels close to (not equal to) the exact ones; other formats are not affected.

use std::path::Path;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::ImageEncoder;
use vitrs_image::ImageProcessor;

/// A `width × height` RGB test card: gradients plus a fine checker (detail that a shrunk
/// decode must smooth away, so the two paths differ).
fn card(width: u32, height: u32) -> Vec<u8> {
    let mut rgb = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height {
        for x in 0..width {
            let checker = if (x / 3 + y / 3) % 2 == 0 { 40 } else { 0 };
            rgb.push(((x * 200 / width) + checker) as u8);
            rgb.push(((y * 200 / height) + checker) as u8);
            rgb.push((((x + y) * 100 / (width + height)) + checker) as u8);
        }
    }
    rgb
}

fn encode(encoder: impl ImageEncoder, width: u32, height: u32) {
    encoder
        .write_image(
            &card(width, height),
            width,
            height,
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
}

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    encode(JpegEncoder::new_with_quality(&mut out, 90), width, height);
    out
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    encode(PngEncoder::new(&mut out), width, height);
    out
}

fn run(bytes: &[u8], name: &str, draft: bool) -> Vec<f32> {
    let mut p = ImageProcessor::default();
    p.set_jpeg_draft(draft);
    let t = p.preprocess_bytes(bytes, Path::new(name)).unwrap();
    assert_eq!(t.dims(), &[3, 224, 224]);
    t.data().to_vec()
}

#[test]
fn draft_is_off_by_default_and_only_changes_large_jpegs() {
    assert!(!ImageProcessor::default().jpeg_draft());
    // A PNG and a JPEG too small to shrink (shorter side < 2 × 224) are decoded in full.
    for (bytes, name) in [(png(1200, 900), "card.png"), (jpeg(600, 440), "small.jpg")] {
        assert_eq!(run(&bytes, name, true), run(&bytes, name, false), "{name}");
    }
}

#[test]
#[cfg(feature = "libjpeg")]
fn a_large_jpeg_decodes_shrunk_to_nearly_the_same_pixels() {
    let bytes = jpeg(1200, 900); // decoded at 600 × 450 (scale 1/2)
    let (exact, draft) = (
        run(&bytes, "card.jpg", false),
        run(&bytes, "card.jpg", true),
    );
    let diffs: Vec<f32> = exact
        .iter()
        .zip(&draft)
        .map(|(a, b)| (a - b).abs())
        .collect();
    let max = diffs.iter().copied().fold(0.0f32, f32::max);
    let mean = diffs.iter().sum::<f32>() / diffs.len() as f32;
    eprintln!(
        "draft vs exact: max |diff| {max}, mean {mean} (one level: {})",
        2.0 / 255.0
    );
    // Values are (level/255 − 0.5)/0.5: one 8-bit level is 2/255.
    assert!(max > 0.0, "the draft path did not run");
    assert!(mean < 2.0 / 255.0, "mean |diff| {mean}");
    assert!(max < 16.0 * 2.0 / 255.0, "max |diff| {max}");
}
