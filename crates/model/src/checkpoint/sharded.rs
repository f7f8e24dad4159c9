//! Sharded checkpoints: `model.safetensors.index.json` maps each tensor to a shard file.

use std::collections::BTreeSet;
use std::path::Path;

use super::SafetensorsFile;
use crate::ModelError;

/// Opens every shard the index names, checking that each tensor is where the index says.
pub fn open_shards(index: &Path) -> Result<Vec<SafetensorsFile>, ModelError> {
    let text = vitrs_tensor::file::read_capped_string(
        index,
        vitrs_tensor::file::caps::INDEX_JSON,
        "a safetensors index",
    )
    .map_err(|e| ModelError::io(index, e))?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| ModelError::Json {
        path: index.to_path_buf(),
        message: e.to_string(),
    })?;
    let bad = |message: String| ModelError::Json {
        path: index.to_path_buf(),
        message,
    };
    let map = json
        .get("weight_map")
        .and_then(|m| m.as_object())
        .ok_or_else(|| {
            bad("expected a \"weight_map\" object of tensor name → shard file".into())
        })?;
    let mut shard_names = BTreeSet::new();
    for (tensor, file) in map {
        let file = file.as_str().ok_or_else(|| {
            bad(format!(
                "weight_map[\"{tensor}\"]: expected a file name, found {file}"
            ))
        })?;
        if file.contains('/') || file.contains('\\') || file == ".." {
            return Err(bad(format!(
                "weight_map[\"{tensor}\"]: shard {file:?} is not a plain file name"
            )));
        }
        shard_names.insert(file.to_string());
    }
    let dir = index.parent().unwrap_or(Path::new("."));
    let shards: Vec<SafetensorsFile> = shard_names
        .iter()
        .map(|f| SafetensorsFile::open(&dir.join(f)))
        .collect::<Result<_, _>>()?;
    for (tensor, file) in map {
        let shard = shards
            .iter()
            .find(|s| s.path().file_name().and_then(|n| n.to_str()) == file.as_str());
        if !shard.is_some_and(|s| s.contains(tensor)) {
            return Err(ModelError::MissingTensor {
                checkpoint: dir
                    .join(file.as_str().unwrap_or_default())
                    .display()
                    .to_string(),
                name: tensor.clone(),
            });
        }
    }
    // Each tensor must live in exactly the shard the index names: a second copy elsewhere (or
    // one the index does not list) would make which values load depend on the search order.
    for shard in &shards {
        let here = shard
            .path()
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        for tensor in shard.names() {
            match map.get(&tensor).and_then(|f| f.as_str()) {
                Some(named) if named == here => {}
                Some(named) => {
                    return Err(bad(format!(
                    "tensor `{tensor}` is in shard {here:?} but the index puts it in {named:?}; \
                         a tensor must be stored once, where the index says"
                )))
                }
                None => {
                    return Err(bad(format!(
                        "shard {here:?} holds tensor `{tensor}`, which the index does not list"
                    )))
                }
            }
        }
    }
    Ok(shards)
}
