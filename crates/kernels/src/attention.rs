//! Multi-head self-attention for one image, from a fused q/k/v projection.

use crate::gemm::sgemm;
use crate::softmax::softmax_rows;

/// Sizes of one attention call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttentionShape {
    /// Tokens `T`.
    pub tokens: usize,
    /// Heads.
    pub heads: usize,
    /// Features per head; `heads · head_dim = D`.
    pub head_dim: usize,
}

impl AttentionShape {
    /// Model width `D`.
    pub fn dim(&self) -> usize {
        self.heads * self.head_dim
    }
}

/// `ctx = concat_h softmax(q_h·k_hᵀ / √head_dim)·v_h` for one image.
///
/// - `qkv`: `[T, 3D]`, each row `q | k | v`, head `h` at columns `h·head_dim..` of each part.
/// - `scores`: scratch of at least `T·T` values.
/// - `ctx`: `[T, D]` output.
/// - `probs`: if given, `[heads, T, T]` receives the post-softmax probabilities.
pub fn attention(
    shape: AttentionShape,
    qkv: &[f32],
    scores: &mut [f32],
    ctx: &mut [f32],
    mut probs: Option<&mut [f32]>,
) {
    let AttentionShape {
        tokens: t,
        heads,
        head_dim: hd,
    } = shape;
    let d = shape.dim();
    assert_eq!(qkv.len(), t * 3 * d, "qkv must be [T, 3D]");
    assert_eq!(ctx.len(), t * d, "ctx must be [T, D]");
    assert!(scores.len() >= t * t, "scores must hold T·T values");
    let scale = 1.0 / (hd as f32).sqrt();
    let scores = &mut scores[..t * t];
    for h in 0..heads {
        let q = &qkv[h * hd..];
        let k = &qkv[d + h * hd..];
        let v = &qkv[2 * d + h * hd..];
        // scores[T, T] = q_h[T, hd] · k_hᵀ[hd, T] · scale
        sgemm(
            t,
            hd,
            t,
            scale,
            (q, 3 * d, 1),
            (k, 1, 3 * d),
            0.0,
            (scores, t, 1),
        );
        softmax_rows(scores, t);
        if let Some(p) = probs.as_deref_mut() {
            p[h * t * t..(h + 1) * t * t].copy_from_slice(scores);
        }
        // ctx[:, h] [T, hd] = scores[T, T] · v_h[T, hd]
        let out = &mut ctx[h * hd..];
        sgemm(
            t,
            t,
            hd,
            1.0,
            (scores, t, 1),
            (v, 3 * d, 1),
            0.0,
            (out, d, 1),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_naive_f64() {
        let shape = AttentionShape {
            tokens: 5,
            heads: 2,
            head_dim: 3,
        };
        let (t, d, hd) = (5, 6, 3);
        let qkv: Vec<f32> = (0..t * 3 * d)
            .map(|i| ((i * 31) % 17) as f32 / 8.0 - 1.0)
            .collect();
        let mut scores = vec![0.0; t * t];
        let mut ctx = vec![0.0; t * d];
        let mut probs = vec![0.0; 2 * t * t];
        attention(shape, &qkv, &mut scores, &mut ctx, Some(&mut probs));
        for h in 0..2 {
            for i in 0..t {
                let s: Vec<f64> = (0..t)
                    .map(|j| {
                        (0..hd)
                            .map(|c| {
                                qkv[i * 3 * d + h * hd + c] as f64
                                    * qkv[j * 3 * d + d + h * hd + c] as f64
                            })
                            .sum::<f64>()
                            / (hd as f64).sqrt()
                    })
                    .collect();
                let mx = s.iter().cloned().fold(f64::MIN, f64::max);
                let e: Vec<f64> = s.iter().map(|v| (v - mx).exp()).collect();
                let z: f64 = e.iter().sum();
                for j in 0..t {
                    assert!((probs[h * t * t + i * t + j] as f64 - e[j] / z).abs() < 1e-6);
                }
                for c in 0..hd {
                    let want: f64 = (0..t)
                        .map(|j| e[j] / z * qkv[j * 3 * d + 2 * d + h * hd + c] as f64)
                        .sum();
                    assert!((ctx[i * d + h * hd + c] as f64 - want).abs() < 1e-5);
                }
            }
        }
    }
}
