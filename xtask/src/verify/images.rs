//! Preprocessing cases: `fixtures/preprocess/<case>/` holds a `preprocessor_config.json`,
//! `case.json` (the images, in order, and which are lossy) and `expected.safetensors`
//! (`pixel_values` from transformers' `ViTImageProcessorPil`, or, where case.json says
//! `"backend": "torchvision"`, from `ViTImageProcessor`'s torchvision backend). Rows are named
//! `preprocess-pil/<case>` or `preprocess-torchvision/<case>`.
//!
//! Lossless images must match to 1e-6. JPEGs may differ by one 8-bit level (1/255/std after
//! normalisation) on at most 1% of values, because decoders round the IDCT differently: two
//! rows per JPEG, the largest difference and the share of values that differ at all.

use std::path::Path;

use anyhow::{Context, Result};
use vitrs_image::{Backend, ImageProcessor};
use vitrs_model::checkpoint::SafetensorsFile;

use super::models::read_tensor;
use super::Row;

/// Lossless tolerance.
const EXACT: f64 = 1e-6;
/// Share of JPEG values allowed to differ.
const JPEG_SHARE: f64 = 0.01;

/// Runs every case folder under `dir` (none if the folder does not exist).
pub fn verify(dir: &Path) -> Vec<Row> {
    let cases = super::case_dirs(dir);
    cases
        .iter()
        .flat_map(|case| {
            let backend = case_backend(case);
            let name = format!(
                "preprocess-{backend}/{}",
                case.file_name().unwrap_or_default().to_string_lossy()
            );
            run_case(case, &name)
                .unwrap_or_else(|e| vec![Row::failed(&name, "-", format!("{e:#}"))])
        })
        .collect()
}

/// The backend case.json names (PIL when it names none).
fn case_backend(case: &Path) -> Backend {
    let meta = std::fs::read_to_string(case.join("case.json")).unwrap_or_default();
    let meta: serde_json::Value = serde_json::from_str(&meta).unwrap_or_default();
    match meta["backend"].as_str() {
        Some("torchvision") => Backend::Torchvision,
        _ => Backend::Pil,
    }
}

fn run_case(case: &Path, name: &str) -> Result<Vec<Row>> {
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(case.join("case.json"))?)?;
    let images: Vec<&str> = meta["images"]
        .as_array()
        .context("case.json: no images")?
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    let lossy: Vec<bool> = meta["lossy"]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_bool().unwrap_or(false)).collect())
        .unwrap_or_default();
    let mut processor = ImageProcessor::from_dir(case)?.with_backend(case_backend(case))?;
    // Cases hold what the processor makes of `PIL.Image.open(path)`, or, with "exif": true,
    // of pipelines' `load_image(path)` (EXIF orientation applied).
    processor.set_exif(meta["exif"].as_bool().unwrap_or(false));
    let std_min = processor
        .config()
        .image_std
        .iter()
        .fold(f32::INFINITY, |a, &b| a.min(b.abs())) as f64;
    let level = if processor.config().do_normalize {
        1.0 / 255.0 / std_min
    } else {
        1.0 / 255.0
    };
    let level = if processor.config().do_rescale {
        level
    } else {
        level * 255.0
    };
    let expected = SafetensorsFile::open(&case.join("expected.safetensors"))?;
    let stacked = expected.dims("pixel_values").is_some();
    let stack = if stacked {
        Some(read_tensor(&expected, "pixel_values")?)
    } else {
        None
    };
    let mut rows = Vec::new();
    for (i, rel) in images.iter().enumerate() {
        let image = Path::new(rel)
            .file_name()
            .unwrap_or_default()
            .to_string_lossy();
        let got = match processor.preprocess_path(&case.join(rel)) {
            Ok(t) => t,
            Err(e) => {
                rows.push(Row::failed(name, &image, e));
                continue;
            }
        };
        let want: Vec<f32> = match &stack {
            Some(t) => t
                .view()
                .outer(i)
                .context("fewer expected images than listed")?
                .to_vec(),
            None => read_tensor(&expected, &format!("pixel_values.{i}"))?.into_data(),
        };
        if got.data().len() != want.len() {
            rows.push(Row::failed(
                name,
                &image,
                format!("shape {:?}, expected {} values", got.dims(), want.len()),
            ));
            continue;
        }
        let diffs: Vec<f64> = got
            .data()
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs() as f64)
            .collect();
        let max = diffs.iter().cloned().fold(0.0, f64::max);
        if lossy.get(i).copied().unwrap_or(false) {
            let share = diffs.iter().filter(|&&d| d > EXACT).count() as f64 / diffs.len() as f64;
            rows.push(Row::compared(
                name,
                &format!("{image} (jpeg)"),
                max,
                level + EXACT,
            ));
            rows.push(Row::compared(
                name,
                &format!("{image} share"),
                share,
                JPEG_SHARE,
            ));
        } else {
            rows.push(Row::compared(name, &image, max, EXACT));
        }
    }
    Ok(rows)
}
