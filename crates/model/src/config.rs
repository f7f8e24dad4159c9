//! `config.json` of a ViT checkpoint (transformers' `ViTConfig`).

use std::path::Path;

use serde_json::{Map, Value};
use vitrs_kernels::Activation;

use crate::family::{self, Family, Variant};
use crate::ModelError;

/// Which transformers class (of its family) a checkpoint was saved from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `ViTModel`: tensors without prefix, optional `pooler.dense`.
    Model,
    /// `ViTForImageClassification` (or DeiT's): the tower under `vit.` (`deit.`), plus
    /// `classifier`.
    ForImageClassification,
    /// `DeiTForImageClassificationWithTeacher`: `cls_classifier` and `distillation_classifier`.
    ForImageClassificationWithTeacher,
    /// `CLIPVisionModelWithProjection` or a two-tower `CLIPModel`: `visual_projection`.
    WithProjection,
}

/// The fields of `ViTConfig` that shape the computation. Defaults are transformers'.
#[derive(Debug, Clone, PartialEq)]
pub struct ViTConfig {
    /// Width `D` of every token.
    pub hidden_size: usize,
    /// Number of encoder layers `L`.
    pub num_hidden_layers: usize,
    /// Attention heads; `hidden_size / num_attention_heads` is the head size.
    pub num_attention_heads: usize,
    /// Hidden width of the MLP.
    pub intermediate_size: usize,
    /// The MLP activation (`hidden_act`).
    pub hidden_act: Activation,
    /// LayerNorm epsilon.
    pub layer_norm_eps: f64,
    /// Input size `[height, width]` the position table was made for.
    pub image_size: [usize; 2],
    /// Patch size `[height, width]`.
    pub patch_size: [usize; 2],
    /// Input channels.
    pub num_channels: usize,
    /// Whether q, k and v have biases.
    pub qkv_bias: bool,
    /// Width of the pooler output (`pooler_output_size`, default `hidden_size`).
    pub pooler_output_size: usize,
    /// The pooler activation (`pooler_act`).
    pub pooler_act: Activation,
    /// Class names by index, from `id2label` (empty when the config has none).
    pub id2label: Vec<String>,
    /// What the family (`model_type`) computes differently from `ViTModel`.
    pub variant: Variant,
}

impl Default for ViTConfig {
    fn default() -> Self {
        ViTConfig {
            hidden_size: 768,
            num_hidden_layers: 12,
            num_attention_heads: 12,
            intermediate_size: 3072,
            hidden_act: Activation::Gelu,
            layer_norm_eps: 1e-12,
            image_size: [224, 224],
            patch_size: [16, 16],
            num_channels: 3,
            qkv_bias: true,
            pooler_output_size: 768,
            pooler_act: Activation::Tanh,
            id2label: Vec::new(),
            variant: family::vit::variant(),
        }
    }
}

/// The fields of one JSON object, read with the errors the config reports.
pub(crate) struct Fields<'a> {
    path: &'a Path,
    map: &'a Map<String, Value>,
}

