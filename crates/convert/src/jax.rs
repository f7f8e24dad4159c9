//! The original JAX `.npz` (google-research/vision_transformer) → Hugging Face names
//! (VIT_REFERENCE §5): kernels `[in, out]` are transposed, attention kernels
//! `[D, heads, head_dim]` are flattened first, the patch kernel goes HWIO → OIHW.

use serde_json::{json, Value};

use crate::plan::{Plan, PlannedTensor, Transform};
use crate::source::TensorSource;
use crate::ConvertError;

fn dims(src: &dyn TensorSource, name: &str) -> Result<Vec<usize>, ConvertError> {
    src.dims(name).ok_or_else(|| ConvertError::Tensor {
        name: name.into(),
        expected: "present in a JAX ViT checkpoint".into(),
        found: "missing".into(),
    })
}

/// The plan for a JAX checkpoint.
pub fn plan(src: &dyn TensorSource) -> Result<Plan, ConvertError> {
    if src.dims("cls").is_none() || src.dims("embedding/kernel").is_none() {
        let mut names = src.names();
        names.truncate(6);
        return Err(ConvertError::Unknown {
            path: src.path().to_path_buf(),
            found: format!("members [{}]", names.join(", ")),
        });
    }
    let d = *dims(src, "cls")?.last().unwrap_or(&0);
    let k = dims(src, "embedding/kernel")?;
    let [ph, pw, c, _] = k[..] else {
        return Err(ConvertError::Tensor {
            name: "embedding/kernel".into(),
            expected: "[ph, pw, C, D]".into(),
            found: format!("{k:?}"),
        });
    };
    let pos = dims(src, "Transformer/posembed_input/pos_embedding")?;
    let n = pos.get(1).copied().unwrap_or(1).saturating_sub(1);
    let g = (n as f64).sqrt().round() as usize;
    if g.checked_mul(g) != Some(n) {
        return Err(ConvertError::Tensor {
            name: "Transformer/posembed_input/pos_embedding".into(),
            expected: "a square patch grid".into(),
            found: format!("{n} patches"),
        });
    }
    let depth = (0..)
        .take_while(|i| {
            src.dims(&format!("Transformer/encoderblock_{i}/LayerNorm_0/scale"))
                .is_some()
        })
        .count();
    let blk0 = "Transformer/encoderblock_0/";
    let q = dims(
        src,
        &format!("{blk0}MultiHeadDotProductAttention_1/query/kernel"),
    )?;
    let heads = q.get(1).copied().unwrap_or(1);
    let inter = dims(src, &format!("{blk0}MlpBlock_3/Dense_0/kernel"))?
        .get(1)
        .copied()
        .unwrap_or(0);
    let qkv_bias = src
        .dims(&format!("{blk0}MultiHeadDotProductAttention_1/query/bias"))
        .is_some();
    let head = src.dims("head/kernel");
    let pre_logits = src.dims("pre_logits/kernel");
    let prefix = if head.is_some() { "vit." } else { "" };

    let mut t = Vec::new();
    let mut add = |name: String, shape: Vec<usize>, source: String, transform: Transform| {
        t.push(PlannedTensor {
            name,
            shape,
            source,
            transform,
        });
    };
    let p = |s: &str| format!("{prefix}{s}");
    let tr = |rows, cols| Transform::Transpose { rows, cols };
    add(
        p("embeddings.cls_token"),
        vec![1, 1, d],
        "cls".into(),
        Transform::Copy,
    );
    add(
        p("embeddings.position_embeddings"),
        pos.clone(),
        "Transformer/posembed_input/pos_embedding".into(),
        Transform::Copy,
    );
    add(
        p("embeddings.patch_embeddings.projection.weight"),
        vec![d, c, ph, pw],
        "embedding/kernel".into(),
        Transform::HwioToOihw {
            h: ph,
            w: pw,
            i: c,
            o: d,
        },
    );
    add(
        p("embeddings.patch_embeddings.projection.bias"),
        vec![d],
        "embedding/bias".into(),
        Transform::Copy,
    );
    for i in 0..depth {
        let b = format!("Transformer/encoderblock_{i}/");
        let h = p(&format!("encoder.layer.{i}."));
        let attn = format!("{b}MultiHeadDotProductAttention_1/");
        for (part, jax) in [("query", "query"), ("key", "key"), ("value", "value")] {
            // [D, heads, hd] read as [D, D] (in, out) → [out, in].
            add(
                format!("{h}attention.attention.{part}.weight"),
                vec![d, d],
                format!("{attn}{jax}/kernel"),
                tr(d, d),
            );
            if qkv_bias {
                add(
                    format!("{h}attention.attention.{part}.bias"),
                    vec![d],
                    format!("{attn}{jax}/bias"),
                    Transform::Copy,
                );
            }
        }
        // out kernel [heads, hd, D] read as [D_in, D_out] → [out, in].
        add(
            format!("{h}attention.output.dense.weight"),
            vec![d, d],
            format!("{attn}out/kernel"),
            tr(d, d),
        );
        add(
            format!("{h}attention.output.dense.bias"),
            vec![d],
            format!("{attn}out/bias"),
            Transform::Copy,
        );
        add(
            format!("{h}intermediate.dense.weight"),
            vec![inter, d],
            format!("{b}MlpBlock_3/Dense_0/kernel"),
            tr(d, inter),
        );
        add(
            format!("{h}intermediate.dense.bias"),
            vec![inter],
            format!("{b}MlpBlock_3/Dense_0/bias"),
            Transform::Copy,
        );
        add(
            format!("{h}output.dense.weight"),
            vec![d, inter],
            format!("{b}MlpBlock_3/Dense_1/kernel"),
            tr(inter, d),
        );
        add(
            format!("{h}output.dense.bias"),
            vec![d],
            format!("{b}MlpBlock_3/Dense_1/bias"),
            Transform::Copy,
        );
        for (hf, jax) in [
            ("layernorm_before", "LayerNorm_0"),
            ("layernorm_after", "LayerNorm_2"),
        ] {
            add(
                format!("{h}{hf}.weight"),
                vec![d],
                format!("{b}{jax}/scale"),
                Transform::Copy,
            );
            add(
                format!("{h}{hf}.bias"),
                vec![d],
                format!("{b}{jax}/bias"),
                Transform::Copy,
            );
        }
    }
    add(
        p("layernorm.weight"),
        vec![d],
        "Transformer/encoder_norm/scale".into(),
        Transform::Copy,
    );
    add(
        p("layernorm.bias"),
        vec![d],
        "Transformer/encoder_norm/bias".into(),
        Transform::Copy,
    );
    let mut config = json!({
        "model_type": "vit", "hidden_size": d, "num_hidden_layers": depth, "num_attention_heads": heads,
        "intermediate_size": inter, "hidden_act": "gelu", "layer_norm_eps": 1e-6,
        "image_size": g.saturating_mul(ph), "patch_size": ph, "num_channels": c, "qkv_bias": qkv_bias,
    });
    if let Some(hk) = head {
        let labels = crate::plan::check_labels("head/kernel", &hk, hk.get(1).copied())?;
        add(
            "classifier.weight".into(),
            vec![labels, d],
            "head/kernel".into(),
            tr(d, labels),
        );
        add(
            "classifier.bias".into(),
            vec![labels],
            "head/bias".into(),
            Transform::Copy,
        );
        let id2label: serde_json::Map<String, Value> = (0..labels)
            .map(|i| (i.to_string(), json!(format!("LABEL_{i}"))))
            .collect();
        config["architectures"] = json!(["ViTForImageClassification"]);
        config["id2label"] = Value::Object(id2label);
    } else {
        config["architectures"] = json!(["ViTModel"]);
    }
    if let Some(pl) = pre_logits {
        let out = pl.get(1).copied().unwrap_or(d);
        add(
            p("pooler.dense.weight"),
            vec![out, d],
            "pre_logits/kernel".into(),
            tr(d, out),
        );
        add(
            p("pooler.dense.bias"),
            vec![out],
            "pre_logits/bias".into(),
            Transform::Copy,
        );
        config["pooler_output_size"] = json!(out);
    }
    for pt in &t {
        let want: usize = pt.shape.iter().product();
        let have: usize = dims(src, &pt.source)?.iter().product();
        if want != have {
            return Err(ConvertError::Tensor {
                name: pt.source.clone(),
                expected: format!("{want} values for `{}` {:?}", pt.name, pt.shape),
                found: format!("{have}"),
            });
        }
    }
    Ok(Plan {
        tensors: t,
        config,
        preprocessor: None,
    })
}
