//! timm `VisionTransformer` → Hugging Face names (VIT_REFERENCE §5).

use std::path::Path;

use serde_json::{json, Value};

use crate::plan::{Plan, PlannedTensor, Transform};
use crate::source::TensorSource;
use crate::ConvertError;

/// Heads by timm architecture family, for configs that do not state `num_heads`.
const HEADS: &[(&str, usize)] = &[
    ("vit_tiny", 3),
    ("vit_small", 6),
    ("vit_base", 12),
    ("vit_large", 16),
    ("vit_huge", 16),
    ("vit_giant", 16),
    ("deit_tiny", 3),
    ("deit_small", 6),
    ("deit_base", 12),
];

fn dims(src: &dyn TensorSource, name: &str) -> Result<Vec<usize>, ConvertError> {
    src.dims(name).ok_or_else(|| ConvertError::Tensor {
        name: name.into(),
        expected: "present in a timm ViT".into(),
        found: "missing".into(),
    })
}

/// The first dimension of `name`, which must be a matrix (not a scalar).
fn first_dim(src: &dyn TensorSource, name: &str) -> Result<usize, ConvertError> {
    match dims(src, name)?[..] {
        [rows, _] => Ok(rows),
        ref other => Err(ConvertError::Tensor {
            name: name.into(),
            expected: "a matrix [rows, cols]".into(),
            found: format!("{other:?}"),
        }),
    }
}

fn expect(src: &dyn TensorSource, name: &str, shape: &[usize]) -> Result<(), ConvertError> {
    let found = dims(src, name)?;
    if found != shape {
        return Err(ConvertError::Tensor {
            name: name.into(),
            expected: format!("shape {shape:?}"),
            found: format!("{found:?}"),
        });
    }
    Ok(())
}

/// Refuses timm variants that are not the plain ViT transformers implements.
fn refuse_variants(src: &dyn TensorSource, cfg: &Value) -> Result<(), ConvertError> {
    let names = src.names();
    let refuse = |found: String| ConvertError::Refused {
        path: src.path().to_path_buf(),
        found,
    };
    for (needle, what) in [
        ("fc_norm.", "fc_norm (a norm after pooling)"),
        (".ls1.", "LayerScale (blocks.N.ls1/ls2)"),
        ("gamma_1", "LayerScale (gamma_1)"),
        ("reg_token", "register tokens (reg_token)"),
        ("attn.q_norm", "qk-norm (attn.q_norm)"),
        ("attn.q_bias", "separate q/v biases (BEiT style)"),
        ("norm_pre.", "a pre-norm before the blocks (norm_pre)"),
        ("attn_pool", "attention pooling (attn_pool)"),
    ] {
        if let Some(n) = names.iter().find(|n| n.contains(needle)) {
            return Err(refuse(format!("{what}: tensor `{n}`")));
        }
    }
    if !names.iter().any(|n| n == "cls_token") {
        return Err(refuse("no cls_token".into()));
    }
    let pool = cfg["global_pool"]
        .as_str()
        .or_else(|| cfg["model_args"]["global_pool"].as_str())
        .unwrap_or("token");
    if !pool.is_empty() && pool != "token" {
        return Err(refuse(format!(
            "global_pool \"{pool}\" in config.json (ViT pools the CLS token)"
        )));
    }
    if cfg["model_args"]["class_token"] == json!(false)
        || cfg["model_args"]["no_embed_class"] == json!(true)
    {
        return Err(refuse(
            "class_token false or no_embed_class in config.json model_args".into(),
        ));
    }
    Ok(())
}

fn preprocessor(pcfg: &Value, size: [usize; 2]) -> Option<Value> {
    let mean = pcfg.get("mean")?;
    let std = pcfg.get("std")?;
    let resample = match pcfg["interpolation"].as_str().unwrap_or("bicubic") {
        "bilinear" => 2,
        "nearest" => 0,
        "lanczos" => 1,
        _ => 3,
    };
    let crop_pct = pcfg["crop_pct"].as_f64().unwrap_or(1.0);
    let [h, w] = size;
    // timm's eval transform: Resize(floor(size / crop_pct)) on the short side, CenterCrop(size).
    let scaled = (h.min(w) as f64 / crop_pct).floor() as usize;
    Some(json!({
        "do_resize": true,
        "size": {"shortest_edge": scaled},
        "resample": resample,
        "do_center_crop": true,
        "crop_size": {"height": h, "width": w},
        "do_rescale": true,
        "rescale_factor": 1.0 / 255.0,
        "do_normalize": true,
        "image_mean": mean,
        "image_std": std,
        "image_processor_type": "ViTImageProcessor",
    }))
}

