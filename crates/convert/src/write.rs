//! Writing a plan as safetensors, header first, then one tensor at a time.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::Path;

use vitrs_tensor::DType;

use crate::source::TensorSource;
use crate::{ConvertError, Plan};

/// Writes every tensor of `plan`, read from `source`, to `out` as `dtype`. Returns the file
/// size. Only one source tensor (and its converted copy) is in memory at a time.
pub fn write_plan(
    plan: &Plan,
    source: &dyn TensorSource,
    out: &Path,
    dtype: DType,
) -> Result<u64, ConvertError> {
    let mut header = BTreeMap::new();
    let mut offset = 0usize;
    for t in &plan.tensors {
        let n: usize = t.shape.iter().product();
        let bytes = n * dtype.size();
        header.insert(
            t.name.clone(),
            serde_json::json!({"dtype": dtype.name(), "shape": t.shape, "data_offsets": [offset, offset + bytes]}),
        );
        offset += bytes;
    }
    header.insert(
        "__metadata__".into(),
        serde_json::json!({"format": "pt", "converted_by": "vitrs"}),
    );
    let mut text = serde_json::to_string(&header).expect("JSON values serialise");
    while text.len() % 8 != 0 {
        text.push(' ');
    }
    let io = |e| ConvertError::io(out, e);
    let tmp = out.with_extension("safetensors.partial");
    let file = std::fs::File::create(&tmp).map_err(io)?;
    let mut w = BufWriter::new(file);
    w.write_all(&(text.len() as u64).to_le_bytes())
        .map_err(io)?;
    w.write_all(text.as_bytes()).map_err(io)?;
    for t in &plan.tensors {
        let src = source.read(&t.source)?;
        let values = t.transform.apply(&src);
        drop(src);
        let n: usize = t.shape.iter().product();
        if values.len() != n {
            return Err(ConvertError::Tensor {
                name: t.source.clone(),
                expected: format!("{n} values for `{}` {:?}", t.name, t.shape),
                found: format!("{} values", values.len()),
            });
        }
        w.write_all(&vitrs_tensor::encode(&values, dtype))
            .map_err(io)?;
    }
    w.flush().map_err(io)?;
    drop(w);
    std::fs::rename(&tmp, out).map_err(io)?;
    Ok(8 + text.len() as u64 + offset as u64)
}

/// Whether the int8 checkpoint quantizes tensor `name`: the weights of the encoder's linear
/// layers (`encoder.layer.N.` q/k/v, attention output, fc1, fc2), the ones `--dtype int8`
/// computes in int8. The patch embedding, pooler and classifier stay f32.
pub fn is_quantized_linear(name: &str) -> bool {
    const LINEARS: [&str; 6] = [
        "attention.attention.query.weight",
        "attention.attention.key.weight",
        "attention.attention.value.weight",
        "attention.output.dense.weight",
        "intermediate.dense.weight",
        "output.dense.weight",
    ];
    let Some((_, rest)) = name.split_once("encoder.layer.") else {
        return false;
    };
    let Some((layer, tail)) = rest.split_once('.') else {
        return false;
    };
    layer.parse::<usize>().is_ok() && LINEARS.contains(&tail)
}

/// Writes `plan` as an int8 checkpoint (see [`crate::convert_int8`]). Returns the file size.
pub fn write_plan_int8(
    plan: &Plan,
    source: &dyn TensorSource,
    out: &Path,
) -> Result<u64, ConvertError> {
    let mut header = BTreeMap::new();
    let mut offset = 0usize;
    let mut add = |name: String, dtype: &str, shape: &[usize], bytes: usize| {
        header.insert(
            name,
            serde_json::json!({"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + bytes]}),
        );
        offset += bytes;
    };
    for t in &plan.tensors {
        let n: usize = t.shape.iter().product();
        if is_quantized_linear(&t.name) && t.shape.len() == 2 {
            add(t.name.clone(), "I8", &t.shape, n);
            let scale = format!("{}_scale", t.name);
            add(scale, "F32", &t.shape[..1], 4 * t.shape[0]);
        } else {
            add(t.name.clone(), "F32", &t.shape, 4 * n);
        }
    }
    header.insert(
        "__metadata__".into(),
        serde_json::json!({
            "format": "pt",
            "converted_by": "vitrs",
            "vitrs_quantization": "int8",
            "vitrs_quantization_scheme": "encoder linear weights: symmetric per output channel, I8 `X.weight` in -127..=127 with F32 `X.weight_scale` [out], weight = weight_scale[:, None] * weight; activations are quantized per row at run time; other tensors F32",
        }),
    );
    let mut text = serde_json::to_string(&header).expect("JSON values serialise");
    while text.len() % 8 != 0 {
        text.push(' ');
    }
    let io = |e| ConvertError::io(out, e);
    let tmp = out.with_extension("safetensors.partial");
    let file = std::fs::File::create(&tmp).map_err(io)?;
    let mut w = BufWriter::new(file);
    w.write_all(&(text.len() as u64).to_le_bytes())
        .map_err(io)?;
    w.write_all(text.as_bytes()).map_err(io)?;
    // In plan order, each weight then its scale, as the offsets were given.
    for t in &plan.tensors {
        let src = source.read(&t.source)?;
        let values = t.transform.apply(&src);
        drop(src);
        let n: usize = t.shape.iter().product();
        if values.len() != n {
            return Err(ConvertError::Tensor {
                name: t.source.clone(),
                expected: format!("{n} values for `{}` {:?}", t.name, t.shape),
                found: format!("{} values", values.len()),
            });
        }
        if is_quantized_linear(&t.name) && t.shape.len() == 2 {
            let q =
                vitrs_kernels::qgemm::QuantizedWeight::quantize(&values, t.shape[0], t.shape[1])
                    .map_err(|e| ConvertError::Tensor {
                        name: t.source.clone(),
                        expected: format!("`{}` {:?}", t.name, t.shape),
                        found: e.to_string(),
                    })?;
            let bytes: Vec<u8> = q.values.iter().map(|&v| v as u8).collect();
            w.write_all(&bytes).map_err(io)?;
            w.write_all(&vitrs_tensor::encode(&q.scales, DType::F32))
                .map_err(io)?;
        } else {
            w.write_all(&vitrs_tensor::encode(&values, DType::F32))
                .map_err(io)?;
        }
    }
    w.flush().map_err(io)?;
    drop(w);
    std::fs::rename(&tmp, out).map_err(io)?;
    Ok(8 + text.len() as u64 + offset as u64)
}
