//! The cache-blocked driver: `Y (+)= X·B` with `B` packed once, `X` packed once per call
//! (shared by all the workers of that call), and the bias and activation applied to each tile
//! as soon as it is final, while it is in L1.

use std::cell::RefCell;

use super::kernel::{kernel, Isa, Layout, MR, NR_MAX, PREFETCH_LINES};
use super::pack::{pack_a, PackedB};
use crate::Activation;
use std::ops::Range;

/// Most rows of X packed together (a multiple of `MR`): `MC_MAX × KC` floats (252 KB) stay
/// in a Zen 3 core's 512 KB L2, so one block covers a whole image (197 tokens) and each
/// weight panel streams from memory once per depth block.
const MC_MAX: usize = 252;

thread_local! {
    /// The packed X of the GEMMs this thread starts, kept between calls.
    static A_BUF: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on this thread's packed-X buffer, at least `len` values long. The buffer is grown
/// and never shrunk (regrowing would clear the growth each time a 3072-deep GEMM follows a
/// 768-deep one), and taken out while `f` runs, so a nested call gets a fresh one.
pub(super) fn with_packed_a<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    let mut a = A_BUF.with(|buf| std::mem::take(&mut *buf.borrow_mut()));
    if a.len() < len {
        a.resize(len, 0.0);
    }
    let result = f(&mut a[..len]);
    A_BUF.with(|buf| *buf.borrow_mut() = a);
    result
}

/// Values of `X` (`m × k`) packed: for each depth block, all `⌈m/MR⌉` row panels.
pub fn packed_a_len(m: usize, k: usize) -> usize {
    m.div_ceil(MR) * MR * k
}

/// Where panel `g` of the depth block starting at `kb` (blocks `kc` deep) begins in packed X.
fn a_offset(m: usize, k: usize, kc: usize, kb: usize, g: usize) -> usize {
    kb * m.div_ceil(MR) * MR + g * MR * kc.min(k - kb)
}

