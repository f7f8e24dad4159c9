//! Shared helpers for the criterion benchmarks in `benches/benches/`.

/// (m, k, n) of the four linears of a ViT-B/16 layer at batch 1 (q/k/v fused, attention
/// output, fc1, fc2), and fc1 at batch 8: the GEMM shapes the `gemm` and `qgemm` benches time.
pub const VIT_B16_LINEARS: &[(usize, usize, usize)] = &[
    (197, 768, 2304),
    (197, 768, 768),
    (197, 768, 3072),
    (197, 3072, 768),
    (1576, 768, 3072),
];
