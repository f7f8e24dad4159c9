//! A conversion plan: every output tensor, its shape, and how one source tensor becomes it.

use serde_json::Value;

/// How a source tensor becomes an output tensor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transform {
    /// As is (a reshape at most: the element order is kept).
    Copy,
    /// Rows `start..end` of a source whose rows hold `row_len` values each (q, k or v out of
    /// timm's fused `qkv`).
    Rows {
        /// First row.
        start: usize,
        /// One past the last row.
        end: usize,
        /// Values per row.
        row_len: usize,
    },
    /// The source read as `[rows, cols]`, transposed to `[cols, rows]` (JAX kernels are
    /// `[in, out]`, PyTorch weights `[out, in]`).
    Transpose {
        /// Rows of the source view.
        rows: usize,
        /// Columns of the source view.
        cols: usize,
    },
    /// A JAX conv kernel `[h, w, in, out]` to PyTorch's `[out, in, h, w]`.
    HwioToOihw {
        /// Kernel height.
        h: usize,
        /// Kernel width.
        w: usize,
        /// Input channels.
        i: usize,
        /// Output channels.
        o: usize,
    },
}

impl Transform {
    /// Values the source must hold for this transform (at least, for [`Transform::Rows`]);
    /// `None` when the product overflows.
    fn source_len(&self) -> Option<usize> {
        match *self {
            Transform::Copy => Some(0),
            Transform::Rows { end, row_len, .. } => end.checked_mul(row_len),
            Transform::Transpose { rows, cols } => rows.checked_mul(cols),
            Transform::HwioToOihw { h, w, i, o } => {
                h.checked_mul(w)?.checked_mul(i)?.checked_mul(o)
            }
        }
    }

    /// Applies the transform to the source values. A source of the wrong size (a scalar or
    /// empty tensor where a matrix was planned) is an error saying what was expected.
    pub fn apply(&self, src: &[f32]) -> Result<Vec<f32>, String> {
        let fits = match (self, self.source_len()) {
            (_, None) => false,
            (Transform::Copy, _) => true,
            (Transform::Rows { start, end, .. }, Some(n)) => start <= end && src.len() >= n,
            (_, Some(n)) => src.len() == n,
        };
        if !fits {
            return Err(format!(
                "{} values for {self:?}",
                self.source_len()
                    .map_or_else(|| "an overflowing number of".into(), |n| n.to_string())
            ));
        }
        Ok(match *self {
            Transform::Copy => src.to_vec(),
            Transform::Rows {
                start,
                end,
                row_len,
            } => src[start * row_len..end * row_len].to_vec(),
            Transform::Transpose { rows, cols } => {
                let mut out = vec![0.0; rows * cols];
                for r in 0..rows {
                    for c in 0..cols {
                        out[c * rows + r] = src[r * cols + c];
                    }
                }
                out
            }
            Transform::HwioToOihw { h, w, i, o } => {
                let mut out = vec![0.0; h * w * i * o];
                for y in 0..h {
                    for x in 0..w {
                        for ci in 0..i {
                            for co in 0..o {
                                out[((co * i + ci) * h + y) * w + x] =
                                    src[((y * w + x) * i + ci) * o + co];
                            }
                        }
                    }
                }
                out
            }
        })
    }
}

/// One tensor of the output.
#[derive(Debug, Clone)]
pub struct PlannedTensor {
    /// Its HF name.
    pub name: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// The source tensor it comes from.
    pub source: String,
    /// How.
    pub transform: Transform,
}

/// Everything a conversion writes.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The output tensors, in file order.
    pub tensors: Vec<PlannedTensor>,
    /// `config.json`.
    pub config: Value,
    /// `preprocessor_config.json`, when the source says how it was trained.
    pub preprocessor: Option<Value>,
}

/// Most classes a classifier head may have (as the model crate's limit on config sizes): the
/// converter writes one `id2label` entry per class, so a zero-sized head claiming 10¹² classes
/// must be refused before that.
pub const MAX_LABELS: usize = 1 << 20;

/// The number of classes of head `name` (shape `dims`), if it is a matrix within
/// [`MAX_LABELS`].
pub(crate) fn check_labels(
    name: &str,
    dims: &[usize],
    labels: Option<usize>,
) -> Result<usize, crate::ConvertError> {
    match labels {
        Some(n) if dims.len() == 2 && (1..=MAX_LABELS).contains(&n) => Ok(n),
        _ => Err(crate::ConvertError::Tensor {
            name: name.into(),
            expected: format!("a matrix with 1 to {MAX_LABELS} classes"),
            found: format!("{dims:?}"),
        }),
    }
}
