//! Packing: weights once at load time, activations per call, into the panel layouts the
//! micro-kernel reads.

use super::kernel::{MR, NR};

/// Depth of a packed block (columns of A, rows of B) kept in cache at once.
pub const KC: usize = 256;

/// `B = Wᵀ` (`k × n`) for `W` given `[n, k]`, in `KC`-deep blocks of `NR`-wide panels:
/// block `kb`, panel `jp` holds, for each `p` of the block, `B[p][jp·NR .. jp·NR + NR]`
/// (zero past `n`).
#[derive(Debug, Clone)]
pub struct PackedB {
    k: usize,
    n: usize,
    data: Vec<f32>,
}

impl PackedB {
    /// Packs `w` (`[n, k]`, row-major, as PyTorch stores a linear weight).
    pub fn from_out_in(w: &[f32], n: usize, k: usize) -> Self {
        assert_eq!(w.len(), n * k, "w must be [n, k]");
        let panels = n.div_ceil(NR);
        let mut data = vec![0.0f32; panels * NR * k];
        for kb in (0..k).step_by(KC) {
            let kc = KC.min(k - kb);
            for jp in 0..panels {
                let base = kb * panels * NR + jp * kc * NR;
                for p in 0..kc {
                    for c in 0..NR.min(n - jp * NR) {
                        data[base + p * NR + c] = w[(jp * NR + c) * k + kb + p];
                    }
                }
            }
        }
        PackedB { k, n, data }
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

/// Packs rows `rows` and depths `kb..kb + kc` of the row-major `x` (`lda` = row length) into
/// `MR`-row panels, zero-padding the last one: panel `mp` holds, for each `p`, `MR` values.
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
        for i in 0..MR.min(m - mp * MR) {
            let row = &x[(rows.start + mp * MR + i) * lda + kb..][..kc];
            for (p, &v) in row.iter().enumerate() {
                dst[p * MR + i] = v;
            }
        }
    }
}
