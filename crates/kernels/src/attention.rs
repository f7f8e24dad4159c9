//! Multi-head self-attention for one image, from a fused q/k/v projection.

use std::cell::RefCell;

use rayon::prelude::*;

use crate::gemm::{detect, gemm_strided, Finish, PackedB};
use crate::softmax::{exp_rows_scaled, softmax_rows_scaled};
use crate::threads;

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
/// - `scores`: scratch of at least `T·T` values (kept for callers that own one; the heads now
///   run on the worker pool, each with its own scores).
/// - `ctx`: `[T, D]` output.
/// - `probs`: if given, `[heads, T, T]` receives the post-softmax probabilities.
pub fn attention(
    shape: AttentionShape,
    qkv: &[f32],
    scores: &mut [f32],
    ctx: &mut [f32],
    probs: Option<&mut [f32]>,
) {
    let t = shape.tokens;
    assert!(scores.len() >= t * t, "scores must hold T·T values");
    attention_batch(shape, 1, qkv, ctx, probs);
}

/// One worker's buffers: the `T × T` scores of the head it is on, and its keys (as `Kᵀ`)
/// and values packed for the micro-kernel. Kept between calls, so after the first layer
/// attention allocates nothing.
#[derive(Default)]
struct HeadScratch {
    scores: Vec<f32>,
    /// Per query row, the sum of its `exp` scores (when the probabilities are not wanted,
    /// the output rows are divided by it instead of the `T × T` scores).
    sums: Vec<f32>,
    keys: PackedB,
    values: PackedB,
}

thread_local! {
    static SCRATCH: RefCell<HeadScratch> = RefCell::new(HeadScratch::default());
}

/// The output pointers shared by workers that write disjoint parts.
struct Shared(*mut f32, *mut f32);
// SAFETY: each (image, head) task writes only its own head's columns of ctx and its own
// [T, T] block of probs.
unsafe impl Sync for Shared {}

/// [`attention`] for a batch: `qkv` `[B, T, 3D]`, `ctx` `[B, T, D]`, `probs` (if given)
/// `[B, heads, T, T]`. The `B · heads` (image, head) pairs are spread over the worker pool,
/// each with its own `T × T` scores in cache.
pub fn attention_batch(
    shape: AttentionShape,
    batch: usize,
    qkv: &[f32],
    ctx: &mut [f32],
    probs: Option<&mut [f32]>,
) {
    let AttentionShape {
        tokens: t,
        heads,
        head_dim: hd,
    } = shape;
    let d = shape.dim();
    assert_eq!(qkv.len(), batch * t * 3 * d, "qkv must be [B, T, 3D]");
    assert_eq!(ctx.len(), batch * t * d, "ctx must be [B, T, D]");
    if let Some(p) = &probs {
        assert_eq!(
            p.len(),
            batch * heads * t * t,
            "probs must be [B, heads, T, T]"
        );
    }
    let with_probs = probs.is_some();
    let out = Shared(
        ctx.as_mut_ptr(),
        probs.map_or(std::ptr::null_mut(), |p| p.as_mut_ptr()),
    );
    let scale = 1.0 / (hd as f32).sqrt();
    let isa = detect();
    let task = |job: usize| {
        let (b, h) = (job / heads, job % heads);
        let out = &out;
        SCRATCH.with(|s| {
            let s = &mut *s.borrow_mut();
            s.scores.resize(t * t, 0.0);
            let img = &qkv[b * t * 3 * d..(b + 1) * t * 3 * d];
            let (q, k, v) = (&img[h * hd..], &img[d + h * hd..], &img[2 * d + h * hd..]);
            // scores [T, T] = q_h [T, hd] · k_hᵀ [hd, T]
            s.keys.pack_strided(k, hd, t, 1, 3 * d);
            // SAFETY: scores is this task's own T×T buffer.
            unsafe {
                gemm_strided(
                    isa,
                    q,
                    3 * d,
                    t,
                    &s.keys,
                    s.scores.as_mut_ptr(),
                    t,
                    false,
                    Finish::default(),
                    0..t.div_ceil(isa.layout().nr),
                )
            };
            // probs = softmax(scores / √hd) row by row; without probs, only the exps, and the
            // division waits for the [T, hd] output.
            if with_probs {
                softmax_rows_scaled(&mut s.scores, t, scale);
            } else {
                s.sums.resize(t, 0.0);
                exp_rows_scaled(&mut s.scores, t, scale, &mut s.sums);
            }
            if with_probs {
                // SAFETY: block (b, h) of probs, written by this task only.
                let p = unsafe { std::slice::from_raw_parts_mut(out.1.add(job * t * t), t * t) };
                p.copy_from_slice(&s.scores);
            }
            // ctx[b, :, h] [T, hd] = probs [T, T] · v_h [T, hd], a strided tile of ctx.
            s.values.pack_strided(v, t, hd, 3 * d, 1);
            // SAFETY: the tile is rows 0..T, columns h·hd..(h+1)·hd of image b in ctx
            // ([B, T, D], asserted above), written by this task only.
            unsafe {
                gemm_strided(
                    isa,
                    &s.scores,
                    t,
                    t,
                    &s.values,
                    out.0.add(b * t * d + h * hd),
                    d,
                    false,
                    Finish::default(),
                    0..hd.div_ceil(isa.layout().nr),
                )
            };
            if !with_probs {
                for (i, &sum) in s.sums.iter().enumerate() {
                    let inv = 1.0 / sum;
                    // SAFETY: row i of this task's tile of ctx (see above).
                    let row = unsafe {
                        std::slice::from_raw_parts_mut(out.0.add(b * t * d + i * d + h * hd), hd)
                    };
                    row.iter_mut().for_each(|v| *v *= inv);
                }
            }
        });
    };
    let jobs = batch * heads;
    if threads::current() > 1 && jobs > 1 {
        threads::pool().install(|| (0..jobs).into_par_iter().for_each(task));
    } else {
        (0..jobs).for_each(task);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_version_matches_per_image() {
        let shape = AttentionShape {
            tokens: 7,
            heads: 3,
            head_dim: 4,
        };
        let (b, t, d) = (2, 7, 12);
        let qkv: Vec<f32> = (0..b * t * 3 * d)
            .map(|i| ((i * 13) % 29) as f32 / 9.0 - 1.5)
            .collect();
        let mut want_ctx = vec![0.0; b * t * d];
        let mut want_p = vec![0.0; b * 3 * t * t];
        let mut scores = vec![0.0; t * t];
        for i in 0..b {
            attention(
                shape,
                &qkv[i * t * 3 * d..(i + 1) * t * 3 * d],
                &mut scores,
                &mut want_ctx[i * t * d..(i + 1) * t * d],
                Some(&mut want_p[i * 3 * t * t..(i + 1) * 3 * t * t]),
            );
        }
        let mut ctx = vec![f32::NAN; b * t * d];
        let mut p = vec![f32::NAN; b * 3 * t * t];
        attention_batch(shape, b, &qkv, &mut ctx, Some(&mut p));
        assert_eq!(ctx, want_ctx);
        assert_eq!(p, want_p);
    }

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
        // Without probabilities the division moves to the output rows: the same numbers.
        let mut ctx_alone = vec![0.0; t * d];
        attention(shape, &qkv, &mut scores, &mut ctx_alone, None);
        for (a, b) in ctx.iter().zip(&ctx_alone) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
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
