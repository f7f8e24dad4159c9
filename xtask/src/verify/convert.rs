//! Converter cases: `fixtures/convert/<case>/` holds a timm or JAX checkpoint with the outputs
//! of the model it came from. Each is converted with vitrs-convert, loaded with vitrs-model and
//! run; refused variants must be refused. Re-encoding the `models/pooler` checkpoint to F16 and
//! BF16 must give exactly the rounded values.

use std::path::Path;

use anyhow::{Context, Result};
use vitrs_convert::{convert, DType, Format};
use vitrs_model::checkpoint::SafetensorsFile;
use vitrs_model::{ForwardOptions, ViT};

use super::models::read_tensor;
use super::Row;

/// Runs every case folder under `dir`, then the dtype round trips.
pub fn verify(dir: &Path) -> Vec<Row> {
    let cases = super::case_dirs(dir);
    let mut rows: Vec<Row> = cases
        .iter()
        .flat_map(|case| {
            let name = format!(
                "convert/{}",
                case.file_name().unwrap_or_default().to_string_lossy()
            );
            run_case(case, &name)
                .unwrap_or_else(|e| vec![Row::failed(&name, "-", format!("{e:#}"))])
        })
        .collect();
    let hf = dir.join("../models/pooler");
    if hf.exists() {
        for dtype in [DType::F16, DType::BF16] {
            let name = format!("convert/hf_to_{}", dtype.name().to_lowercase());
            rows.push(
                dtype_round_trip(&hf, dtype)
                    .unwrap_or_else(|e| Row::failed(&name, "-", format!("{e:#}"))),
            );
        }
    }
    rows
}

fn run_case(case: &Path, name: &str) -> Result<Vec<Row>> {
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(case.join("case.json"))?)?;
    let from: Format = meta["from"]
        .as_str()
        .context("case.json: no \"from\"")?
        .parse()
        .map_err(anyhow::Error::msg)?;
    let source = case.join(meta["source"].as_str().unwrap_or("."));
    let out = tempfile::tempdir()?;
    let result = convert(&source, out.path(), Some(from), DType::F32);
    if meta["refused"].as_bool() == Some(true) {
        return Ok(vec![match result {
            Err(e @ vitrs_convert::ConvertError::Refused { .. }) => {
                Row::compared(name, "refused", 0.0, 0.0).with_note(e.to_string())
            }
            Err(e) => Row::failed(name, "refused", format!("wrong error: {e}")),
            Ok(_) => Row::failed(name, "refused", "converted a variant that must be refused"),
        }]);
    }
    result?;
    let vit = ViT::load(out.path())?;
    let input = SafetensorsFile::open(&case.join("input.safetensors"))?;
    let pixels = read_tensor(&input, "pixel_values")?;
    let got = vit.forward(&pixels, &ForwardOptions::default())?;
    let expected = SafetensorsFile::open(&case.join("expected.safetensors"))?;
    let mut rows = Vec::new();
    let mut names = expected.names();
    names.sort();
    for key in names {
        let want = read_tensor(&expected, &key)?;
        let out = match key.as_str() {
            "last_hidden_state" => Some(&got.last_hidden_state),
            "logits" => got.logits.as_ref(),
            "pooler_output" => got.pooler_output.as_ref(),
            _ => None,
        };
        rows.push(match out.and_then(|o| o.max_abs_diff(&want)) {
            Some(d) => Row::compared(name, &key, d as f64, 5e-5),
            None => Row::failed(name, &key, "missing or wrongly shaped output"),
        });
    }
    Ok(rows)
}

fn dtype_round_trip(hf: &Path, dtype: DType) -> Result<Row> {
    let name = format!("convert/hf_to_{}", dtype.name().to_lowercase());
    let out = tempfile::tempdir()?;
    convert(hf, out.path(), Some(Format::Hf), dtype)?;
    let a = SafetensorsFile::open(&hf.join("model.safetensors"))?;
    let b = SafetensorsFile::open(&out.path().join("model.safetensors"))?;
    let mut mismatches = 0usize;
    for n in a.names() {
        let rounded = vitrs_tensor::decode(&vitrs_tensor::encode(&a.load(&n)?, dtype), dtype)?;
        mismatches += rounded
            .iter()
            .zip(b.load(&n)?)
            .filter(|(x, y)| x.to_bits() != y.to_bits())
            .count();
    }
    if b.dtypes().iter().any(|d| d != dtype.name()) {
        return Ok(Row::failed(
            &name,
            "values",
            format!("dtypes {:?}", b.dtypes()),
        ));
    }
    Ok(Row::compared(
        &name,
        "values differing from rounding",
        mismatches as f64,
        0.0,
    ))
}
