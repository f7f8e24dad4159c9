//! Packing: weights once at load time, activations per call, into the panel layouts the
//! micro-kernel reads.

use super::kernel::{detect, Layout, MR};
use crate::shared::SharedRange;

/// Depth of a packed block (columns of A, rows of B) of the AVX2 and portable kernels
/// (each ISA's is in its [`Layout`]).
pub const KC: usize = 256;

/// A `k × n` matrix `B` in `kc`-deep blocks of `nr`-wide panels (the [`Layout`] of the ISA
/// it was packed for): block `kb`, panel `jp` holds, for each `p` of the block,
/// `B[p][jp·nr .. jp·nr + nr]` (zero past `n`).
///
/// Weights (`B = Wᵀ`) are packed once at load time; attention repacks its keys and values
/// per head into a buffer it keeps ([`PackedB::pack_strided`]).
#[derive(Debug, Clone, Default)]
pub struct PackedB {
    k: usize,
    n: usize,
    layout: Layout,
    /// The panels start at `data[start]`, on a 64-byte boundary, so that no 32-byte load of
    /// a panel row straddles two cache lines.
    start: usize,
    data: Vec<f32>,
    /// The same panels in a read-only mapped file shared between processes
    /// ([`crate::shared`]); `data` is empty then.
    shared: Option<SharedRange>,
}

/// Floats in a cache line.
const LINE: usize = 16;

impl PackedB {
    /// Packs `w` (`[n, k]`, row-major, as PyTorch stores a linear weight) for the kernels
    /// of this process ([`detect`]).
    pub fn from_out_in(w: &[f32], n: usize, k: usize) -> Self {
        Self::from_out_in_as(detect().layout(), w, n, k)
    }

    /// [`PackedB::from_out_in`] in a given layout.
    pub fn from_out_in_as(layout: Layout, w: &[f32], n: usize, k: usize) -> Self {
        assert_eq!(w.len(), n * k, "w must be [n, k]");
        let mut b = PackedB::default();
        b.pack_strided_as(layout, w, k, n, 1, k);
        b
    }

    /// Repacks this buffer with `B` (`k × n`) whose element `(p, j)` is `b[p·rs + j·cs]`,
    /// for the kernels of this process, reusing the allocation when it is large enough.
    ///
    /// # Panics
    /// If `b` is shorter than the strides reach (a bug in the caller).
    pub fn pack_strided(&mut self, b: &[f32], k: usize, n: usize, rs: usize, cs: usize) {
        self.pack_strided_as(detect().layout(), b, k, n, rs, cs);
    }

