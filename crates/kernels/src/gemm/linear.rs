//! The `y = x·Wᵀ + b` layer with fused epilogues.

use rayon::prelude::*;

use super::sgemm;
use crate::threads;
use crate::Activation;

/// What happens to each output element after the product and the bias.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Epilogue {
    /// `y = x·Wᵀ + b`.
    Store,
    /// `y = act(x·Wᵀ + b)`.
    Activate(Activation),
    /// `y += x·Wᵀ + b`: accumulate into what `y` holds (the residual add).
    Accumulate,
}

/// A weight or bias whose length does not match the stated shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: expected {expected} values for [{out_features}, {in_features}], found {found}")]
pub struct LinearError {
    /// `"weight"` or `"bias"`.
    pub what: &'static str,
    /// Rows of the weight.
    pub out_features: usize,
    /// Columns of the weight.
    pub in_features: usize,
    /// Values expected.
    pub expected: usize,
    /// Values found.
    pub found: usize,
}

/// A linear layer `y = x·Wᵀ + b`, `W` given `[out_features, in_features]` as in PyTorch.
#[derive(Debug, Clone)]
pub struct Linear {
    out_features: usize,
    in_features: usize,
    /// `[out, in]`, row-major.
    weight: Vec<f32>,
    bias: Option<Vec<f32>>,
}

/// Rows per task when the product is split over threads.
const ROW_BLOCK: usize = 64;

impl Linear {
    /// Builds a layer from a PyTorch-layout weight `[out, in]` and an optional bias `[out]`.
    pub fn new(
        weight: Vec<f32>,
        bias: Option<Vec<f32>>,
        out_features: usize,
        in_features: usize,
    ) -> Result<Self, LinearError> {
        let err = |what, expected, found| LinearError {
            what,
            out_features,
            in_features,
            expected,
            found,
        };
        let expected = out_features.saturating_mul(in_features);
        if weight.len() != expected {
            return Err(err("weight", expected, weight.len()));
        }
        if let Some(b) = &bias {
            if b.len() != out_features {
                return Err(err("bias", out_features, b.len()));
            }
        }
        Ok(Linear {
            out_features,
            in_features,
            weight,
            bias,
        })
    }

    /// Stacks layers with the same input size along the output axis (q, k, v → qkv).
    /// A missing bias counts as zeros when another part has one.
    pub fn concat(parts: &[Linear]) -> Result<Self, LinearError> {
        let in_features = parts.first().map_or(0, |p| p.in_features);
        let out_features: usize = parts.iter().map(|p| p.out_features).sum();
        let mut weight = Vec::with_capacity(out_features * in_features);
        for p in parts {
            if p.in_features != in_features {
                return Err(LinearError {
                    what: "weight",
                    out_features: p.out_features,
                    in_features,
                    expected: p.out_features * in_features,
                    found: p.weight.len(),
                });
            }
            weight.extend_from_slice(&p.weight);
        }
        let bias = parts.iter().any(|p| p.bias.is_some()).then(|| {
            parts
                .iter()
                .flat_map(|p| match &p.bias {
                    Some(b) => b.clone(),
                    None => vec![0.0; p.out_features],
                })
                .collect()
        });
        Linear::new(weight, bias, out_features, in_features)
    }

    /// Output features (rows of `W`).
    pub fn out_features(&self) -> usize {
        self.out_features
    }

    /// Input features (columns of `W`).
    pub fn in_features(&self) -> usize {
        self.in_features
    }

    /// Multiply-accumulates for `rows` input rows.
    pub fn macs(&self, rows: usize) -> usize {
        rows * self.in_features * self.out_features
    }

