//! Hugging Face → Hugging Face: the same names and shapes, another dtype.

use std::path::Path;

use serde_json::Value;

use crate::plan::{Plan, PlannedTensor, Transform};
use crate::source::TensorSource;
use crate::ConvertError;

/// Every tensor as it is; `config.json` copied (it must exist beside the weights).
pub fn plan(src: &dyn TensorSource, config_path: &Path) -> Result<Plan, ConvertError> {
    let text =
        std::fs::read_to_string(config_path).map_err(|e| ConvertError::io(config_path, e))?;
    let config: Value = serde_json::from_str(&text).map_err(|e| ConvertError::Malformed {
        path: config_path.to_path_buf(),
        message: e.to_string(),
    })?;
    let pp = config_path.with_file_name("preprocessor_config.json");
    let preprocessor = std::fs::read_to_string(pp)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    let tensors = src
        .names()
        .into_iter()
        .map(|n| PlannedTensor {
            shape: src.dims(&n).unwrap_or_default(),
            source: n.clone(),
            name: n,
            transform: Transform::Copy,
        })
        .collect();
    Ok(Plan {
        tensors,
        config,
        preprocessor,
    })
}
