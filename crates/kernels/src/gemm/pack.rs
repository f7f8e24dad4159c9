//! Packing: weights once at load time, activations per call, into the panel layouts the
//! micro-kernel reads.

use super::kernel::{MR, NR};

/// Depth of a packed block (columns of A, rows of B) kept in cache at once.
pub const KC: usize = 256;

/// A `k × n` matrix `B` in `KC`-deep blocks of `NR`-wide panels: block `kb`, panel `jp`
/// holds, for each `p` of the block, `B[p][jp·NR .. jp·NR + NR]` (zero past `n`).
///
/// Weights (`B = Wᵀ`) are packed once at load time; attention repacks its keys and values
/// per head into a buffer it keeps ([`PackedB::pack_strided`]).
#[derive(Debug, Clone, Default)]
pub struct PackedB {
    k: usize,
    n: usize,
    data: Vec<f32>,
}

impl PackedB {
    /// Packs `w` (`[n, k]`, row-major, as PyTorch stores a linear weight).
    pub fn from_out_in(w: &[f32], n: usize, k: usize) -> Self {
        assert_eq!(w.len(), n * k, "w must be [n, k]");
        let mut b = PackedB::default();
        b.pack_strided(w, k, n, 1, k);
        b
    }

    /// Repacks this buffer with `B` (`k × n`) whose element `(p, j)` is `b[p·rs + j·cs]`,
    /// reusing the allocation when it is large enough.
    ///
    /// # Panics
    /// If `b` is shorter than the strides reach (a bug in the caller).
    pub fn pack_strided(&mut self, b: &[f32], k: usize, n: usize, rs: usize, cs: usize) {
        if k > 0 && n > 0 {
            assert!(
                b.len() > (k - 1) * rs + (n - 1) * cs,
                "B is shorter than its strides reach"
            );
        }
        let panels = n.div_ceil(NR);
        self.k = k;
        self.n = n;
        self.data.clear();
        self.data.resize(panels * NR * k, 0.0);
        for kb in (0..k).step_by(KC) {
            let kc = KC.min(k - kb);
            for jp in 0..panels {
                let base = kb * panels * NR + jp * kc * NR;
                let dst = &mut self.data[base..base + kc * NR];
                let cols = NR.min(n - jp * NR);
                if cs == 1 {
                    for (p, d) in dst.chunks_exact_mut(NR).enumerate() {
                        let src = (kb + p) * rs + jp * NR;
                        d[..cols].copy_from_slice(&b[src..src + cols]);
                    }
                } else {
                    for c in 0..cols {
                        let col = &b[(jp * NR + c) * cs..];
                        for p in 0..kc {
                            dst[p * NR + c] = col[(kb + p) * rs];
                        }
                    }
                }
            }
        }
    }

    /// The `[n, k]` weight back (packing is a permutation, so this is exact).
    pub fn unpack(&self) -> Vec<f32> {
        let (n, k) = (self.n, self.k);
        let panels = n.div_ceil(NR);
        let mut w = vec![0.0f32; n * k];
        for kb in (0..k).step_by(KC) {
            let kc = KC.min(k - kb);
            for jp in 0..panels {
                let base = kb * panels * NR + jp * kc * NR;
                for p in 0..kc {
                    for c in 0..NR.min(n - jp * NR) {
                        w[(jp * NR + c) * k + kb + p] = self.data[base + p * NR + c];
                    }
                }
            }
        }
        w
    }

    /// Rows of B (input features).
    pub fn k(&self) -> usize {
        self.k
    }

    /// Columns of B (output features).
    pub fn n(&self) -> usize {
        self.n
    }

    /// Panel `jp` of the block starting at depth `kb`.
    pub fn panel(&self, kb: usize, jp: usize) -> &[f32] {
        let panels = self.n.div_ceil(NR);
        let kc = KC.min(self.k - kb);
        let base = kb * panels * NR + jp * kc * NR;
        &self.data[base..base + kc * NR]
    }
}

/// Packs rows `rows` and depths `kb..kb + kc` of the row-major `x` (`lda` = row stride)
/// into `MR`-row panels, zero-padding the last one: panel `mp` holds, for each `p`, `MR`
/// values.
pub fn pack_a(
    x: &[f32],
    lda: usize,
    rows: std::ops::Range<usize>,
    kb: usize,
    kc: usize,
    out: &mut Vec<f32>,
) {
    let m = rows.len();
    let panels = m.div_ceil(MR);
    out.clear();
    out.resize(panels * MR * kc, 0.0);
    for mp in 0..panels {
        let dst = &mut out[mp * MR * kc..(mp + 1) * MR * kc];
        let r0 = rows.start + mp * MR;
        if m - mp * MR >= MR {
            // A full panel: read the six rows side by side, write each step's six values.
            let src: [&[f32]; MR] = std::array::from_fn(|i| &x[(r0 + i) * lda + kb..][..kc]);
            for (p, d) in dst.chunks_exact_mut(MR).enumerate() {
                for (i, v) in d.iter_mut().enumerate() {
                    *v = src[i][p];
                }
            }
        } else {
            for i in 0..m - mp * MR {
                let row = &x[(r0 + i) * lda + kb..][..kc];
                for (p, &v) in row.iter().enumerate() {
                    dst[p * MR + i] = v;
                }
            }
        }
    }
}
