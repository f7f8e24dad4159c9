//! What makes a folder a usable model folder in Hugging Face layout.

use std::path::{Component, Path};

use super::HubError;

/// The model config.
pub const CONFIG: &str = "config.json";
/// Single-file weights.
pub const WEIGHTS: &str = "model.safetensors";
/// The index of sharded weights.
pub const WEIGHTS_INDEX: &str = "model.safetensors.index.json";
/// The image processor's settings; optional (not every repo has one).
pub const PREPROCESSOR: &str = "preprocessor_config.json";

/// Weight files that mean the checkpoint exists but not as safetensors.
const OTHER_WEIGHTS: [&str; 4] = [
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
    "tf_model.h5",
    "flax_model.msgpack",
];

/// Checks that `dir` holds `config.json` and safetensors weights (one file, or an index and
/// every shard it lists). `preprocessor_config.json` is optional.
pub fn check_model_dir(dir: &Path) -> Result<(), HubError> {
    if !dir.join(CONFIG).is_file() {
        return Err(HubError::MissingConfig {
            dir: dir.to_path_buf(),
        });
    }
    if dir.join(WEIGHTS).is_file() {
        return Ok(());
    }
    let index = dir.join(WEIGHTS_INDEX);
    if index.is_file() {
        for shard in shard_names(&index)? {
            if !dir.join(&shard).is_file() {
                return Err(HubError::MissingShard {
                    dir: dir.to_path_buf(),
                    index,
                    shard,
                });
            }
        }
        return Ok(());
    }
    let hint = match OTHER_WEIGHTS.iter().find(|f| dir.join(f).is_file()) {
        Some(other) => format!(
            "; it has {other}, which vitrs does not read: save the model as safetensors \
             (transformers' `save_pretrained` does by default)"
        ),
        None => "; put the weights beside config.json".to_string(),
    };
    Err(HubError::MissingWeights {
        dir: dir.to_path_buf(),
        hint,
    })
}

/// The distinct shard file names `model.safetensors.index.json` maps tensors to, sorted.
/// Names that would leave the folder (absolute, `..`) are refused.
pub fn shard_names(index: &Path) -> Result<Vec<String>, HubError> {
    let bad = |reason: String| HubError::BadIndex {
        path: index.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(index).map_err(|e| HubError::io(index, e))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| bad(format!("invalid JSON: {e}")))?;
    let map = json
        .get("weight_map")
        .and_then(|m| m.as_object())
        .ok_or_else(|| bad("no `weight_map` object".into()))?;
    let mut shards = Vec::new();
    for (tensor, file) in map {
        let file = file
            .as_str()
            .ok_or_else(|| bad(format!("`weight_map.{tensor}` is not a file name")))?;
        let safe = !file.is_empty()
            && !file.contains('\\')
            && Path::new(file)
                .components()
                .all(|c| matches!(c, Component::Normal(_)));
        if !safe {
            return Err(bad(format!(
                "`weight_map.{tensor}` = `{file}` is not a file name inside the folder"
            )));
        }
        shards.push(file.to_string());
    }
    if shards.is_empty() {
        return Err(bad("`weight_map` is empty".into()));
    }
    shards.sort();
    shards.dedup();
    Ok(shards)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn single_and_sharded_folders_pass() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/models");
        check_model_dir(&root.join("pooler")).unwrap();
        check_model_dir(&root.join("sharded")).unwrap();
        let shards = shard_names(&root.join("sharded").join(WEIGHTS_INDEX)).unwrap();
        assert_eq!(shards.len(), 7);
        assert_eq!(shards[0], "model-00001-of-00007.safetensors");
    }

    #[test]
    fn missing_pieces_are_named() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let err = check_model_dir(dir).unwrap_err().to_string();
        assert!(
            err.contains("no config.json") && err.contains("hf download"),
            "{err}"
        );
        fs::write(dir.join(CONFIG), "{}").unwrap();
        let err = check_model_dir(dir).unwrap_err().to_string();
        assert!(err.contains("no model.safetensors"), "{err}");
        fs::write(dir.join("pytorch_model.bin"), "").unwrap();
        let err = check_model_dir(dir).unwrap_err().to_string();
        assert!(err.contains("pytorch_model.bin"), "{err}");
        fs::write(
            dir.join(WEIGHTS_INDEX),
            r#"{"weight_map": {"a": "s1.safetensors", "b": "s2.safetensors"}}"#,
        )
        .unwrap();
        fs::write(dir.join("s1.safetensors"), "").unwrap();
        let err = check_model_dir(dir).unwrap_err().to_string();
        assert!(err.contains("`s2.safetensors`"), "{err}");
        fs::write(dir.join("s2.safetensors"), "").unwrap();
        check_model_dir(dir).unwrap();
    }

    #[test]
    fn index_names_cannot_escape_the_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let index = tmp.path().join(WEIGHTS_INDEX);
        for bad in [
            r#"{"weight_map": {"a": "../x.safetensors"}}"#,
            r#"{"weight_map": {"a": "/etc/passwd"}}"#,
            r#"{"weight_map": {"a": "..\\x"}}"#,
            r#"{"weight_map": {"a": 3}}"#,
            r#"{"weight_map": {}}"#,
            r#"{"metadata": {}}"#,
            "not json",
        ] {
            fs::write(&index, bad).unwrap();
            let err = shard_names(&index).unwrap_err();
            assert!(matches!(err, HubError::BadIndex { .. }), "{bad}: {err}");
        }
    }
}