/// Packs the row panels `panels` (rows `g·MR ..`) of `x` (`m × k`, row `i` at `x[i·lda]`),
/// for every depth block (`kc` deep: the [`Layout`] of the packed B it will meet), into
/// `out`, which holds all of packed X ([`packed_a_len`]).
///
/// # Safety
/// `out` must be valid for writes of `packed_a_len(m, k)` values, and no one else may read or
/// write the parts of panels `panels` while this runs.
pub unsafe fn pack_a_panels(
    x: &[f32],
    lda: usize,
    m: usize,
    k: usize,
    kc: usize,
    panels: Range<usize>,
    out: *mut f32,
) {
    let kc_max = kc;
    assert!(kc_max > 0, "blocks must be at least one deep");
    assert!(
        panels.end <= m.div_ceil(MR),
        "panel range past the last row"
    );
    if panels.is_empty() || k == 0 {
        return;
    }
    assert!(
        lda >= k && x.len() >= (m - 1) * lda + k,
        "x must hold m rows of k values at stride lda"
    );
    let rows = panels.start * MR..(panels.end * MR).min(m);
    for kb in (0..k).step_by(kc_max) {
        let kc = kc_max.min(k - kb);
        let len = panels.len() * MR * kc;
        // SAFETY: the panels' part of this depth block lies inside out (a_offset of the last
        // panel plus its MR·kc values ≤ packed_a_len) and is this caller's alone.
        let dst = unsafe {
            std::slice::from_raw_parts_mut(out.add(a_offset(m, k, kc_max, kb, panels.start)), len)
        };
        pack_a(x, lda, rows.clone(), kb, kc, dst);
    }
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
    /// `isa` must be supported by this CPU.
    unsafe fn apply(
        &self,
        isa: Isa,
        c: *mut f32,
        ldc: usize,
        rows: usize,
        col0: usize,
        cols: usize,
    ) {
        let bias = self.bias.map(|b| &b[col0..col0 + cols]);
        let act = self.act.unwrap_or(Activation::Identity);
        if isa != Isa::Portable {
            // SAFETY: isa is supported (the caller's contract); the tile is the caller's.
            unsafe { crate::dispatch::bias_act(isa, c, ldc, rows, cols, bias, act) };
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
    assert_eq!(x.len(), m * b.k(), "x must be [m, k]");
    assert_eq!(y.len(), m * b.n(), "y must be [m, n]");
    let panels = b.n().div_ceil(b.layout().nr);
    // SAFETY: y is a unique borrow of exactly m·n values.
    unsafe {
        gemm_strided(
            isa,
            x,
            b.k(),
            m,
            b,
            y.as_mut_ptr(),
            b.n(),
            accumulate,
            finish,
            0..panels,
        )
    };
}

/// The general form on one thread: row `i` of `X` starts at `x[i·lda]`, row `i` of `Y` at
/// `y + i·ldc`, so `X` and `Y` may be column slices of wider matrices (attention's per-head
/// views); only the output columns of panels `panels` are computed.
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
    panels: Range<usize>,
) {
    let k = b.k();
    let row_panels = 0..m.div_ceil(MR);
    with_packed_a(packed_a_len(m, k), |a| {
        // SAFETY: a holds packed_a_len(m, k) values and is this call's own; y as the caller
        // guarantees.
        unsafe {
            let kc = b.layout().kc;
            pack_a_panels(x, lda, m, k, kc, row_panels.clone(), a.as_mut_ptr());
            gemm_packed_a(isa, a, m, row_panels, b, y, ldc, accumulate, finish, panels);
        }
    })
}

/// The compute of one worker: rows of row panels `rows` (`MR` rows each) and columns of
/// column panels `cols` (`nr` each), from X packed by [`pack_a_panels`] (`a`, for `m` rows,
/// in the depth blocks of `b`'s layout, which must be `isa`'s).
///
/// # Safety
/// For every row `i` of `rows` (below `m`), the values `y + i·ldc + j` for the columns `j`
/// of `cols` (below `b.n()`) must be writable and touched by no one else while this runs.
#[allow(clippy::too_many_arguments)]
pub unsafe fn gemm_packed_a(
    isa: Isa,
    a: &[f32],
    m: usize,
    rows: Range<usize>,
    b: &PackedB,
    y: *mut f32,
    ldc: usize,
    accumulate: bool,
    finish: Finish,
    cols: Range<usize>,
) {
    let (k, n) = (b.k(), b.n());
    let Layout { nr, kc: kc_max } = b.layout();
    assert_eq!(
        b.layout(),
        isa.layout(),
        "B must be packed for {isa}'s kernel"
    );
    assert!(isa.supported(), "{isa} kernels on a CPU without them");
    assert_eq!(a.len(), packed_a_len(m, k), "a must be X packed");
    assert!(rows.end <= m.div_ceil(MR), "row panels past the last row");
    assert!(
        cols.end <= n.div_ceil(nr),
        "column panels past the last column"
    );
    if let Some(bias) = finish.bias {
        assert_eq!(bias.len(), n, "bias must have n values");
    }
    if rows.is_empty() || cols.is_empty() {
        return;
    }
    let at = |row: usize, col: usize| y.wrapping_add(row * ldc + col);
    if k == 0 {
        let (c0, c1) = (cols.start * nr, (cols.end * nr).min(n));
        let (r0, r1) = (rows.start * MR, (rows.end * MR).min(m));
        for r in r0..r1 {
            // SAFETY: row r, columns c0..c1 of the output owned by this call.
            let row = unsafe { std::slice::from_raw_parts_mut(at(r, c0), c1 - c0) };
            if !accumulate {
                row.fill(0.0);
            }
        }
        if !finish.is_noop() {
            // SAFETY: as above, the whole column range of every row.
            unsafe { finish.apply(isa, at(r0, c0), ldc, r1 - r0, c0, c1 - c0) };
        }
        return;
    }
    let kern = kernel(isa);
    let finish = (!finish.is_noop()).then_some(finish);
    // What is left of the finish once the kernel has added the bias (full tiles).
    let act_only = finish
        .map(|f| Finish { bias: None, ..f })
        .filter(|f| !f.is_noop());
    // Row panels per block: MC_MAX rows at most, in blocks of equal size.
    let blocks = rows.len().div_ceil(MC_MAX / MR);
    let per_block = rows.len().div_ceil(blocks);
    for kb in (0..k).step_by(kc_max) {
        let kc = kc_max.min(k - kb);
        let acc = accumulate || kb > 0;
        let last = kb + kc == k;
        for g0 in rows.clone().step_by(per_block) {
            let block = g0..(g0 + per_block).min(rows.end);
            for jp in cols.clone() {
                let bp = b.panel(kb, jp);
                // The next panel of this block, fetched a few lines per call.
                let next = (jp + 1 < cols.end).then(|| b.panel(kb, jp + 1));
                let col0 = jp * nr;
                let ncols = nr.min(n - col0);
                for (i, g) in block.clone().enumerate() {
                    let nrows = MR.min(m - g * MR);
                    let ap = &a[a_offset(m, k, kc_max, kb, g)..][..MR * kc];
                    let pf = next
                        .and_then(|p| p.get(i * PREFETCH_LINES * 16..))
                        .map_or(std::ptr::null(), |p| p.as_ptr());
                    let c = at(g * MR, col0);
                    if nrows == MR && ncols == nr {
                        // On the last pass a full tile gets its bias in the kernel's registers
                        // and only its activation afterwards.
                        let bias = match (last, finish.and_then(|f| f.bias)) {
                            (true, Some(b)) => b[col0..].as_ptr(),
                            _ => std::ptr::null(),
                        };
                        // SAFETY: ap holds kc·MR values, bp kc·nr, the bias (if any) nr values
                        // from col0 (n ≥ col0 + nr), and the whole MR×nr tile at c (stride
                        // ldc) is inside y and in this call's rows and columns.
                        unsafe {
                            kern(kc, ap.as_ptr(), bp.as_ptr(), c, ldc, acc, pf, bias);
                            if let (true, Some(act)) = (last, &act_only) {
                                act.apply(isa, c, ldc, MR, col0, nr);
                            }
                        }
                        continue;
                    }
                    let mut tile = [0.0f32; MR * NR_MAX];
                    if acc {
                        for r in 0..nrows {
                            // SAFETY: nrows × ncols of the tile at c lie inside y.
                            let out = unsafe { std::slice::from_raw_parts(c.add(r * ldc), ncols) };
                            tile[r * nr..r * nr + ncols].copy_from_slice(out);
                        }
                    }
                    // SAFETY: as above, into the scratch tile of MR×nr values at stride nr.
                    unsafe {
                        let t = tile.as_mut_ptr();
                        kern(
                            kc,
                            ap.as_ptr(),
                            bp.as_ptr(),
                            t,
                            nr,
                            acc,
                            pf,
                            std::ptr::null(),
                        )
                    };
                    if let (true, Some(f)) = (last, &finish) {
                        // SAFETY: the scratch tile, nrows × ncols of it.
                        unsafe { f.apply(isa, tile.as_mut_ptr(), nr, nrows, col0, ncols) };
                    }
                    for r in 0..nrows {
                        // SAFETY: as above.
                        let out = unsafe { std::slice::from_raw_parts_mut(c.add(r * ldc), ncols) };
                        out.copy_from_slice(&tile[r * nr..r * nr + ncols]);
                    }
                }
            }
        }
    }
}
