//! Find the images of a folder most like a query image: L2-normalised embeddings, ranked by
//! cosine similarity (their dot product).
//!
//! ```sh
//! cargo run --release -p vitrs --example cosine_search -- [QUERY] [FOLDER] [MODEL]
//! ```
//!
//! Defaults: `fixtures/images/chelsea.png` among `fixtures/images` with
//! `random:deit-tiny-patch16-224`. With a real model (`facebook/dinov2-small`,
//! `openai/clip-vit-base-patch32`) the ranking means something; with random weights it only
//! shows the mechanics (the query itself still comes first, at similarity 1).

use std::error::Error;
use std::path::{Path, PathBuf};

use vitrs::embed::inputs::expand_inputs;
use vitrs::{Pipeline, Pool};

/// The images under `folder`, most similar to `query` first, with their cosine similarity.
pub fn search(
    query: &Path,
    folder: &str,
    model: &str,
) -> Result<Vec<(PathBuf, f32)>, Box<dyn Error>> {
    let vit = Pipeline::builder(model).normalize(true).build()?;
    let pool = Pool::natural(vit.model());
    let q = vit.embed(query, pool)?;
    let files = expand_inputs(&[folder.to_string()])?.files;
    let mut ranked = Vec::new();
    for (path, e) in files.iter().zip(vit.embed_batch(&files, pool)?) {
        let Ok(e) = e else { continue };
        let cosine: f32 = q.data().iter().zip(e.data()).map(|(a, b)| a * b).sum();
        ranked.push((path.clone(), cosine));
    }
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    Ok(ranked)
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/images");
    let query = args
        .first()
        .map_or(fixtures.join("chelsea.png"), Into::into);
    let folder = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| fixtures.display().to_string());
    let model = args
        .get(2)
        .map_or("random:deit-tiny-patch16-224", String::as_str);
    for (path, cosine) in search(&query, &folder, model)? {
        println!("{cosine:+.4}  {}", path.display());
    }
    Ok(())
}
