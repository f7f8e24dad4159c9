//! LayerNorm over the last axis, with biased variance as PyTorch computes it.

use crate::lanes::Lanes;

/// Normalises each row of `x` (`rows × dim`, row-major) into `out`:
/// `out = (x − mean)/√(var + eps)·gamma + beta`, with `var` the biased variance (two passes,
/// vector partial sums on the kernels' ISA). Large
/// inputs are split by rows between the workers of [`crate::threads`].
pub fn layer_norm(x: &[f32], gamma: &[f32], beta: &[f32], eps: f32, out: &mut [f32]) {
    let dim = gamma.len();
    assert!(
        dim > 0 && beta.len() == dim,
        "gamma and beta must both have the row length"
    );
    assert!(
        x.len().is_multiple_of(dim) && out.len() == x.len(),
        "x and out must be whole rows"
    );
    let rows = x.len() / dim;
    let workers = crate::threads::current();
    if workers > 1 && x.len() >= PARALLEL_FROM {
        use rayon::prelude::*;
        let per = rows.div_ceil(workers) * dim;
        crate::threads::pool().install(|| {
            x.par_chunks(per)
                .zip(out.par_chunks_mut(per))
                .for_each(|(x, out)| layer_norm_rows(x, gamma, beta, eps, out));
        });
        return;
    }
    layer_norm_rows(x, gamma, beta, eps, out);
}

/// From this many values on, the rows are split between the workers.
const PARALLEL_FROM: usize = 1 << 16;

fn layer_norm_rows(x: &[f32], gamma: &[f32], beta: &[f32], eps: f32, out: &mut [f32]) {
    // SAFETY: detect() returns only ISAs this CPU supports.
    unsafe { crate::dispatch::layer_norm(crate::gemm::detect(), x, gamma, beta, eps, out) }
}

/// The vector form: `V::N` partial sums for the mean and the variance, one FMA per output.
#[inline(always)]
pub(crate) fn layer_norm_loop<V: Lanes>(
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
    out: &mut [f32],
) {
    let dim = gamma.len();
    let full = dim / V::N * V::N;
    for (row, o) in x.chunks_exact(dim).zip(out.chunks_exact_mut(dim)) {
        let p = row.as_ptr();
        let mut acc = V::splat(0.0);
        for j in (0..full).step_by(V::N) {
            // SAFETY: j + N ≤ dim values of the row.
            acc = acc.add(unsafe { V::load(p.add(j)) });
        }
        let tail: f32 = row[full..].iter().sum();
        let mean = (acc.reduce_add() + tail) / dim as f32;
        let vm = V::splat(mean);
        let mut acc = V::splat(0.0);
        for j in (0..full).step_by(V::N) {
            // SAFETY: as above.
            let d = unsafe { V::load(p.add(j)) }.sub(vm);
            acc = d.fma(d, acc);
        }
        let tail: f32 = row[full..].iter().map(|&v| (v - mean) * (v - mean)).sum();
        let var = (acc.reduce_add() + tail) / dim as f32;
        let inv = 1.0 / (var + eps).sqrt();
        let vi = V::splat(inv);
        for j in (0..full).step_by(V::N) {
            // SAFETY: j + N ≤ dim values of the row, of gamma, beta and o (all dim long).
            unsafe {
                let d = V::load(p.add(j)).sub(vm).mul(vi);
                d.fma(
                    V::load(gamma.as_ptr().add(j)),
                    V::load(beta.as_ptr().add(j)),
                )
                .store(o.as_mut_ptr().add(j));
            }
        }
        for j in full..dim {
            o[j] = ((row[j] - mean) * inv).mul_add(gamma[j], beta[j]);
        }
    }
}

#[inline(always)]
fn sum8(row: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut lanes = [0.0f32; 8];
    let mut chunks = row.chunks_exact(8);
    for c in &mut chunks {
        for (l, &v) in lanes.iter_mut().zip(c) {
            *l += f(v);
        }
    }
    lanes.iter().sum::<f32>() + chunks.remainder().iter().map(|&v| f(v)).sum::<f32>()
}

