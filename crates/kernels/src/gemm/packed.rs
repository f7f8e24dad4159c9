//! The cache-blocked driver: `Y (+)= X·B` with `B` packed once, `X` packed per call.

use std::cell::RefCell;

use super::kernel::{kernel, Isa, MR, NR};
use super::pack::{pack_a, PackedB, KC};

/// Rows of X packed together (a multiple of `MR`): `MC × KC` floats stay in L2.
const MC: usize = 120;

thread_local! {
    static A_BUF: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// `y[m, n] = (accumulate ? y : 0) + x[m, k] · B` for all rows of `x`.
pub fn gemm(isa: Isa, x: &[f32], m: usize, b: &PackedB, y: &mut [f32], accumulate: bool) {
    assert_eq!(y.len(), m * b.n(), "y must be [m, n]");
    let panels = b.n().div_ceil(NR);
    // SAFETY: y is a unique borrow of exactly m·n values.
    unsafe { gemm_panels(isa, x, m, b, y.as_mut_ptr(), accumulate, 0..panels) };
}

/// [`gemm`] restricted to the output columns of panels `panels` (`NR` columns each), so that
/// threads can share one output: different panel ranges write disjoint columns.
///
/// # Safety
/// `y` must point to `m · b.n()` writable values, and no other thread may touch the columns of
/// `panels` while this runs.
pub unsafe fn gemm_panels(
    isa: Isa,
    x: &[f32],
    m: usize,
    b: &PackedB,
    y: *mut f32,
    accumulate: bool,
    panels: std::ops::Range<usize>,
) {
    let (k, n) = (b.k(), b.n());
    assert_eq!(x.len(), m * k, "x must be [m, k]");
    assert!(
        panels.end <= n.div_ceil(NR),
        "panel range past the last panel"
    );
    if m == 0 || n == 0 || panels.is_empty() {
        return;
    }
    let at = |row: usize, col: usize| y.wrapping_add(row * n + col);
    if k == 0 {
        if !accumulate {
            for r in 0..m {
                let c0 = panels.start * NR;
                let c1 = (panels.end * NR).min(n);
                // SAFETY: row r, columns c0..c1 of the m×n output owned by this call.
                unsafe { std::slice::from_raw_parts_mut(at(r, c0), c1 - c0) }.fill(0.0);
            }
        }
        return;
    }
    let kern = kernel(isa);
    A_BUF.with(|buf| {
        let mut a = buf.borrow_mut();
        for kb in (0..k).step_by(KC) {
            let kc = KC.min(k - kb);
            let acc = accumulate || kb > 0;
            for i0 in (0..m).step_by(MC) {
                let mc = MC.min(m - i0);
                pack_a(x, k, i0..i0 + mc, kb, kc, &mut a);
                for jp in panels.clone() {
                    let bp = b.panel(kb, jp);
                    let cols = NR.min(n - jp * NR);
                    for mp in 0..mc.div_ceil(MR) {
                        let rows = MR.min(mc - mp * MR);
                        let ap = &a[mp * MR * kc..(mp + 1) * MR * kc];
                        let c = at(i0 + mp * MR, jp * NR);
                        if rows == MR && cols == NR {
                            // SAFETY: ap holds kc·MR values, bp kc·NR, and the whole MR×NR
                            // tile at c (stride n) is inside y and in this call's columns.
                            unsafe { kern(kc, ap.as_ptr(), bp.as_ptr(), c, n, acc) };
                        } else {
                            let mut tile = [0.0f32; MR * NR];
                            for r in 0..rows {
                                // SAFETY: rows × cols of the tile at c lie inside y.
                                let out =
                                    unsafe { std::slice::from_raw_parts_mut(c.add(r * n), cols) };
                                if acc {
                                    tile[r * NR..r * NR + cols].copy_from_slice(out);
                                }
                            }
                            // SAFETY: the scratch tile holds MR×NR values at stride NR.
                            unsafe {
                                kern(kc, ap.as_ptr(), bp.as_ptr(), tile.as_mut_ptr(), NR, acc)
                            };
                            for r in 0..rows {
                                // SAFETY: as above.
                                let out =
                                    unsafe { std::slice::from_raw_parts_mut(c.add(r * n), cols) };
                                out.copy_from_slice(&tile[r * NR..r * NR + cols]);
                            }
                        }
                    }
                }
            }
        }
    });
}
