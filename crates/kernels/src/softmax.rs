//! Numerically stable softmax over rows.

use crate::activation::exp_approx;

/// Replaces each row of `x` (`rows × cols`) by its softmax, with a vectorised `exp` (about
/// 2 ulp) on the kernels' ISA.
pub fn softmax_rows(x: &mut [f32], cols: usize) {
    softmax_rows_scaled(x, cols, 1.0);
}

/// Replaces each row `s` of `x` (`rows × cols`) by `softmax(scale · s)`: attention folds
/// its `1/√head_dim` in here instead of scaling the scores in a pass of their own.
/// `scale` must be positive.
pub fn softmax_rows_scaled(x: &mut [f32], cols: usize, scale: f32) {
    check(x, cols, scale);
    for row in x.chunks_exact_mut(cols) {
        let inv = 1.0 / exp_row(row, scale);
        row.iter_mut().for_each(|v| *v *= inv);
    }
}

/// Replaces each row `s` of `x` (`rows × cols`) by `exp(scale · (s − max(s)))` and writes
/// each row's sum to `sums`: softmax without its division, for attention, which divides
/// its `[T, head_dim]` output rows instead of the `[T, T]` probabilities.
pub fn exp_rows_scaled(x: &mut [f32], cols: usize, scale: f32, sums: &mut [f32]) {
    check(x, cols, scale);
    assert_eq!(sums.len(), x.len() / cols, "sums must be one per row");
    for (row, sum) in x.chunks_exact_mut(cols).zip(sums) {
        *sum = exp_row(row, scale);
    }
}

fn check(x: &[f32], cols: usize, scale: f32) {
    assert!(scale > 0.0, "softmax scale must be positive");
    assert!(
        cols > 0 && x.len().is_multiple_of(cols),
        "x must be whole rows"
    );
}

/// `row ← exp(scale · (row − max))`, returning the new sum, on the kernels' ISA.
fn exp_row(row: &mut [f32], scale: f32) -> f32 {
    // SAFETY: detect() returns only ISAs this CPU supports.
    unsafe { crate::dispatch::exp_row(crate::gemm::detect(), row, scale) }
}

/// The portable form of [`crate::simd::exp_row`]: the same steps in plain Rust.
pub(crate) fn exp_row_portable(row: &mut [f32], scale: f32) -> f32 {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    for v in row.iter_mut() {
        *v = exp_approx((*v - max) * scale);
    }
    // Eight partial sums, as the vector form keeps them.
    let mut lanes = [0.0f32; 8];
    let mut chunks = row.chunks_exact(8);
    for c in &mut chunks {
        for (l, v) in lanes.iter_mut().zip(c) {
            *l += v;
        }
    }
    lanes.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>()
}