impl Fields<'_> {
    pub(crate) fn err(&self, field: &str, expected: &str, found: &Value) -> ModelError {
        ModelError::Config {
            path: self.path.to_path_buf(),
            field: field.to_string(),
            expected: expected.to_string(),
            found: found.to_string(),
        }
    }

    pub(crate) fn get(&self, field: &str) -> Option<&Value> {
        self.map.get(field).filter(|v| !v.is_null())
    }

    pub(crate) fn positive(&self, field: &str, default: usize) -> Result<usize, ModelError> {
        match self.get(field) {
            None => Ok(default),
            Some(v) => v
                .as_u64()
                .filter(|&n| n > 0 && n <= 1 << 20)
                .map(|n| n as usize)
                .ok_or_else(|| self.err(field, "a positive integer", v)),
        }
    }

    pub(crate) fn pair(&self, field: &str, default: usize) -> Result<[usize; 2], ModelError> {
        let expected = "a positive integer or a [height, width] list";
        let one = |v: &Value| {
            v.as_u64()
                .filter(|&n| n > 0 && n <= 1 << 20)
                .map(|n| n as usize)
        };
        match self.get(field) {
            None => Ok([default, default]),
            Some(v @ Value::Array(items)) => match items.as_slice() {
                [h, w] => match (one(h), one(w)) {
                    (Some(h), Some(w)) => Ok([h, w]),
                    _ => Err(self.err(field, expected, v)),
                },
                _ => Err(self.err(field, expected, v)),
            },
            Some(v) => one(v)
                .map(|n| [n, n])
                .ok_or_else(|| self.err(field, expected, v)),
        }
    }

    pub(crate) fn float(&self, field: &str, default: f64) -> Result<f64, ModelError> {
        match self.get(field) {
            None => Ok(default),
            Some(v) => v
                .as_f64()
                .filter(|x| x.is_finite() && *x >= 0.0)
                .ok_or_else(|| self.err(field, "a non-negative number", v)),
        }
    }

    /// A non-negative integer (0 allowed).
    pub(crate) fn count(&self, field: &str, default: usize) -> Result<usize, ModelError> {
        match self.get(field) {
            None => Ok(default),
            Some(v) => v
                .as_u64()
                .filter(|&n| n <= 1 << 20)
                .map(|n| n as usize)
                .ok_or_else(|| self.err(field, "a non-negative integer", v)),
        }
    }

    pub(crate) fn boolean(&self, field: &str, default: bool) -> Result<bool, ModelError> {
        match self.get(field) {
            None => Ok(default),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| self.err(field, "true or false", v)),
        }
    }

    pub(crate) fn activation(
        &self,
        field: &str,
        default: Activation,
    ) -> Result<Activation, ModelError> {
        match self.get(field) {
            None => Ok(default),
            Some(v) => {
                let name = v
                    .as_str()
                    .ok_or_else(|| self.err(field, "an activation name", v))?;
                name.parse().map_err(|_| {
                    let names = vitrs_kernels::activation::ACTIVATION_NAMES.join(", ");
                    self.err(field, &format!("one of {names}"), v)
                })
            }
        }
    }

    fn labels(&self) -> Result<Vec<String>, ModelError> {
        let Some(v) = self.get("id2label") else {
            return Ok(Vec::new());
        };
        let expected = "an object mapping \"0\"..\"N-1\" to label strings";
        let obj = v
            .as_object()
            .ok_or_else(|| self.err("id2label", expected, v))?;
        // Keys are integers, as transformers reads them (`int(k)`): "07" is label 7. Two keys
        // naming one label, or a label missing, would shift every class after it.
        let mut labels: Vec<Option<String>> = vec![None; obj.len()];
        for (k, name) in obj {
            let n = labels.len();
            let i = k
                .trim()
                .parse::<usize>()
                .map_err(|_| self.err("id2label", expected, &Value::String(k.clone())))?;
            if i >= n {
                return Err(self.err(
                    "id2label",
                    expected,
                    &Value::String(format!(
                        "key {k:?} among {n} labels (numbered 0..{} without holes)",
                        n - 1
                    )),
                ));
            }
            let name = name
                .as_str()
                .ok_or_else(|| self.err("id2label", expected, name))?;
            if labels[i].is_some() {
                return Err(self.err(
                    "id2label",
                    expected,
                    &Value::String(format!("label {i} twice (key {k:?})")),
                ));
            }
            labels[i] = Some(name.to_string());
        }
        // n distinct keys below n fill every slot; kept as a check, not an assumption.
        if let Some(hole) = labels.iter().position(Option::is_none) {
            return Err(self.err(
                "id2label",
                expected,
                &Value::String(format!("no label {hole}")),
            ));
        }
        Ok(labels.into_iter().flatten().collect())
    }
}

impl ViTConfig {
    /// Reads and validates `config.json`.
    pub fn from_file(path: &Path) -> Result<Self, ModelError> {
        let text = vitrs_tensor::file::read_capped_string(
            path,
            vitrs_tensor::file::caps::CONFIG_JSON,
            "a config.json",
        )
        .map_err(|e| ModelError::io(path, e))?;
        Self::from_json_str(&text, path)
    }