    /// Computes `rows` outputs: `x` is `[rows, in]`, `y` is `[rows, out]`, both row-major.
    pub fn forward(&self, x: &[f32], rows: usize, y: &mut [f32], epilogue: Epilogue) {
        let (k, n) = (self.in_features, self.out_features);
        assert_eq!(x.len(), rows * k, "x must be [rows, in_features]");
        assert_eq!(y.len(), rows * n, "y must be [rows, out_features]");
        let run = |x: &[f32], y: &mut [f32]| self.forward_block(x, y, epilogue);
        if threads::current() > 1 && rows > ROW_BLOCK {
            threads::pool().install(|| {
                x.par_chunks(ROW_BLOCK * k)
                    .zip(y.par_chunks_mut(ROW_BLOCK * n))
                    .for_each(|(x, y)| run(x, y));
            });
        } else {
            run(x, y);
        }
    }

    fn forward_block(&self, x: &[f32], y: &mut [f32], epilogue: Epilogue) {
        let (k, n) = (self.in_features, self.out_features);
        let m = x.len() / k.max(1);
        let beta = if epilogue == Epilogue::Accumulate {
            1.0
        } else {
            0.0
        };
        if beta == 0.0 {
            y.fill(0.0);
        }
        // W is [n, k] row-major, so Wᵀ (k × n) has row stride 1 and column stride k.
        sgemm(
            m,
            k,
            n,
            1.0,
            (x, k, 1),
            (&self.weight, 1, k),
            beta,
            (y, n, 1),
        );
        for row in y.chunks_exact_mut(n) {
            if let Some(b) = &self.bias {
                row.iter_mut().zip(b).for_each(|(v, b)| *v += b);
            }
            if let Epilogue::Activate(act) = epilogue {
                act.apply_slice(row);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(x: &[f32], w: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f64> {
        let mut y = vec![0.0f64; m * n];
        for i in 0..m {
            for j in 0..n {
                let dot: f64 = (0..k)
                    .map(|p| x[i * k + p] as f64 * w[j * k + p] as f64)
                    .sum();
                y[i * n + j] = dot + b[j] as f64;
            }
        }
        y
    }

    #[test]
    fn matches_naive_with_each_epilogue() {
        let (m, k, n) = (130, 33, 17);
        let x: Vec<f32> = (0..m * k)
            .map(|i| ((i * 37) % 19) as f32 / 7.0 - 1.0)
            .collect();
        let w: Vec<f32> = (0..n * k)
            .map(|i| ((i * 11) % 23) as f32 / 9.0 - 1.0)
            .collect();
        let b: Vec<f32> = (0..n).map(|i| i as f32 / 10.0).collect();
        let lin = Linear::new(w.clone(), Some(b.clone()), n, k).unwrap();
        let want = naive(&x, &w, &b, m, k, n);

        let mut y = vec![f32::NAN; m * n];
        lin.forward(&x, m, &mut y, Epilogue::Store);
        for (g, w) in y.iter().zip(&want) {
            assert!((*g as f64 - w).abs() < 1e-4);
        }

        let mut y = vec![1.0; m * n];
        lin.forward(&x, m, &mut y, Epilogue::Accumulate);
        for (g, w) in y.iter().zip(&want) {
            assert!((*g as f64 - (w + 1.0)).abs() < 1e-4);
        }

        lin.forward(&x, m, &mut y, Epilogue::Activate(Activation::Relu));
        for (g, w) in y.iter().zip(&want) {
            assert!((*g as f64 - w.max(0.0)).abs() < 1e-4);
        }
    }

    #[test]
    fn concat_stacks_rows_and_fills_missing_bias() {
        let a = Linear::new(vec![1.0, 2.0], Some(vec![5.0]), 1, 2).unwrap();
        let b = Linear::new(vec![3.0, 4.0], None, 1, 2).unwrap();
        let ab = Linear::concat(&[a, b]).unwrap();
        let mut y = vec![0.0; 2];
        ab.forward(&[1.0, 1.0], 1, &mut y, Epilogue::Store);
        assert_eq!(y, vec![8.0, 7.0]);
    }

    #[test]
    fn wrong_weight_length_is_an_error() {
        let err = Linear::new(vec![0.0; 5], None, 2, 3).unwrap_err();
        assert_eq!(
            err.to_string(),
            "weight: expected 6 values for [2, 3], found 5"
        );
    }
}