/// The plan for a timm checkpoint; `config_path` is timm's `config.json` (optional).
pub fn plan(src: &dyn TensorSource, config_path: &Path) -> Result<Plan, ConvertError> {
    let cfg: Value = match std::fs::read_to_string(config_path) {
        Ok(t) => serde_json::from_str(&t).map_err(|e| ConvertError::Malformed {
            path: config_path.to_path_buf(),
            message: e.to_string(),
        })?,
        Err(_) => Value::Null,
    };
    refuse_variants(src, &cfg)?;
    let d = *dims(src, "cls_token")?.last().unwrap_or(&0);
    let patch = dims(src, "patch_embed.proj.weight")?;
    let [_, c, ph, pw] = patch[..] else {
        return Err(ConvertError::Tensor {
            name: "patch_embed.proj.weight".into(),
            expected: format!("[{d}, C, ph, pw]"),
            found: format!("{patch:?}"),
        });
    };
    let pos = dims(src, "pos_embed")?;
    let tokens = pos.get(1).copied().unwrap_or(0);
    let grid = match cfg["pretrained_cfg"]["input_size"].as_array() {
        Some(a) if a.len() == 3 => [
            (a[1].as_u64().unwrap_or(0) as usize)
                .checked_div(ph)
                .unwrap_or(0),
            (a[2].as_u64().unwrap_or(0) as usize)
                .checked_div(pw)
                .unwrap_or(0),
        ],
        _ => {
            let g = ((tokens.saturating_sub(1)) as f64).sqrt().round() as usize;
            [g, g]
        }
    };
    // Saturating: a config's input_size is untrusted; an absurd one fails this check.
    expect(
        src,
        "pos_embed",
        &[1, grid[0].saturating_mul(grid[1]).saturating_add(1), d],
    )?;
    let depth = (0..)
        .take_while(|i| src.dims(&format!("blocks.{i}.norm1.weight")).is_some())
        .count();
    let inter = first_dim(src, "blocks.0.mlp.fc1.weight")?;
    let qkv_bias = src.dims("blocks.0.attn.qkv.bias").is_some();
    let arch = cfg["architecture"].as_str().unwrap_or("");
    let heads = cfg["model_args"]["num_heads"]
        .as_u64()
        .map(|h| h as usize)
        .or_else(|| {
            HEADS
                .iter()
                .find(|(p, _)| arch.starts_with(p))
                .map(|(_, h)| *h)
        })
        .unwrap_or((d / 64).max(1));
    let head = src.dims("head.weight");
    let pre_logits = src.dims("pre_logits.fc.weight");
    let prefix = if head.is_some() { "vit." } else { "" };

    let mut t = Vec::new();
    let mut add = |name: String, shape: Vec<usize>, source: &str, transform: Transform| {
        t.push(PlannedTensor {
            name,
            shape,
            source: source.to_string(),
            transform,
        });
    };
    let p = |n: &str| format!("{prefix}{n}");
    add(
        p("embeddings.cls_token"),
        vec![1, 1, d],
        "cls_token",
        Transform::Copy,
    );
    add(
        p("embeddings.position_embeddings"),
        pos.clone(),
        "pos_embed",
        Transform::Copy,
    );
    add(
        p("embeddings.patch_embeddings.projection.weight"),
        patch.clone(),
        "patch_embed.proj.weight",
        Transform::Copy,
    );
    add(
        p("embeddings.patch_embeddings.projection.bias"),
        vec![d],
        "patch_embed.proj.bias",
        Transform::Copy,
    );
    for i in 0..depth {
        let b = format!("blocks.{i}.");
        let h = p(&format!("encoder.layer.{i}."));
        expect(
            src,
            &format!("{b}attn.qkv.weight"),
            &[d.saturating_mul(3), d],
        )?;
        for (j, part) in ["query", "key", "value"].iter().enumerate() {
            let rows = Transform::Rows {
                start: j.saturating_mul(d),
                end: (j + 1).saturating_mul(d),
                row_len: d,
            };
            add(
                format!("{h}attention.attention.{part}.weight"),
                vec![d, d],
                &format!("{b}attn.qkv.weight"),
                rows,
            );
            if qkv_bias {
                let rows = Transform::Rows {
                    start: j.saturating_mul(d),
                    end: (j + 1).saturating_mul(d),
                    row_len: 1,
                };
                add(
                    format!("{h}attention.attention.{part}.bias"),
                    vec![d],
                    &format!("{b}attn.qkv.bias"),
                    rows,
                );
            }
        }
        for (hf, tm, shape) in [
            (
                "attention.output.dense.weight",
                "attn.proj.weight",
                vec![d, d],
            ),
            ("attention.output.dense.bias", "attn.proj.bias", vec![d]),
            (
                "intermediate.dense.weight",
                "mlp.fc1.weight",
                vec![inter, d],
            ),
            ("intermediate.dense.bias", "mlp.fc1.bias", vec![inter]),
            ("output.dense.weight", "mlp.fc2.weight", vec![d, inter]),
            ("output.dense.bias", "mlp.fc2.bias", vec![d]),
            ("layernorm_before.weight", "norm1.weight", vec![d]),
            ("layernorm_before.bias", "norm1.bias", vec![d]),
            ("layernorm_after.weight", "norm2.weight", vec![d]),
            ("layernorm_after.bias", "norm2.bias", vec![d]),
        ] {
            expect(src, &format!("{b}{tm}"), &shape)?;
            add(
                format!("{h}{hf}"),
                shape,
                &format!("{b}{tm}"),
                Transform::Copy,
            );
        }
    }
    expect(src, "norm.weight", &[d])?;
    add(
        p("layernorm.weight"),
        vec![d],
        "norm.weight",
        Transform::Copy,
    );
    add(p("layernorm.bias"), vec![d], "norm.bias", Transform::Copy);
    let mut config = json!({
        "model_type": "vit",
        "hidden_size": d,
        "num_hidden_layers": depth,
        "num_attention_heads": heads,
        "intermediate_size": inter,
        "hidden_act": "gelu",
        "layer_norm_eps": 1e-6,
        "image_size": [grid[0].saturating_mul(ph), grid[1].saturating_mul(pw)],
        "patch_size": [ph, pw],
        "num_channels": c,
        "qkv_bias": qkv_bias,
        "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0,
    });
    if let Some(hw) = head {
        let labels = crate::plan::check_labels("head.weight", &hw, hw.first().copied())?;
        add(
            "classifier.weight".into(),
            vec![labels, d],
            "head.weight",
            Transform::Copy,
        );
        add(
            "classifier.bias".into(),
            vec![labels],
            "head.bias",
            Transform::Copy,
        );
        let names = cfg["pretrained_cfg"]["label_names"].as_array();
        let id2label: serde_json::Map<String, Value> = (0..labels)
            .map(|i| {
                let n = names
                    .and_then(|a| a.get(i))
                    .and_then(|v| v.as_str())
                    .map_or(format!("LABEL_{i}"), String::from);
                (i.to_string(), json!(n))
            })
            .collect();
        let label2id: serde_json::Map<String, Value> = id2label
            .iter()
            .map(|(k, v)| {
                (
                    v.as_str().unwrap_or("").to_string(),
                    json!(k.parse::<usize>().unwrap_or(0)),
                )
            })
            .collect();
        config["architectures"] = json!(["ViTForImageClassification"]);
        config["id2label"] = Value::Object(id2label);
        config["label2id"] = Value::Object(label2id);
    } else {
        config["architectures"] = json!(["ViTModel"]);
    }
    if let Some(pl) = pre_logits {
        let out = first_dim(src, "pre_logits.fc.weight")?;
        add(
            p("pooler.dense.weight"),
            pl.clone(),
            "pre_logits.fc.weight",
            Transform::Copy,
        );
        add(
            p("pooler.dense.bias"),
            vec![out],
            "pre_logits.fc.bias",
            Transform::Copy,
        );
        config["pooler_output_size"] = json!(out);
        config["pooler_act"] = json!("tanh");
    }
    let preprocessor = preprocessor(
        &cfg["pretrained_cfg"],
        [grid[0].saturating_mul(ph), grid[1].saturating_mul(pw)],
    );
    Ok(Plan {
        tensors: t,
        config,
        preprocessor,
    })
}
