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
    /// Applies the transform to the source values.
    pub fn apply(&self, src: &[f32]) -> Vec<f32> {
        match *self {
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
        }
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