/// The portable softmax (tests compare the vector path against it).
#[cfg(test)]
fn softmax_loop(x: &mut [f32], cols: usize, scale: f32) {
    for row in x.chunks_exact_mut(cols) {
        let inv = 1.0 / exp_row_portable(row, scale);
        row.iter_mut().for_each(|v| *v *= inv);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `softmax(scale · row)` in f64.
    fn reference(row: &[f32], scale: f32) -> Vec<f64> {
        let s: Vec<f64> = row.iter().map(|&v| v as f64 * scale as f64).collect();
        let m = s.iter().cloned().fold(f64::MIN, f64::max);
        let e: Vec<f64> = s.iter().map(|v| (v - m).exp()).collect();
        let z: f64 = e.iter().sum();
        e.iter().map(|e| e / z).collect()
    }

    #[test]
    fn matches_f64_softmax_on_both_paths() {
        let cols = 197;
        let x: Vec<f32> = (0..cols * 5)
            .map(|i| ((i * 7919) % 1000) as f32 / 50.0 - 10.0)
            .collect();
        let mut fast = x.clone();
        softmax_rows(&mut fast, cols);
        let mut portable = x.clone();
        softmax_loop(&mut portable, cols, 1.0);
        for (r, row) in x.chunks(cols).enumerate() {
            let want = reference(row, 1.0);
            for (j, &want) in want.iter().enumerate() {
                for got in [fast[r * cols + j], portable[r * cols + j]] {
                    assert!(
                        (got as f64 - want).abs() <= 1e-6 * want + 1e-9,
                        "{got} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn scaled_matches_f64_on_both_paths() {
        for cols in [1, 7, 8, 197, 257] {
            let x: Vec<f32> = (0..cols * 3)
                .map(|i| ((i * 7919) % 1000) as f32 / 20.0 - 25.0)
                .collect();
            let scale = 0.125f32;
            let mut fast = x.clone();
            softmax_rows_scaled(&mut fast, cols, scale);
            let mut portable = x.clone();
            softmax_loop(&mut portable, cols, scale);
            for (r, row) in x.chunks(cols).enumerate() {
                let want = reference(row, scale);
                for (j, &want) in want.iter().enumerate() {
                    for got in [fast[r * cols + j], portable[r * cols + j]] {
                        assert!(
                            (got as f64 - want).abs() <= 1e-6 * want + 1e-9,
                            "cols {cols}: {got} vs {want}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn exp_rows_and_their_sums_match_f64_on_both_paths() {
        let cols = 197;
        let x: Vec<f32> = (0..cols * 4)
            .map(|i| ((i * 7919) % 1000) as f32 / 20.0 - 25.0)
            .collect();
        let mut fast = x.clone();
        let mut sums = vec![0.0; 4];
        exp_rows_scaled(&mut fast, cols, 0.125, &mut sums);
        for (r, row) in x.chunks(cols).enumerate() {
            let m = row.iter().cloned().fold(f32::MIN, f32::max) as f64;
            let e: Vec<f64> = row
                .iter()
                .map(|&v| ((v as f64 - m) * 0.125).exp())
                .collect();
            let mut portable = row.to_vec();
            let portable_sum = exp_row_portable(&mut portable, 0.125);
            for j in 0..cols {
                for got in [fast[r * cols + j], portable[j]] {
                    assert!((got as f64 - e[j]).abs() <= 1e-6 * e[j] + 1e-9);
                }
            }
            let z: f64 = e.iter().sum();
            for got in [sums[r], portable_sum] {
                assert!((got as f64 - z).abs() <= 1e-6 * z);
            }
        }
    }

    proptest::proptest! {
        /// Random rows (lengths that are and are not multiples of eight) and scales, both
        /// paths, against f64.
        #[test]
        fn softmax_matches_f64_on_random_rows(
            row in proptest::collection::vec(-60.0f32..60.0, 1..300), scale in 0.01f32..2.0,
        ) {
            let cols = row.len();
            let mut fast = row.clone();
            softmax_rows_scaled(&mut fast, cols, scale);
            let mut portable = row.clone();
            softmax_loop(&mut portable, cols, scale);
            let mut others = Vec::new();
            for isa in crate::gemm::Isa::available() {
                let mut o = row.clone();
                // SAFETY: the ISA is available.
                let inv = 1.0 / unsafe { crate::dispatch::exp_row(isa, &mut o, scale) };
                o.iter_mut().for_each(|v| *v *= inv);
                others.push(o);
            }
            for (j, &want) in reference(&row, scale).iter().enumerate() {
                for got in [fast[j], portable[j]].into_iter().chain(others.iter().map(|o| o[j])) {
                    proptest::prop_assert!((got as f64 - want).abs() <= 2e-6 * want + 1e-9, "{} vs {}", got, want);
                }
            }
        }
    }

    #[test]
    fn rows_sum_to_one_and_survive_large_inputs() {
        let mut x = vec![1000.0, 1001.0, 1002.0, -5.0, 0.0, 5.0];
        softmax_rows(&mut x, 3);
        for row in x.chunks(3) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        }
        let e: Vec<f64> = [0.0f64, 1.0, 2.0].iter().map(|v| v.exp()).collect();
        let s: f64 = e.iter().sum();
        assert!((x[2] as f64 - e[2] / s).abs() < 1e-6);
    }
}
