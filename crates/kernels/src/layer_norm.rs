//! LayerNorm over the last axis, with biased variance as PyTorch computes it.

/// Normalises each row of `x` (`rows × dim`, row-major) into `out`:
/// `out = (x − mean)/√(var + eps)·gamma + beta`, with `var` the biased variance.
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
    for (row, o) in x.chunks_exact(dim).zip(out.chunks_exact_mut(dim)) {
        let mean = row.iter().sum::<f32>() / dim as f32;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / dim as f32;
        let inv = 1.0 / (var + eps).sqrt();
        for (((o, &v), &g), &b) in o.iter_mut().zip(row).zip(gamma).zip(beta) {
            *o = (v - mean) * inv * g + b;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
