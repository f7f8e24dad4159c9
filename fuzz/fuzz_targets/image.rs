//! Arbitrary bytes as an image file: decoding and preprocessing must return (Ok or Err)
//! without panicking, hanging or allocating past the pixel limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vitrs_image::{decode, ImageProcessor, Limits};

fuzz_target!(|data: &[u8]| {
    // A tight pixel limit keeps each run small; the check itself is what is being fuzzed.
    let limits = Limits { max_pixels: 1 << 20 };
    if let Ok(img) = decode::decode_bytes(data, std::path::Path::new("fuzz"), limits) {
        let _ = ImageProcessor::default().preprocess(&img);
    }
});