    /// Parses and validates config JSON; `path` is only used in errors.
    pub fn from_json_str(text: &str, path: &Path) -> Result<Self, ModelError> {
        let value: Value = serde_json::from_str(text).map_err(|e| ModelError::Json {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let map = value.as_object().ok_or_else(|| ModelError::Json {
            path: path.to_path_buf(),
            message: "expected a JSON object".to_string(),
        })?;
        let top = Fields { path, map };
        let family = match top.get("model_type") {
            None => Family::Vit,
            Some(v) => v
                .as_str()
                .and_then(Family::from_model_type)
                .ok_or_else(|| {
                    let names: Vec<String> = family::MODEL_TYPES
                        .iter()
                        .map(|t| format!("\"{t}\""))
                        .collect();
                    top.err("model_type", &format!("one of {}", names.join(", ")), v)
                })?,
        };
        // Two-tower checkpoints (clip, siglip) keep the vision tower's fields apart.
        let f = match map.get("vision_config") {
            Some(Value::Object(vision)) if family.has_vision_config() => {
                Fields { path, map: vision }
            }
            _ => Fields { path, map },
        };
        let mut d = family.defaults();
        d.hidden_size = f.positive("hidden_size", d.hidden_size)?;
        let variant = family.read(&f, &mut d)?;
        let hidden_size = d.hidden_size;
        let cfg = ViTConfig {
            hidden_size,
            num_hidden_layers: f.positive("num_hidden_layers", d.num_hidden_layers)?,
            num_attention_heads: f.positive("num_attention_heads", d.num_attention_heads)?,
            intermediate_size: match d.mlp_from_ratio {
                true => d.intermediate_size,
                false => f.positive("intermediate_size", d.intermediate_size)?,
            },
            hidden_act: f.activation("hidden_act", d.hidden_act)?,
            layer_norm_eps: f.float("layer_norm_eps", d.layer_norm_eps)?,
            image_size: f.pair("image_size", d.image_size)?,
            patch_size: f.pair("patch_size", d.patch_size)?,
            num_channels: f.positive("num_channels", 3)?,
            qkv_bias: f.boolean("qkv_bias", true)?,
            pooler_output_size: f.positive("pooler_output_size", hidden_size)?,
            pooler_act: f.activation("pooler_act", Activation::Tanh)?,
            id2label: top.labels()?,
            variant,
        };
        cfg.validate(path)?;
        Ok(cfg)
    }

    fn validate(&self, path: &Path) -> Result<(), ModelError> {
        let err = |field: &str, expected: String, found: String| ModelError::Config {
            path: path.to_path_buf(),
            field: field.to_string(),
            expected,
            found,
        };
        if !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return Err(err(
                "num_attention_heads",
                format!("a divisor of hidden_size {}", self.hidden_size),
                self.num_attention_heads.to_string(),
            ));
        }
        for axis in 0..2 {
            if self.patch_size[axis] > self.image_size[axis] {
                return Err(err(
                    "patch_size",
                    format!("at most image_size {:?}", self.image_size),
                    format!("{:?}", self.patch_size),
                ));
            }
        }
        Ok(())
    }

    /// Features per head.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }

    /// Patch grid `[rows, cols]` at the configured image size.
    pub fn grid(&self) -> [usize; 2] {
        [
            self.image_size[0] / self.patch_size[0],
            self.image_size[1] / self.patch_size[1],
        ]
    }

    /// Tokens per image at the configured size: CLS, distillation and register tokens (as
    /// the family has them) + patches.
    pub fn tokens(&self) -> usize {
        let [h, w] = self.grid();
        self.variant.tokens.prefix() + h * w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<ViTConfig, ModelError> {
        ViTConfig::from_json_str(json, Path::new("cfg/config.json"))
    }

    #[test]
    fn empty_object_gives_transformers_defaults() {
        let c = parse("{}").unwrap();
        assert_eq!(c, ViTConfig::default());
        assert_eq!(c.tokens(), 197);
    }

    #[test]
    fn sizes_as_pairs_and_labels() {
        let c = parse(
            r#"{"image_size": [32, 48], "patch_size": 8, "hidden_size": 48,
                "num_attention_heads": 2, "id2label": {"1": "dog", "0": "cat"},
                "hidden_act": "quick_gelu", "pooler_output_size": null}"#,
        )
        .unwrap();
        assert_eq!(c.image_size, [32, 48]);
        assert_eq!(c.grid(), [4, 6]);
        assert_eq!(c.head_dim(), 24);
        assert_eq!(c.pooler_output_size, 48);
        assert_eq!(c.id2label, vec!["cat", "dog"]);
        assert_eq!(c.hidden_act, Activation::QuickGelu);
    }

    #[test]
    fn errors_name_the_field_expected_and_found() {
        let e = parse(r#"{"hidden_act": "gelu_99"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("cfg/config.json: field `hidden_act`"), "{e}");
        assert!(e.contains("found \"gelu_99\""), "{e}");
        let e = parse(r#"{"hidden_size": 100, "num_attention_heads": 12}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("a divisor of hidden_size 100, found 12"), "{e}");
        let e = parse(r#"{"image_size": [1, 2, 3]}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`image_size`") && e.contains("[1,2,3]"), "{e}");
        let e = parse(r#"{"id2label": {"5": "x"}}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`id2label`"), "{e}");
        let e = parse(r#"{"model_type": "swin"}"#).unwrap_err().to_string();
        assert!(
            e.contains("one of \"vit\", \"deit\"") && e.contains("found \"swin\""),
            "{e}"
        );
        let e = parse("{ not json").unwrap_err().to_string();
        assert!(e.starts_with("cfg/config.json: "), "{e}");
    }
}