    /// [`PackedB::pack_strided`] in a given layout.
    pub fn pack_strided_as(
        &mut self,
        layout: Layout,
        b: &[f32],
        k: usize,
        n: usize,
        rs: usize,
        cs: usize,
    ) {
        let Layout { nr, kc: kc_max } = layout;
        assert!(nr > 0 && kc_max > 0, "a layout has positive sizes");
        if k > 0 && n > 0 {
            assert!(
                b.len() > (k - 1) * rs + (n - 1) * cs,
                "B is shorter than its strides reach"
            );
        }
        let panels = n.div_ceil(nr);
        self.k = k;
        self.n = n;
        self.layout = layout;
        self.shared = None;
        let len = panels * nr * k;
        // Every value is written below (the padding of a last, narrow panel included), so a
        // reused buffer is not cleared first.
        if self.data.len() < len + LINE {
            self.data.resize(len + LINE, 0.0);
        }
        let misalign = (self.data.as_ptr() as usize / 4) % LINE;
        self.start = (LINE - misalign) % LINE;
        for kb in (0..k).step_by(kc_max) {
            let kc = kc_max.min(k - kb);
            for jp in 0..panels {
                let base = self.start + kb * panels * nr + jp * kc * nr;
                let dst = &mut self.data[base..base + kc * nr];
                let cols = nr.min(n - jp * nr);
                if cols < nr {
                    dst.chunks_exact_mut(nr).for_each(|d| d[cols..].fill(0.0));
                }
                if cs == 1 {
                    for (p, d) in dst.chunks_exact_mut(nr).enumerate() {
                        let src = &b[(kb + p) * rs + jp * nr..];
                        copy_panel_row(&mut d[..cols], src);
                    }
                } else {
                    let mut c = 0;
                    if rs == 1 {
                        // The columns of B are contiguous (a linear weight's rows, attention's
                        // keys): eight at a time, each step's eight values written together.
                        while c + 8 <= cols {
                            let col = |i: usize| &b[(jp * nr + c + i) * cs + kb..][..kc];
                            let src: [&[f32]; 8] = std::array::from_fn(col);
                            for (p, d) in dst.chunks_exact_mut(nr).enumerate() {
                                let d: &mut [f32; 8] = (&mut d[c..c + 8]).try_into().unwrap();
                                for (d, s) in d.iter_mut().zip(&src) {
                                    *d = s[p];
                                }
                            }
                            c += 8;
                        }
                    }
                    // The rest column by column.
                    for c in c..cols {
                        let col = &b[(jp * nr + c) * cs..];
                        for p in 0..kc {
                            dst[p * nr + c] = col[(kb + p) * rs];
                        }
                    }
                }
            }
        }
    }

