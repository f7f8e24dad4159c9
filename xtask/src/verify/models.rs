//! Model cases: `fixtures/models/<case>/` holds a checkpoint (or names one in `model_dir`),
//! `input.safetensors`, `expected.safetensors` written by transformers, and `case.json`.

use std::path::Path;

use anyhow::{Context, Result};
use vitrs_model::checkpoint::SafetensorsFile;
use vitrs_model::{ComputeDtype, ForwardOptions, LoadOptions, ViT, ViTOutput};
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
            let mut rows = run_case(case, &name)
                .unwrap_or_else(|e| vec![Row::failed(&name, "-", format!("{e:#}"))]);
            rows.extend(
                run_int8(case, &name)
                    .unwrap_or_else(|e| vec![Row::failed(&name, "int8", format!("{e:#}"))]),
            );
            rows
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
        prefix_only: false,
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
    // Again with only the last layer's prefix tokens computed (what `classify` and `embed
    // --pool cls|pooler|image_embeds` run): the heads' outputs and those tokens.
    let plain = !(opts.output_hidden_states || opts.output_attentions);
    if plain && vit.prefix_suffices() {
        let short = vit.forward(
            &pixels,
            &ForwardOptions {
                prefix_only: true,
                ..opts
            },
        )?;
        for key in expected.names() {
            let Some(got) = output(&short, &key) else {
                continue;
            };
            let mut want = read_tensor(&expected, &key)?;
            if key == "last_hidden_state" {
                let (dims, p) = (want.dims().to_vec(), vit.prefix_tokens());
                let (t, d) = (dims[1], dims[2]);
                let cut: Vec<f32> = want
                    .data()
                    .chunks_exact(t * d)
                    .flat_map(|img| img[..p * d].to_vec())
                    .collect();
                want = Tensor::new(&[dims[0], p, d], cut)?;
            }
            let label = format!("{key} (prefix only)");
            rows.push(match got.max_abs_diff(&want) {
                Some(diff) => Row::compared(name, &label, diff as f64, tolerance),
                None => Row::failed(
                    name,
                    &label,
                    format!("shape {:?}, expected {:?}", got.dims(), want.dims()),
                ),
            });
        }
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

/// Least cosine similarity (per image) the int8 outputs must keep with transformers' f32.
pub const INT8_MIN_COSINE: f64 = 0.9995;

/// Cosine similarity of each image's slice of two same-shaped tensors `[B, ...]`.
pub fn cosines(got: &Tensor, want: &Tensor) -> Vec<f64> {
    let batch = want.dims().first().copied().unwrap_or(1).max(1);
    let per = want.data().len() / batch;
    got.data()
        .chunks(per.max(1))
        .zip(want.data().chunks(per.max(1)))
        .map(|(g, w)| {
            let (mut gw, mut gg, mut ww) = (0f64, 0f64, 0f64);
            for (&g, &w) in g.iter().zip(w) {
                let (g, w) = (g as f64, w as f64);
                gw += g * w;
                gg += g * g;
                ww += w * w;
            }
            if gg == 0.0 && ww == 0.0 {
                1.0
            } else {
                gw / (gg.sqrt() * ww.sqrt())
            }
        })
        .collect()
}

fn argmax(row: &[f32]) -> usize {
    row.iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &v)| {
            if v > bv {
                (i, v)
            } else {
                (bi, bv)
            }
        })
        .0
}

/// The case again with the encoder's linears in int8 (`--dtype int8`): per image, `1 − cos`
/// of `last_hidden_state`, `pooler_output` and `logits` against transformers' f32 (bound
/// `1 − 0.9995`), and the classifier's top-1 unchanged.
fn run_int8(case: &Path, name: &str) -> Result<Vec<Row>> {
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(case.join("case.json"))?)?;
    let flag = |k: &str| meta[k].as_bool().unwrap_or(false);
    let model_dir = case.join(meta["model_dir"].as_str().unwrap_or("."));
    let opts = LoadOptions {
        dtype: ComputeDtype::Int8,
        ..LoadOptions::default()
    };
    let vit = ViT::load_with(&model_dir, &opts)?;
    let input = SafetensorsFile::open(&case.join("input.safetensors"))?;
    let pixels = read_tensor(&input, "pixel_values")?;
    let fwd = ForwardOptions {
        interpolate_pos_encoding: flag("interpolate_pos_encoding"),
        ..ForwardOptions::default()
    };
    let out = vit.forward(&pixels, &fwd)?;
    let expected = SafetensorsFile::open(&case.join("expected.safetensors"))?;
    let mut rows = Vec::new();
    for key in ["last_hidden_state", "pooler_output", "logits"] {
        if expected.dims(key).is_none() {
            continue;
        }
        let want = read_tensor(&expected, key)?;
        let Some(got) = output(&out, key).filter(|g| g.dims() == want.dims()) else {
            rows.push(Row::failed(
                name,
                &format!("int8 {key}"),
                "missing or misshapen",
            ));
            continue;
        };
        let cos = cosines(got, &want);
        let worst = cos.iter().copied().fold(1.0f64, f64::min);
        rows.push(
            Row::compared(
                name,
                &format!("int8 {key}"),
                1.0 - worst,
                1.0 - INT8_MIN_COSINE,
            )
            .with_note(format!("1−cos, min over images: cos {worst:.6}")),
        );
        if key == "logits" {
            let n = want.dims()[1].max(1);
            let changed = got
                .data()
                .chunks(n)
                .zip(want.data().chunks(n))
                .filter(|(g, w)| argmax(g) != argmax(w))
                .count();
            rows.push(
                Row::compared(name, "int8 top-1", changed as f64, 0.0)
                    .with_note("images whose top-1 class changed".into()),
            );
        }
    }
    Ok(rows)
}
