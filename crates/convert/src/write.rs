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
