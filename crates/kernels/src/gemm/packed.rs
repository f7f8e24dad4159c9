//! The cache-blocked driver: `Y (+)= X·B` with `B` packed once, `X` packed per call, and the
//! bias and activation applied to each tile as soon as it is final, while it is in L1.

use std::cell::RefCell;

use super::kernel::{kernel, Isa, MR, NR, PREFETCH_LINES};
use super::pack::{pack_a, PackedB, KC};
use crate::Activation;

/// Most rows of X packed together (a multiple of `MR`): `MC_MAX × KC` floats (252 KB) stay
/// in a Zen 3 core's 512 KB L2, so one block covers a whole image (197 tokens) and each
/// weight panel streams from memory once per depth block.
const MC_MAX: usize = 252;

thread_local! {
    static A_BUF: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// What happens to an output tile once its product is complete.
#[derive(Debug, Clone, Copy, Default)]
pub struct Finish<'a> {
    /// Added to every row (`n` values), if any.
    pub bias: Option<&'a [f32]>,
    /// Applied after the bias, if any.
    pub act: Option<Activation>,
}

impl Finish<'_> {
    fn is_noop(&self) -> bool {
        self.bias.is_none() && matches!(self.act, None | Some(Activation::Identity))
    }

    /// Applies to `rows × cols` values at `c` (stride `ldc`), output columns `col0..`.
    ///
    /// # Safety
    /// The values must be valid for reads and writes and not touched by anyone else.
    unsafe fn apply(&self, c: *mut f32, ldc: usize, rows: usize, col0: usize, cols: usize) {
        let bias = self.bias.map(|b| &b[col0..col0 + cols]);
        let act = self.act.unwrap_or(Activation::Identity);
        #[cfg(target_arch = "x86_64")]
        if super::detect() == Isa::Avx2Fma {
            // SAFETY: AVX2 and FMA are present; the tile is the caller's (see above).
            unsafe { crate::simd::bias_act(c, ldc, rows, cols, bias, act) };
            return;
        }
        for r in 0..rows {
            // SAFETY: row r of the tile, as the caller guarantees.
            let row = unsafe { std::slice::from_raw_parts_mut(c.add(r * ldc), cols) };
            if let Some(b) = bias {
                row.iter_mut().zip(b).for_each(|(v, b)| *v += b);
            }
            act.apply_slice_portable(row);
        }
    }
}

/// `y[m, n] = finish((accumulate ? y : 0) + x[m, k] · B)` for all rows of `x`.
pub fn gemm(
    isa: Isa,
    x: &[f32],
    m: usize,
    b: &PackedB,
    y: &mut [f32],
    accumulate: bool,
    finish: Finish,
) {
    assert_eq!(y.len(), m * b.n(), "y must be [m, n]");
    let panels = b.n().div_ceil(NR);
    // SAFETY: y is a unique borrow of exactly m·n values.
    unsafe { gemm_panels(isa, x, m, b, y.as_mut_ptr(), accumulate, finish, 0..panels) };
}

/// [`gemm`] restricted to the output columns of panels `panels` (`NR` columns each), so that
/// threads can share one output: different panel ranges write disjoint columns.
///
/// # Safety
/// `y` must point to `m · b.n()` writable values, and no other thread may touch the columns of
/// `panels` while this runs.
#[allow(clippy::too_many_arguments)]
pub unsafe fn gemm_panels(
    isa: Isa,
    x: &[f32],
    m: usize,
    b: &PackedB,
    y: *mut f32,
    accumulate: bool,
    finish: Finish,
    panels: std::ops::Range<usize>,
) {
    assert_eq!(x.len(), m * b.k(), "x must be [m, k]");
    // SAFETY: forwarded; rows of x and y are contiguous (lda = k, ldc = n).
    unsafe { gemm_strided(isa, x, b.k(), m, b, y, b.n(), accumulate, finish, panels) }
}

