//! Classify an image held in memory (encoded bytes, as they come from a socket, a database or
//! an archive), and the same image decoded by the `image` crate.
//!
//! ```sh
//! cargo run --release -p vitrs --example classify_bytes -- [IMAGE] [MODEL]
//! ```
//!
//! Defaults: the repository's `fixtures/images/chelsea.png` and
//! `random:deit-tiny-patch16-224` (a classifier with 1000 ImageNet labels and seeded random
//! weights: the labels are real, the probabilities are not).

use std::error::Error;
use std::path::Path;

use vitrs::{Input, Pipeline, Prediction};

/// The `k` most likely labels of the encoded image `bytes`.
pub fn classify_bytes(
    model: &str,
    bytes: &[u8],
    k: usize,
) -> Result<Vec<Prediction>, Box<dyn Error>> {
    let vit = Pipeline::from_pretrained(model)?;
    // A name makes errors say which image was bad; `Input::from(bytes)` calls it `<bytes>`.
    Ok(vit.classify(Input::named_bytes(bytes, "upload #1"), k)?)
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/images/chelsea.png");
    let image = args.first().map_or(fixture, Into::into);
    let model = args
        .get(1)
        .map_or("random:deit-tiny-patch16-224", String::as_str);

    let bytes = std::fs::read(&image)?;
    for p in classify_bytes(model, &bytes, 5)? {
        println!(
            "{:>6.2}%  {:>5}  {}",
            100.0 * p.probability,
            p.index,
            p.label
        );
    }

    // Pixels decoded elsewhere: vitrs takes them as they are (no EXIF turn, as transformers
    // given a PIL image).
    let vit = Pipeline::from_pretrained(model)?;
    let decoded = vitrs::image::load_from_memory(&bytes)?;
    let top = vit.classify(&decoded, 1)?;
    println!("decoded by the image crate: {}", top[0].label);
    Ok(())
}
