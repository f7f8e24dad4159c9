//! Writing a plan as safetensors, header first, then one tensor at a time.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::Path;

use vitrs_tensor::DType;

use crate::source::TensorSource;
use crate::{ConvertError, Plan};

/// Prefix of the temporary files written beside an output before the rename.
pub const PARTIAL_PREFIX: &str = ".vitrs-partial-";

/// The safetensors header of `plan` stored as `dtype` (unpadded), and the data size.
fn header(plan: &Plan, dtype: DType) -> Result<(String, u64), ConvertError> {
    let mut header = BTreeMap::new();
    let mut offset = 0u64;
    for t in &plan.tensors {
        let bytes = t
            .shape
            .iter()
            .try_fold(dtype.size() as u64, |a, &d| a.checked_mul(d as u64))
            .and_then(|b| offset.checked_add(b).map(|end| (b, end)));
        let Some((_, end)) = bytes else {
            return Err(ConvertError::Tensor {
                name: t.name.clone(),
                expected: "a shape whose byte size fits in 64 bits".into(),
                found: format!("{:?}", t.shape),
            });
        };
        header.insert(
            t.name.clone(),
            serde_json::json!({"dtype": dtype.name(), "shape": t.shape, "data_offsets": [offset, end]}),
        );
        offset = end;
    }
    header.insert(
        "__metadata__".into(),
        serde_json::json!({"format": "pt", "converted_by": "vitrs"}),
    );
    let text = serde_json::to_string(&header).expect("JSON values serialise");
    Ok((text, offset))
}

/// The values of planned tensor `t`: read from `source`, transformed, and checked to fill
/// its shape exactly.
fn planned_values(
    source: &dyn TensorSource,
    t: &crate::PlannedTensor,
) -> Result<Vec<f32>, ConvertError> {
    let src = source.read(&t.source)?;
    let values = t
        .transform
        .apply(&src)
        .map_err(|expected| ConvertError::Tensor {
            name: t.source.clone(),
            expected,
            found: format!("{} values", src.len()),
        })?;
    let n = t.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    if n != Some(values.len()) {
        return Err(ConvertError::Tensor {
            name: t.source.clone(),
            expected: format!("{n:?} values for `{}` {:?}", t.name, t.shape),
            found: format!("{} values", values.len()),
        });
    }
    Ok(values)
}

/// Pads the JSON header `text` to 8 bytes and writes it with its length in front.
fn write_header(w: &mut dyn Write, text: &mut String, out: &Path) -> Result<(), ConvertError> {
    while !text.len().is_multiple_of(8) {
        text.push(' ');
    }
    let io = |e| ConvertError::io(out, e);
    w.write_all(&(text.len() as u64).to_le_bytes())
        .map_err(io)?;
    w.write_all(text.as_bytes()).map_err(io)
}

/// Writes every tensor of `plan`, read from `source`, to `w` as `dtype` (`out` names the
/// destination in errors). Returns the bytes written. Only one source tensor (and its
/// converted copy) is in memory at a time. The caller makes the write atomic.
pub fn write_plan_to(
    plan: &Plan,
    source: &dyn TensorSource,
    w: &mut dyn Write,
    out: &Path,
    dtype: DType,
) -> Result<u64, ConvertError> {
    let (mut text, data_bytes) = header(plan, dtype)?;
    write_header(w, &mut text, out)?;
    let io = |e| ConvertError::io(out, e);
    for t in &plan.tensors {
        let values = planned_values(source, t)?;
        w.write_all(&vitrs_tensor::encode(&values, dtype))
            .map_err(io)?;
    }
    w.flush().map_err(io)?;
    Ok(8 + text.len() as u64 + data_bytes)
}

/// Writes `plan` to the file `out` atomically: to a temporary file beside it (removed on any
/// error, a full disk included), renamed over `out` once complete. Returns the file size.
pub fn write_plan(
    plan: &Plan,
    source: &dyn TensorSource,
    out: &Path,
    dtype: DType,
) -> Result<u64, ConvertError> {
    let mut tmp = temp_beside(out)?;
    let bytes = {
        let mut w = BufWriter::new(tmp.as_file_mut());
        let bytes = write_plan_to(plan, source, &mut w, out, dtype)?;
        w.flush().map_err(|e| ConvertError::io(out, e))?;
        bytes
    };
    tmp.as_file()
        .sync_all()
        .map_err(|e| ConvertError::io(out, e))?;
    tmp.persist(out)
        .map_err(|e| ConvertError::io(out, e.error))?;
    Ok(bytes)
}

