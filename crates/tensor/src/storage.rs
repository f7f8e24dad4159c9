//! Little-endian byte buffers of any [`DType`] to and from `f32`.

use half::{bf16, f16};

use crate::{DType, TensorError};

fn check_len(bytes: &[u8], dtype: DType) -> Result<usize, TensorError> {
    if !bytes.len().is_multiple_of(dtype.size()) {
        return Err(TensorError::ByteLength {
            dtype: dtype.name(),
            size: dtype.size(),
            len: bytes.len(),
        });
    }
    Ok(bytes.len() / dtype.size())
}

/// Decodes little-endian `bytes` of `dtype` into a new `f32` vector.
///
/// ```
/// use vitrs_tensor::{decode, DType};
/// let bytes = [0x00, 0x3c]; // 1.0 in f16
/// assert_eq!(decode(&bytes, DType::F16).unwrap(), vec![1.0]);
/// ```
pub fn decode(bytes: &[u8], dtype: DType) -> Result<Vec<f32>, TensorError> {
    check_len(bytes, dtype)?;
    // Collected, not decoded into a zeroed vector: one pass over the memory instead of two.
    Ok(values(bytes, dtype).collect())
}

/// Decodes little-endian `bytes` of `dtype` into `out`, which must hold exactly the elements.
pub fn decode_into(bytes: &[u8], dtype: DType, out: &mut [f32]) -> Result<(), TensorError> {
    let n = check_len(bytes, dtype)?;
    if n != out.len() {
        return Err(TensorError::LengthMismatch {
            dims: vec![out.len()],
            expected: out.len(),
            found: n,
        });
    }
    out.iter_mut()
        .zip(values(bytes, dtype))
        .for_each(|(o, v)| *o = v);
    Ok(())
}

/// The elements of little-endian `bytes` of `dtype` (whole ones; the callers check the
/// length), as `f32`.
fn values(bytes: &[u8], dtype: DType) -> impl Iterator<Item = f32> + '_ {
    bytes.chunks_exact(dtype.size()).map(move |c| match dtype {
        DType::F32 => f32::from_le_bytes([c[0], c[1], c[2], c[3]]),
        DType::F16 => f16::from_le_bytes([c[0], c[1]]).to_f32(),
        DType::BF16 => bf16::from_le_bytes([c[0], c[1]]).to_f32(),
    })
}

/// Encodes `values` as little-endian bytes of `dtype`, rounding to nearest-even.
pub fn encode(values: &[f32], dtype: DType) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * dtype.size());
    match dtype {
        DType::F32 => values
            .iter()
            .for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
        DType::F16 => values
            .iter()
            .for_each(|v| out.extend_from_slice(&f16::from_f32(*v).to_le_bytes())),
        DType::BF16 => values
            .iter()
            .for_each(|v| out.extend_from_slice(&bf16::from_f32(*v).to_le_bytes())),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_each_dtype() {
        let v = [0.0f32, 1.0, -2.5, 65504.0, 1.0e-3];
        for dtype in [DType::F32, DType::F16, DType::BF16] {
            let back = decode(&encode(&v, dtype), dtype).unwrap();
            for (a, b) in v.iter().zip(&back) {
                assert!((a - b).abs() <= a.abs() * 8e-3, "{dtype}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn odd_byte_count_is_an_error() {
        let err = decode(&[0u8; 3], DType::F32).unwrap_err();
        assert!(err.to_string().contains("3 bytes"));
    }
}