/// The general form: row `i` of `X` starts at `x[i·lda]`, row `i` of `Y` at `y + i·ldc`, so
/// `X` and `Y` may be column slices of wider matrices (attention's per-head views).
///
/// # Safety
/// For every row `i < m`, the values `y + i·ldc + j` for the columns `j` of `panels` (below
/// `b.n()`) must be writable and touched by no one else while this runs.
#[allow(clippy::too_many_arguments)]
pub unsafe fn gemm_strided(
    isa: Isa,
    x: &[f32],
    lda: usize,
    m: usize,
    b: &PackedB,
    y: *mut f32,
    ldc: usize,
    accumulate: bool,
    finish: Finish,
    panels: std::ops::Range<usize>,
) {
    let (k, n) = (b.k(), b.n());
    if m > 0 && k > 0 {
        assert!(
            lda >= k && x.len() >= (m - 1) * lda + k,
            "x must hold m rows of k values at stride lda"
        );
    }
    assert!(
        panels.end <= n.div_ceil(NR),
        "panel range past the last panel"
    );
    if let Some(bias) = finish.bias {
        assert_eq!(bias.len(), n, "bias must have n values");
    }
    if m == 0 || n == 0 || panels.is_empty() {
        return;
    }
    let at = |row: usize, col: usize| y.wrapping_add(row * ldc + col);
    if k == 0 {
        let c0 = panels.start * NR;
        let c1 = (panels.end * NR).min(n);
        for r in 0..m {
            // SAFETY: row r, columns c0..c1 of the output owned by this call.
            let row = unsafe { std::slice::from_raw_parts_mut(at(r, c0), c1 - c0) };
            if !accumulate {
                row.fill(0.0);
            }
        }
        // SAFETY: as above, the whole column range of every row.
        unsafe { finish.apply(at(0, c0), ldc, m, c0, c1 - c0) };
        return;
    }
    let kern = kernel(isa);
    let blocks = m.div_ceil(MC_MAX);
    let mc_full = m.div_ceil(blocks).div_ceil(MR) * MR;
    let finish = (!finish.is_noop()).then_some(finish);
    A_BUF.with(|buf| {
        let mut a = buf.borrow_mut();
        for kb in (0..k).step_by(KC) {
            let kc = KC.min(k - kb);
            let acc = accumulate || kb > 0;
            let last = kb + kc == k;
            for i0 in (0..m).step_by(mc_full) {
                let mc = mc_full.min(m - i0);
                pack_a(x, lda, i0..i0 + mc, kb, kc, &mut a);
                for jp in panels.clone() {
                    let bp = b.panel(kb, jp);
                    // The next panel of this block, fetched a few lines per call.
                    let next = (jp + 1 < panels.end).then(|| b.panel(kb, jp + 1));
                    let col0 = jp * NR;
                    let cols = NR.min(n - col0);
                    for mp in 0..mc.div_ceil(MR) {
                        let rows = MR.min(mc - mp * MR);
                        let ap = &a[mp * MR * kc..(mp + 1) * MR * kc];
                        let pf = next
                            .and_then(|p| p.get(mp * PREFETCH_LINES * 16..))
                            .map_or(std::ptr::null(), |p| p.as_ptr());
                        let c = at(i0 + mp * MR, col0);
                        if rows == MR && cols == NR {
                            // SAFETY: ap holds kc·MR values, bp kc·NR, and the whole MR×NR
                            // tile at c (stride ldc) is inside y and in this call's columns.
                            unsafe { kern(kc, ap.as_ptr(), bp.as_ptr(), c, ldc, acc, pf) };
                            if let (true, Some(f)) = (last, &finish) {
                                // SAFETY: the same tile.
                                unsafe { f.apply(c, ldc, MR, col0, NR) };
                            }
                            continue;
                        }
                        let mut tile = [0.0f32; MR * NR];
                        for r in 0..rows {
                            // SAFETY: rows × cols of the tile at c lie inside y.
                            let out = unsafe { std::slice::from_raw_parts(c.add(r * ldc), cols) };
                            if acc {
                                tile[r * NR..r * NR + cols].copy_from_slice(out);
                            }
                        }
                        // SAFETY: the scratch tile holds MR×NR values at stride NR.
                        unsafe {
                            kern(kc, ap.as_ptr(), bp.as_ptr(), tile.as_mut_ptr(), NR, acc, pf)
                        };
                        if let (true, Some(f)) = (last, &finish) {
                            // SAFETY: the scratch tile, rows × cols of it.
                            unsafe { f.apply(tile.as_mut_ptr(), NR, rows, col0, cols) };
                        }
                        for r in 0..rows {
                            // SAFETY: as above.
                            let out =
                                unsafe { std::slice::from_raw_parts_mut(c.add(r * ldc), cols) };
                            out.copy_from_slice(&tile[r * NR..r * NR + cols]);
                        }
                    }
                }
            }
        }
    });
}
