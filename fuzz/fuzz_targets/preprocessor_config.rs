//! Arbitrary bytes as `preprocessor_config.json`: parsing must return (Ok or Err) without
//! panicking; a config that parses must preprocess a small image.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vitrs_image::{ImageProcessor, RgbImage};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = ImageProcessor::from_json_str(text, std::path::Path::new("fuzz.json")) {
        let c = p.config();
        // Outputs are bounded by the config's own sizes (each at most 65536); keep runs cheap.
        let [h, w] = c.resize_to([7, 5]);
        let crop = c.crop_size.unwrap_or([1, 1]);
        if h.saturating_mul(w) <= 1 << 16 && crop[0].saturating_mul(crop[1]) <= 1 << 16 {
            let img = RgbImage::new(5, 7, (0..105).map(|i| i as u8).collect()).unwrap();
            let _ = p.preprocess(&img);
        }
    }
});