/// The portable form (no intrinsics): eight partial sums so the loops vectorise.
pub(crate) fn layer_norm_portable(
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
    out: &mut [f32],
) {
    let dim = gamma.len();
    for (row, o) in x.chunks_exact(dim).zip(out.chunks_exact_mut(dim)) {
        let mean = sum8(row, |v| v) / dim as f32;
        let var = sum8(row, |v| (v - mean) * (v - mean)) / dim as f32;
        let inv = 1.0 / (var + eps).sqrt();
        for (((o, &v), &g), &b) in o.iter_mut().zip(row).zip(gamma).zip(beta) {
            *o = (v - mean) * inv * g + b;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Random widths and values (offset rows included, where a one-pass variance would
        /// cancel), both paths, against f64.
        #[test]
        fn layer_norm_matches_f64_on_random_rows(
            dim in 1usize..1100, rows in 1usize..4, offset in -100.0f32..100.0, seed in 0u64..1000,
        ) {
            let mut s = seed.wrapping_add(1);
            let mut rnd = || {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            };
            let x: Vec<f32> = (0..dim * rows).map(|_| offset + 3.0 * rnd()).collect();
            let gamma: Vec<f32> = (0..dim).map(|_| rnd()).collect();
            let beta: Vec<f32> = (0..dim).map(|_| rnd()).collect();
            let mut fast = vec![0.0; x.len()];
            layer_norm(&x, &gamma, &beta, 1e-6, &mut fast);
            let mut portable = vec![0.0; x.len()];
            layer_norm_portable(&x, &gamma, &beta, 1e-6, &mut portable);
            let mut others = Vec::new();
            for isa in crate::gemm::Isa::available() {
                let mut o = vec![0.0; x.len()];
                // SAFETY: the ISA is available.
                unsafe { crate::dispatch::layer_norm(isa, &x, &gamma, &beta, 1e-6, &mut o) };
                others.push(o);
            }
            for (r, row) in x.chunks(dim).enumerate() {
                let mean = row.iter().map(|&v| v as f64).sum::<f64>() / dim as f64;
                let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / dim as f64;
                for j in 0..dim {
                    let want = (row[j] as f64 - mean) / (var + 1e-6).sqrt() * gamma[j] as f64
                        + beta[j] as f64;
                    // The f32 mean is off by the rounding of the sums of values near
                    // |offset|: one ulp of |offset| for the last add, plus the lanes' running
                    // sums (dim/8 terms each); normalising divides it by σ. At most about
                    // 2·ε·|offset|·(1 + dim/64)/σ.
                    let mean_err = 2.0 * f32::EPSILON as f64 * offset.abs() as f64
                        * (1.0 + dim as f64 / 64.0)
                        / var.sqrt().max(1e-3);
                    let tol = 1e-5 + mean_err;
                    let each = others.iter().map(|o| o[r * dim + j]);
                    for got in [fast[r * dim + j], portable[r * dim + j]].into_iter().chain(each) {
                        proptest::prop_assert!((got as f64 - want).abs() <= tol, "{} vs {}", got, want);
                    }
                }
            }
        }
    }

    /// Rows split between workers give exactly the single-thread values.
    #[test]
    fn split_rows_equal_one_pass() {
        crate::threads::init(2);
        let dim = 768;
        let x: Vec<f32> = (0..dim * 301)
            .map(|i| ((i * 7919) % 101) as f32 / 13.0 - 3.0)
            .collect();
        let gamma: Vec<f32> = (0..dim).map(|i| 0.5 + i as f32 / dim as f32).collect();
        let beta: Vec<f32> = (0..dim).map(|i| i as f32 / 100.0).collect();
        let mut split = vec![0.0; x.len()];
        layer_norm(&x, &gamma, &beta, 1e-12, &mut split);
        let mut whole = vec![0.0; x.len()];
        layer_norm_rows(&x, &gamma, &beta, 1e-12, &mut whole);
        assert_eq!(split, whole);
    }

    #[test]
    fn matches_f64_reference() {
        let dim = 37;
        let x: Vec<f32> = (0..dim * 3)
            .map(|i| ((i * 7919) % 101) as f32 / 13.0 - 3.0)
            .collect();
        let gamma: Vec<f32> = (0..dim).map(|i| 0.5 + i as f32 / dim as f32).collect();
        let beta: Vec<f32> = (0..dim).map(|i| i as f32 / 100.0).collect();
        let mut out = vec![0.0; x.len()];
        layer_norm(&x, &gamma, &beta, 1e-12, &mut out);
        let mut portable = vec![0.0; x.len()];
        layer_norm_portable(&x, &gamma, &beta, 1e-12, &mut portable);
        for (a, b) in out.iter().zip(&portable) {
            assert!((a - b).abs() < 1e-5);
        }
        for (r, row) in x.chunks(dim).enumerate() {
            let mean = row.iter().map(|&v| v as f64).sum::<f64>() / dim as f64;
            let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / dim as f64;
            for j in 0..dim {
                let want = (row[j] as f64 - mean) / (var + 1e-12).sqrt() * gamma[j] as f64
                    + beta[j] as f64;
                assert!((out[r * dim + j] as f64 - want).abs() < 1e-5);
            }
        }
    }
}