/// A temporary file in `out`'s folder, with the mode a new file would get (`0666` less the
/// umask), removed when dropped.
pub(crate) fn temp_beside(out: &Path) -> Result<tempfile::NamedTempFile, ConvertError> {
    use std::os::unix::fs::PermissionsExt;
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    tempfile::Builder::new()
        .prefix(PARTIAL_PREFIX)
        .permissions(std::fs::Permissions::from_mode(0o666))
        .tempfile_in(dir)
        .map_err(|e| ConvertError::io(out, e))
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

/// Writes `plan` as an int8 checkpoint (see [`crate::Conversion::write_weights_int8`]) to `w`
/// (`out` names it in errors). Returns the bytes written; the caller makes the write atomic.
pub fn write_plan_int8_to(
    plan: &Plan,
    source: &dyn TensorSource,
    w: &mut dyn Write,
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
        let n = t
            .shape
            .iter()
            .try_fold(4usize, |a, &d| a.checked_mul(d))
            .ok_or_else(|| ConvertError::Tensor {
                name: t.name.clone(),
                expected: "a shape whose byte size fits in 64 bits".into(),
                found: format!("{:?}", t.shape),
            })?
            / 4;
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
    write_header(w, &mut text, out)?;
    let io = |e| ConvertError::io(out, e);
    // In plan order, each weight then its scale, as the offsets were given.
    for t in &plan.tensors {
        let values = planned_values(source, t)?;
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
    Ok(8 + text.len() as u64 + offset as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PlannedTensor, Transform};

    /// A source of one tensor `x` of two values.
    struct One;
    impl TensorSource for One {
        fn path(&self) -> &Path {
            Path::new("one")
        }
        fn names(&self) -> Vec<String> {
            vec!["x".into()]
        }
        fn dims(&self, _: &str) -> Option<Vec<usize>> {
            Some(vec![2])
        }
        fn read(&self, _: &str) -> Result<Vec<f32>, ConvertError> {
            Ok(vec![1.0, 2.0])
        }
    }

    fn plan(shape: Vec<usize>, transform: Transform) -> Plan {
        Plan {
            tensors: vec![PlannedTensor {
                name: "y".into(),
                shape,
                source: "x".into(),
                transform,
            }],
            config: serde_json::json!({}),
            preprocessor: None,
        }
    }

    /// A writer that fails after `left` bytes, as a full disk does.
    struct Full {
        left: usize,
    }
    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.left == 0 {
                return Err(std::io::Error::from_raw_os_error(28)); // ENOSPC
            }
            let n = buf.len().min(self.left);
            self.left -= n;
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_full_disk_is_an_error_naming_the_file() {
        let p = plan(vec![2], Transform::Copy);
        for left in [0, 5, 20] {
            let e = write_plan_to(&p, &One, &mut Full { left }, Path::new("out"), DType::F32)
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("out: ") && e.contains("space"), "{e}");
        }
    }

    #[test]
    fn sources_of_the_wrong_size_are_errors_not_panics() {
        for t in [
            Transform::Transpose { rows: 2, cols: 2 },
            Transform::Rows {
                start: 1,
                end: 3,
                row_len: 1,
            },
            Transform::HwioToOihw {
                h: 1,
                w: 1,
                i: 1,
                o: 3,
            },
            Transform::Transpose {
                rows: usize::MAX,
                cols: 2,
            },
        ] {
            let e = write_plan_to(
                &plan(vec![2], t),
                &One,
                &mut Vec::new(),
                Path::new("out"),
                DType::F32,
            )
            .unwrap_err()
            .to_string();
            assert!(
                e.contains("tensor `x`") && e.contains("found 2 values"),
                "{e}"
            );
        }
        let e = write_plan_to(
            &plan(vec![usize::MAX, 4], Transform::Copy),
            &One,
            &mut Vec::new(),
            Path::new("out"),
            DType::F32,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("fits in 64 bits"), "{e}");
    }

    #[test]
    fn a_failed_write_leaves_no_partial_file() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("model.safetensors");
        let p = plan(vec![3], Transform::Copy);
        assert!(write_plan(&p, &One, &out, DType::F32).is_err());
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
        let p = plan(vec![2], Transform::Copy);
        assert_eq!(
            write_plan(&p, &One, &out, DType::F32).unwrap(),
            std::fs::metadata(&out).unwrap().len()
        );
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
    }
}
