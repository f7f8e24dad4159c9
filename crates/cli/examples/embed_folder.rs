//! Embed every image of a folder (walked recursively, image types only) and write the
//! embeddings as one `.npy` array, rows in sorted path order.
//!
//! ```sh
//! cargo run --release -p vitrs --example embed_folder -- [FOLDER] [MODEL] [OUT.npy]
//! ```
//!
//! Defaults: the repository's `fixtures/images`, `random:deit-tiny-patch16-224` (seeded random
//! weights, no download), and no output file.

use std::error::Error;
use std::path::{Path, PathBuf};

use vitrs::embed::inputs::expand_inputs;
use vitrs::embed::write::{write, Format};
use vitrs::{Pipeline, Pool, Tensor};

/// Embeds the images under `folder` with `model`; the files embedded and their embeddings.
pub fn embed_folder(
    folder: &str,
    model: &str,
) -> Result<(Vec<PathBuf>, Vec<Tensor>), Box<dyn Error>> {
    let vit = Pipeline::builder(model).batch_size(4).build()?;
    let found = expand_inputs(&[folder.to_string()])?;
    for (path, why) in &found.skipped {
        eprintln!("skipped {}: {why}", path.display());
    }
    // The family's natural embedding: the CLS token for ViT and DeiT.
    let pool = Pool::natural(vit.model());
    let mut paths = Vec::new();
    let mut rows = Vec::new();
    for (path, result) in found.files.iter().zip(vit.embed_batch(&found.files, pool)?) {
        match result {
            Ok(embedding) => {
                paths.push(path.clone());
                rows.push(embedding);
            }
            Err(skipped) => eprintln!("skipped {skipped}"),
        }
    }
    Ok((paths, rows))
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/images");
    let folder = args
        .first()
        .cloned()
        .unwrap_or_else(|| fixtures.display().to_string());
    let model = args
        .get(1)
        .map_or("random:deit-tiny-patch16-224", String::as_str);
    let (paths, rows) = embed_folder(&folder, model)?;
    for (path, row) in paths.iter().zip(&rows) {
        println!(
            "{}  {:?}  {:+.4} ...",
            path.display(),
            row.dims(),
            row.data()[0]
        );
    }
    if let Some(out) = args.get(2) {
        write(Path::new(out), Format::Npy, &paths, &rows)?;
        println!("{} embeddings -> {out}", rows.len());
    }
    Ok(())
}
