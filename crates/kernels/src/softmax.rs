//! Numerically stable softmax over rows.

use crate::activation::exp_approx;

/// Replaces each row of `x` (`rows × cols`) by its softmax, with a vectorised `exp` (about
/// 2 ulp) and AVX2 + FMA when the CPU has them.
pub fn softmax_rows(x: &mut [f32], cols: usize) {
    assert!(
        cols > 0 && x.len().is_multiple_of(cols),
        "x must be whole rows"
    );
    #[cfg(target_arch = "x86_64")]
    if crate::gemm::detect() == crate::gemm::Isa::Avx2Fma {
        // SAFETY: detect() confirmed AVX2 and FMA on this CPU.
        unsafe { softmax_avx2(x, cols) };
        return;
    }
    softmax_loop(x, cols);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn softmax_avx2(x: &mut [f32], cols: usize) {
    softmax_loop(x, cols);
}

#[inline(always)]
fn softmax_loop(x: &mut [f32], cols: usize) {
    for row in x.chunks_exact_mut(cols) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        for v in row.iter_mut() {
            *v = exp_approx(*v - max);
        }
        // Eight partial sums vectorise; the order differs from a serial sum by rounding only.
        let mut lanes = [0.0f32; 8];
        let mut chunks = row.chunks_exact(8);
        for c in &mut chunks {
            for (l, v) in lanes.iter_mut().zip(c) {
                *l += v;
            }
        }
        let sum = lanes.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>();
        let inv = 1.0 / sum;
        for v in row.iter_mut() {
            *v *= inv;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_f64_softmax_on_both_paths() {
        let cols = 197;
        let x: Vec<f32> = (0..cols * 5)
            .map(|i| ((i * 7919) % 1000) as f32 / 50.0 - 10.0)
            .collect();
        let mut fast = x.clone();
        softmax_rows(&mut fast, cols);
        let mut portable = x.clone();
        softmax_loop(&mut portable, cols);
        for (r, row) in x.chunks(cols).enumerate() {
            let m = row.iter().cloned().fold(f32::MIN, f32::max) as f64;
            let e: Vec<f64> = row.iter().map(|&v| (v as f64 - m).exp()).collect();
            let z: f64 = e.iter().sum();
            for j in 0..cols {
                let want = e[j] / z;
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