    /// The `[n, k]` weight back (packing is a permutation, so this is exact).
    pub fn unpack(&self) -> Vec<f32> {
        let (n, k) = (self.n, self.k);
        let Layout { nr, kc } = self.layout;
        let panels = n.div_ceil(nr.max(1));
        let mut w = vec![0.0f32; n * k];
        for kb in (0..k).step_by(kc.max(1)) {
            for jp in 0..panels {
                let panel = self.panel(kb, jp).chunks_exact(nr);
                for (p, step) in panel.enumerate() {
                    for (c, &v) in step.iter().take(n - jp * nr).enumerate() {
                        w[(jp * nr + c) * k + kb + p] = v;
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

    /// The layout it was packed in.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Panel `jp` of the block starting at depth `kb`.
    pub fn panel(&self, kb: usize, jp: usize) -> &[f32] {
        let Layout { nr, kc } = self.layout;
        let panels = self.n.div_ceil(nr);
        let kc = kc.min(self.k - kb);
        let base = kb * panels * nr + jp * kc * nr;
        &self.values()[base..base + kc * nr]
    }

    /// Every packed value, panel after panel (`⌈n/nr⌉·nr·k` floats).
    pub fn values(&self) -> &[f32] {
        let len = self.n.div_ceil(self.layout.nr) * self.layout.nr * self.k;
        match &self.shared {
            // Checked in bounds and aligned when shared (`share`), so never empty here.
            Some(s) => s.f32s().unwrap_or(&[]),
            None => &self.data[self.start..self.start + len],
        }
    }

    /// Whether the panels live in a shared mapped file.
    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    /// Moves the panels to `panels`, which must hold exactly [`PackedB::values`] (bit for
    /// bit); returns whether it did. The private copy is freed.
    pub(crate) fn share(&mut self, panels: SharedRange) -> bool {
        let same = match panels.f32s() {
            Some(mapped) => {
                let own = self.values();
                mapped.len() == own.len()
                    && mapped
                        .iter()
                        .zip(own)
                        .all(|(a, b)| a.to_bits() == b.to_bits())
            }
            None => false,
        };
        if same {
            self.shared = Some(panels);
            self.data = Vec::new();
            self.start = 0;
        }
        same
    }
}

/// `dst ← src[..dst.len()]`, with fixed-size copies for the full rows of both panel widths
/// (a call to `memcpy` per 16 values would cost more than the copy).
#[inline(always)]
fn copy_panel_row(dst: &mut [f32], src: &[f32]) {
    match dst.len() {
        16 => *dst.first_chunk_mut::<16>().unwrap() = *src.first_chunk::<16>().unwrap(),
        64 => *dst.first_chunk_mut::<64>().unwrap() = *src.first_chunk::<64>().unwrap(),
        n => dst.copy_from_slice(&src[..n]),
    }
}

/// Packs rows `rows` and depths `kb..kb + kc` of the row-major `x` (`lda` = row stride)
/// into `MR`-row panels, zero-padding the last one: panel `mp` holds, for each `p`, `MR`
/// values. `out` holds exactly `⌈rows/MR⌉·MR·kc` values, every one of which is written.
pub fn pack_a(
    x: &[f32],
    lda: usize,
    rows: std::ops::Range<usize>,
    kb: usize,
    kc: usize,
    out: &mut [f32],
) {
    let m = rows.len();
    let panels = m.div_ceil(MR);
    assert_eq!(out.len(), panels * MR * kc, "out must hold the panels");
    let (steps, _) = out.as_chunks_mut::<MR>();
    for (mp, dst) in steps.chunks_exact_mut(kc).enumerate() {
        let r0 = rows.start + mp * MR;
        let present = MR.min(m - mp * MR);
        if present == MR {
            let src: [&[f32]; MR] = std::array::from_fn(|i| &x[(r0 + i) * lda + kb..][..kc]);
            interleave(src, dst);
        } else {
            for (p, d) in dst.iter_mut().enumerate() {
                for (i, v) in d.iter_mut().enumerate() {
                    *v = if i < present {
                        x[(r0 + i) * lda + kb + p]
                    } else {
                        0.0
                    };
                }
            }
        }
    }
}

/// A full panel: `dst[p][i] = rows[i][p]`, through AVX2 transposes when the CPU has them
/// (for every vector ISA: they all share this layout; not for the portable kernels).
fn interleave(rows: [&[f32]; MR], dst: &mut [[f32; MR]]) {
    #[cfg(target_arch = "x86_64")]
    if detect() != super::Isa::Portable && super::Isa::Avx2Fma.supported() {
        let kc = dst.len();
        // SAFETY: the CPU has AVX2 (checked above); the sizes are checked inside.
        unsafe { super::avx2::interleave6(rows, kc, dst.as_flattened_mut()) };
        return;
    }
    interleave_portable(rows, dst);
}

/// [`interleave`] in plain Rust: the six rows side by side, one step's six values at a time.
fn interleave_portable(rows: [&[f32]; MR], dst: &mut [[f32; MR]]) {
    let [s0, s1, s2, s3, s4, s5] = rows;
    let src = s0.iter().zip(s1).zip(s2).zip(s3).zip(s4).zip(s5);
    for (d, (((((&a0, &a1), &a2), &a3), &a4), &a5)) in dst.iter_mut().zip(src) {
        *d = [a0, a1, a2, a3, a4, a5];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both interleaves, for every depth around the eight-step blocks.
    #[test]
    fn interleave_puts_step_p_of_row_i_at_p_mr_plus_i() {
        for kc in 1..40 {
            let rows: Vec<Vec<f32>> = (0..MR)
                .map(|i| (0..kc).map(|p| (i * 1000 + p) as f32).collect())
                .collect();
            let src: [&[f32]; MR] = std::array::from_fn(|i| rows[i].as_slice());
            let mut fast = vec![[f32::NAN; MR]; kc];
            interleave(src, &mut fast);
            let mut portable = vec![[f32::NAN; MR]; kc];
            interleave_portable(src, &mut portable);
            for p in 0..kc {
                for i in 0..MR {
                    assert_eq!(
                        fast[p][i],
                        (i * 1000 + p) as f32,
                        "kc {kc} step {p} row {i}"
                    );
                    assert_eq!(portable[p][i], fast[p][i]);
                }
            }
        }
    }
}
