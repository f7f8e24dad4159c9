//! Model cases: `fixtures/models/<case>/` holds a checkpoint (or names one in `model_dir`),
//! `input.safetensors`, `expected.safetensors` written by transformers, and `case.json`.

use std::path::Path;

use anyhow::{Context, Result};
use vitrs_model::checkpoint::SafetensorsFile;
use vitrs_model::{ForwardOptions, ViT, ViTOutput};
use vitrs_tensor::Tensor;

use super::Row;

/// Runs every case folder under `dir` (none if the folder does not exist).
pub fn verify(dir: &Path) -> Vec<Row> {
    let cases = super::case_dirs(dir);
    cases
        .iter()
        .flat_map(|case| {
            let name = case
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            run_case(case, &name)
                .unwrap_or_else(|e| vec![Row::failed(&name, "-", format!("{e:#}"))])
        })
        .collect()
}

/// Reads one tensor from a safetensors file.
pub fn read_tensor(file: &SafetensorsFile, name: &str) -> Result<Tensor> {
    let dims = file
        .dims(name)
        .with_context(|| format!("{}: no tensor `{name}`", file.path().display()))?;
    Ok(Tensor::new(&dims, file.load(name)?)?)
}

fn output<'a>(out: &'a ViTOutput, name: &str) -> Option<&'a Tensor> {
    match name {
        "last_hidden_state" => Some(&out.last_hidden_state),
        "pooler_output" => out.pooler_output.as_ref(),
        "image_embeds" => out.image_embeds.as_ref(),
        "logits" => out.logits.as_ref(),
        _ => {
            let (kind, i) = name.split_once('.')?;
            let i: usize = i.parse().ok()?;
            match kind {
                "hidden_states" => out.hidden_states.get(i),
                "attentions" => out.attentions.get(i),
                _ => None,
            }
        }
    }
}

fn run_case(case: &Path, name: &str) -> Result<Vec<Row>> {
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(case.join("case.json"))?)?;
    let flag = |k: &str| meta[k].as_bool().unwrap_or(false);
    let tolerance = meta["tolerance"].as_f64().unwrap_or(5e-5);
    let model_dir = case.join(meta["model_dir"].as_str().unwrap_or("."));
    let vit = ViT::load(&model_dir)?;
    let input = SafetensorsFile::open(&case.join("input.safetensors"))?;
    let pixels = read_tensor(&input, "pixel_values")?;
    let opts = ForwardOptions {
        interpolate_pos_encoding: flag("interpolate_pos_encoding"),
        output_hidden_states: flag("output_hidden_states"),
        output_attentions: flag("output_attentions"),
    };
    let out = vit.forward(&pixels, &opts)?;
    let expected = SafetensorsFile::open(&case.join("expected.safetensors"))?;
    let mut names = expected.names();
    names.sort_by_key(|n| (n.contains('.'), n.clone()));
    let mut rows = Vec::new();
    for key in names {
        let want = read_tensor(&expected, &key)?;
        let row = match output(&out, &key) {
            None => Row::failed(name, &key, "vitrs produced no such output"),
            Some(got) => match got.max_abs_diff(&want) {
                Some(diff) => Row::compared(name, &key, diff as f64, tolerance),
                None => Row::failed(
                    name,
                    &key,
                    format!("shape {:?}, expected {:?}", got.dims(), want.dims()),
                ),
            },
        };
        rows.push(row);
    }
    // An output vitrs gives that transformers does not is as wrong as a missing one.
    for (present, key) in [
        (out.pooler_output.is_some(), "pooler_output"),
        (out.logits.is_some(), "logits"),
        (out.image_embeds.is_some(), "image_embeds"),
    ] {
        if present && expected.dims(key).is_none() {
            rows.push(Row::failed(
                name,
                key,
                "vitrs produced an output transformers did not",
            ));
        }
    }
    Ok(rows)
}
