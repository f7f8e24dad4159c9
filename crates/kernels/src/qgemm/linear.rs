//! The int8 linear layer `y = x·Wᵀ + b` with the f32 [`Epilogue`]s.

use rayon::prelude::*;

use super::kernel::{QIsa, MR, NR_MAX};
use super::quantize::{
    pack_b, packed_a_len, quantize_pack_a, split_pairs, PairResidual, QuantizedWeight, RowQuant,
};
use crate::gemm::{Epilogue, Linear, LinearError};
use crate::shared::SharedRange;
use crate::threads;

/// Where a layer's packed weight lives.
#[derive(Debug, Clone)]
enum Packed {
    /// In this process.
    Own(Vec<i8>),
    /// In a mapped file shared between processes ([`crate::shared::share`]), checked equal to
    /// the layer's own when it moved there.
    Shared(SharedRange),
}

/// A linear layer in int8: `W` quantized per output channel at construction, `x` quantized
/// per row on each call, the product accumulated in `i32`, and dequantization, bias,
/// activation or residual add applied to each tile as it leaves the kernel.
///
/// `y[r][j] = sw[j]·(step[r]·Σₖ q[r][k]·w[j][k] + lo[r]·Σₖ w[j][k]) + b[j]`.
#[derive(Debug, Clone)]
pub struct QLinear {
    out_features: usize,
    in_features: usize,
    isa: QIsa,
    /// The weight packed for `isa`'s tiles ([`pack_b`]).
    packed: Packed,
    /// For [`QIsa::Avx2U7`], the weights [`split_pairs`] took out of `packed`, when the pair
    /// tile runs; `None` where it does not (every other kernel, and AVX2 when the split would
    /// take out more than one weight in [`PAIR_RESIDUAL_MAX`]).
    residual: Option<PairResidual>,
    /// `sw[j]`.
    scale: Vec<f32>,
    /// `sw[j] · Σₖ w[j][k]`.
    offset: Vec<f32>,
    bias: Option<Vec<f32>>,
}

impl QLinear {
    /// Builds the layer for this CPU's kernel ([`QIsa::detect`]).
    pub fn new(weight: QuantizedWeight, bias: Option<Vec<f32>>) -> Result<Self, LinearError> {
        Self::with_isa(weight, bias, QIsa::detect())
    }

    /// Quantizes an f32 `[out, in]` weight and builds the layer.
    pub fn quantize(
        weight: &[f32],
        bias: Option<Vec<f32>>,
        out_features: usize,
        in_features: usize,
    ) -> Result<Self, LinearError> {
        Self::new(
            QuantizedWeight::quantize(weight, out_features, in_features)?,
            bias,
        )
    }

    /// Builds the layer for the kernel of `isa` (tests and benchmarks force each one). An ISA
    /// this CPU lacks falls back to the portable kernel.
    pub fn with_isa(
        weight: QuantizedWeight,
        bias: Option<Vec<f32>>,
        isa: QIsa,
    ) -> Result<Self, LinearError> {
        let (n, k) = (weight.out_features, weight.in_features);
        if let Some(b) = &bias {
            LinearError::check("bias", [n, k], n, b.len())?;
        }
        let isa = if QIsa::available().contains(&isa) {
            isa
        } else {
            QIsa::Portable
        };
        let offset = weight
            .values
            .chunks(k.max(1))
            .zip(&weight.scales)
            .map(|(row, s)| s * row.iter().map(|&v| v as i32).sum::<i32>() as f32)
            .collect();
        let mut packed = pack_b(&weight, isa.nr());
        let residual = match isa {
            QIsa::Avx2U7 => {
                let r = split_pairs(&mut packed, k.div_ceil(4), isa.nr(), isa.act_max());
                // Each weight taken out costs a scalar multiply-add per row; past a few per
                // thousand that outweighs what the pair tile saves.
                if r.len() * PAIR_RESIDUAL_MAX <= weight.values.len() {
                    Some(r)
                } else {
                    r.restore(&mut packed, k.div_ceil(4), isa.nr());
                    None
                }
            }
            _ => None,
        };
        Ok(QLinear {
            out_features: n,
            in_features: k,
            isa,
            packed: Packed::Own(packed),
            residual,
            scale: weight.scales,
            offset,
            bias,
        })
    }

    /// Output features (rows of `W`).
    pub fn out_features(&self) -> usize {
        self.out_features
    }

    /// Input features (columns of `W`).
    pub fn in_features(&self) -> usize {
        self.in_features
    }

    /// The kernel this layer runs.
    pub fn isa(&self) -> QIsa {
        self.isa
    }

    /// Bytes of the layer: packed weight (its own or shared), residual, scales, bias.
    pub fn bytes(&self) -> usize {
        self.packed().len()
            + self.residual.as_ref().map_or(0, PairResidual::bytes)
            + 4 * (2 * self.out_features + self.bias.as_ref().map_or(0, Vec::len))
    }

    /// The tile kernel: [`QIsa::kernel`], but on [`QIsa::Avx2U7`] without a residual the
    /// one-group-at-a-time tile.
    fn kernel(&self) -> super::kernel::QKernelFn {
        #[cfg(target_arch = "x86_64")]
        if self.isa == QIsa::Avx2U7 && self.residual.is_none() {
            return super::x86::kernel_avx2_u7_single;
        }
        self.isa.kernel()
    }

    /// The packed weight: its own, or in the shared file [`crate::shared::share`] moved it to.
    pub fn packed(&self) -> &[i8] {
        match &self.packed {
            Packed::Own(v) => v,
            Packed::Shared(s) => s
                .i8s()
                .expect("shared bytes are checked in bounds when shared"),
        }
    }

    /// Whether the packed weight is read from a shared file.
    pub fn is_shared(&self) -> bool {
        matches!(self.packed, Packed::Shared(_))
    }

    /// Reads the packed weight from `mapped` from now on, freeing this layer's own copy, if
    /// the mapped bytes equal it; returns whether they did (else nothing changes).
    pub(crate) fn share(&mut self, mapped: SharedRange) -> bool {
        let same = mapped.i8s() == Some(self.packed());
        if same {
            self.packed = Packed::Shared(mapped);
        }
        same
    }

    /// Weights moved out of the packed matrix for AVX2's 7-bit kernel ([`split_pairs`]): 0
    /// for the other kernels.
    pub fn residual_len(&self) -> usize {
        self.residual.as_ref().map_or(0, PairResidual::len)
    }

    /// Computes `rows` outputs: `x` is `[rows, in]`, `y` is `[rows, out]`, both row-major.
    ///
    /// The rows are quantized and packed once (split over the workers), then the workers
    /// split the output columns (one image) or the row panels (a batch).
    pub fn forward(&self, x: &[f32], rows: usize, y: &mut [f32], epilogue: Epilogue) {
        self.forward_on(threads::current(), x, rows, y, epilogue);
    }

    /// [`QLinear::forward`] on at most `workers` workers of the pool.
    pub(crate) fn forward_on(
        &self,
        workers: usize,
        x: &[f32],
        rows: usize,
        y: &mut [f32],
        epilogue: Epilogue,
    ) {
        let (k, n) = (self.in_features, self.out_features);
        crate::gemm::assert_rows(x, y, rows, [n, k]);
        if rows == 0 || n == 0 {
            return;
        }
        let nr = self.isa.nr();
        let k4 = k.div_ceil(4);
        let panel_len = k4 * MR * 4 * self.isa.act_bytes();
        let row_panels = rows.div_ceil(MR);
        let col_panels = n.div_ceil(nr);
        let workers = workers.min(row_panels * col_panels);
        let big = rows * n * k >= 1 << 18;
        with_buffers(packed_a_len(rows, k, self.isa), rows, |a, params| {
            let out = Shared(y.as_mut_ptr());
            let run = |a: &[u8], params: &[RowQuant], rp: std::ops::Range<usize>, cp| {
                // SAFETY: y holds rows·n values and is borrowed for the whole call; callers
                // hand disjoint (row panel, column panel) ranges to concurrent calls.
                unsafe { self.compute(a, params, rows, rp, cp, out.ptr(), epilogue) }
            };
            if workers > 1 && big {
                threads::pool().install(|| {
                    // Quantize: a few row panels per task.
                    let per = row_panels.div_ceil(workers * 4).max(1);
                    a.par_chunks_mut(per * panel_len)
                        .zip(params.par_chunks_mut(per * MR))
                        .enumerate()
                        .for_each(|(t, (a, p))| {
                            let start = t * per;
                            let end = (start + per).min(row_panels);
                            quantize_pack_a(x, rows, k, self.isa, start..end, a, p);
                        });
                    let (a, params) = (&*a, &*params);
                    if rows >= ROW_SPLIT {
                        let per = ROW_BLOCK.div_ceil(MR);
                        let tasks = row_panels.div_ceil(per);
                        (0..tasks).into_par_iter().for_each(|t| {
                            let rp = t * per..((t + 1) * per).min(row_panels);
                            run(a, params, rp, 0..col_panels);
                        });
                    } else {
                        let chunks = (workers * CHUNKS_PER_WORKER).min(col_panels);
                        let per = col_panels.div_ceil(chunks);
                        (0..col_panels.div_ceil(per)).into_par_iter().for_each(|t| {
                            let cp = t * per..((t + 1) * per).min(col_panels);
                            run(a, params, 0..row_panels, cp);
                        });
                    }
                });
            } else {
                quantize_pack_a(x, rows, k, self.isa, 0..row_panels, a, params);
                run(a, params, 0..row_panels, 0..col_panels);
            }
        });
    }

    /// Tiles of the row panels `rp` × column panels `cp`, finished into `y`.
    ///
    /// # Safety
    /// `y` must be valid for `rows·n` values, of which no one else touches the ones in these
    /// tiles during the call; `a` and `params` as [`quantize_pack_a`] wrote them for all rows.
    #[allow(clippy::too_many_arguments)]
    unsafe fn compute(
        &self,
        a: &[u8],
        params: &[RowQuant],
        rows: usize,
        rp: std::ops::Range<usize>,
        cp: std::ops::Range<usize>,
        y: *mut f32,
        epilogue: Epilogue,
    ) {
        let (k, n) = (self.in_features, self.out_features);
        let nr = self.isa.nr();
        let k4 = k.div_ceil(4);
        let (a_panel, b_panel) = (k4 * MR * 4 * self.isa.act_bytes(), k4 * nr * 4);
        let kernel = self.kernel();
        let packed = self.packed();
        // What the kernel calls below read (guaranteed by construction, and by the equality
        // check of a shared copy).
        assert!(
            packed.len() >= n.div_ceil(nr) * b_panel,
            "packed weight too short"
        );
        let f32_isa = crate::gemm::detect();
        let mut tile = [0i32; MR * NR_MAX];
        let accumulate = matches!(epilogue, Epilogue::Accumulate);
        // Column panels in blocks that stay in L2 while every row panel passes over them.
        let block = (L2_BYTES / b_panel.max(1)).clamp(1, 16);
        let mut c0 = cp.start;
        while c0 < cp.end {
            let c1 = (c0 + block).min(cp.end);
            for p in rp.clone() {
                let r0 = p * MR;
                let mr = MR.min(rows - r0);
                for jp in c0..c1 {
                    // SAFETY: panel p of a holds a_panel bytes, panel jp of packed b_panel, and
                    // tile MR·NR_MAX ≥ MR·nr values; the kernel matches self.isa, which this
                    // CPU has (checked in with_isa).
                    unsafe {
                        kernel(
                            k4,
                            a.as_ptr().add(p * a_panel),
                            packed.as_ptr().add(jp * b_panel),
                            tile.as_mut_ptr(),
                        )
                    };
                    if let Some(r) = &self.residual {
                        r.apply(jp, &a[p * a_panel..(p + 1) * a_panel], &mut tile, nr);
                    }
                    let j0 = jp * nr;
                    let nc = nr.min(n - j0);
                    let t = QTile {
                        acc: &tile,
                        acc_ld: nr,
                        rows: mr,
                        cols: nc,
                        params: &params[r0..r0 + mr],
                        scale: &self.scale[j0..j0 + nc],
                        offset: &self.offset[j0..j0 + nc],
                        bias: self.bias.as_ref().map(|b| &b[j0..j0 + nc]),
                        accumulate,
                    };
                    // SAFETY: rows r0..r0 + mr and columns j0..j0 + nc are in y and in this
                    // call's tiles (the caller's contract); f32_isa is this CPU's (detect).
                    unsafe { crate::dispatch::dequant(f32_isa, y.add(r0 * n + j0), n, &t) };
                }
                // The activation on this row panel's columns of the block, while they are
                // in cache: one call for up to 16 tiles.
                if let Epilogue::Activate(act) = epilogue {
                    let (j0, j1) = (c0 * nr, (c1 * nr).min(n));
                    // SAFETY: as above, for the block's columns j0..j1 of rows r0..r0 + mr.
                    unsafe {
                        crate::dispatch::bias_act(
                            f32_isa,
                            y.add(r0 * n + j0),
                            n,
                            mr,
                            j1 - j0,
                            None,
                            act,
                        )
                    };
                }
            }
            c0 = c1;
        }
    }
}

/// One int8 tile leaving the kernel, for the epilogue: `rows × cols` sums `acc` (rows
/// `acc_ld` apart, each readable for `cols` rounded up to the f32 lanes), with what turns them
/// into outputs: `(step_r·scale_j)·acc[r][j] + lo_r·offset_j (+ bias_j)`, written or, when
/// `accumulate`, added (a residual).
pub(crate) struct QTile<'a> {
    pub acc: &'a [i32],
    pub acc_ld: usize,
    pub rows: usize,
    pub cols: usize,
    pub params: &'a [RowQuant],
    pub scale: &'a [f32],
    pub offset: &'a [f32],
    pub bias: Option<&'a [f32]>,
    pub accumulate: bool,
}

impl QTile<'_> {
    /// Checks the sizes the epilogues rely on.
    ///
    /// # Panics
    /// If a slice is shorter than the tile needs (`lanes`: the f32 ISA's vector width).
    pub(crate) fn check(&self, lanes: usize) {
        let (rows, cols) = (self.rows, self.cols);
        assert!(self.params.len() >= rows && self.scale.len() >= cols && self.offset.len() >= cols);
        assert!(
            self.bias.is_none_or(|b| b.len() >= cols),
            "bias shorter than a row"
        );
        assert!(
            rows == 0 || self.acc.len() >= (rows - 1) * self.acc_ld + cols.next_multiple_of(lanes)
        );
    }
}

/// The int8 epilogue in plain Rust (what [`crate::dispatch::dequant`] runs for the portable
/// ISA, and the order of operations every ISA keeps) into `c` (rows `ld` apart).
///
/// # Safety
/// `c` must be valid for `t.rows` rows of `t.cols` values `ld` apart.
pub(crate) unsafe fn dequant_portable(c: *mut f32, ld: usize, t: &QTile<'_>) {
    t.check(1);
    for (r, q) in t.params.iter().enumerate().take(t.rows) {
        // SAFETY: row r of c (the contract).
        let out = unsafe { std::slice::from_raw_parts_mut(c.add(r * ld), t.cols) };
        let acc = &t.acc[r * t.acc_ld..r * t.acc_ld + t.cols];
        for (j, (o, &a)) in out.iter_mut().zip(acc).enumerate() {
            let mut v = q.step * t.scale[j] * a as f32 + q.lo * t.offset[j];
            if let Some(b) = t.bias {
                v += b[j];
            }
            *o = if t.accumulate { *o + v } else { v };
        }
    }
}

/// A linear layer in f32 or in int8: what the model holds for each of its GEMMs.
#[derive(Debug, Clone)]
pub enum AnyLinear {
    /// The f32 GEMM.
    F32(Linear),
    /// The int8 GEMM.
    Int8(QLinear),
}

impl AnyLinear {
    /// Computes `rows` outputs (see [`Linear::forward`]).
    pub fn forward(&self, x: &[f32], rows: usize, y: &mut [f32], epilogue: Epilogue) {
        match self {
            AnyLinear::F32(l) => l.forward(x, rows, y, epilogue),
            AnyLinear::Int8(l) => l.forward(x, rows, y, epilogue),
        }
    }

    /// Output features.
    pub fn out_features(&self) -> usize {
        match self {
            AnyLinear::F32(l) => l.out_features(),
            AnyLinear::Int8(l) => l.out_features(),
        }
    }

    /// Input features.
    pub fn in_features(&self) -> usize {
        match self {
            AnyLinear::F32(l) => l.in_features(),
            AnyLinear::Int8(l) => l.in_features(),
        }
    }

    /// Multiply-accumulates for `rows` input rows.
    pub fn macs(&self, rows: usize) -> usize {
        rows * self.in_features() * self.out_features()
    }
}

/// AVX2's 7-bit pair tile runs when [`split_pairs`] takes out at most one weight in this many
/// (the random-weight ViT-B/16 fixture: one in 3,100 to 14,400 per layer).
const PAIR_RESIDUAL_MAX: usize = 1024;

/// Bytes of packed weight a block of column panels may take (about half of a 512 KiB L2).
const L2_BYTES: usize = 256 * 1024;

/// Column chunks per worker when one image's GEMM is split over output columns.
const CHUNKS_PER_WORKER: usize = 8;

/// Rows of a batch handed to a worker at a time (about one 224 × 224 image).
const ROW_BLOCK: usize = 200;

/// From this many rows on, threads split rows instead of output columns.
const ROW_SPLIT: usize = 480;

/// The output shared by the workers of one call, which write disjoint tiles of it.
struct Shared(*mut f32);
// SAFETY: workers only write disjoint tiles through it (see QLinear::forward).
unsafe impl Sync for Shared {}

impl Shared {
    /// The pointer (a method, so closures capture the `Sync` wrapper, not the raw field).
    fn ptr(&self) -> *mut f32 {
        self.0
    }
}

thread_local! {
    static BUFFERS: std::cell::RefCell<(Vec<u8>, Vec<RowQuant>)> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// Runs `f` with this thread's packed-activation and row-parameter buffers, grown to `a_len`
/// bytes and `rows` rows (never shrunk; taken out while in use, so a nested call gets its own).
fn with_buffers<R>(
    a_len: usize,
    rows: usize,
    f: impl FnOnce(&mut [u8], &mut [RowQuant]) -> R,
) -> R {
    let (mut a, mut p) = BUFFERS.with(|b| std::mem::take(&mut *b.borrow_mut()));
    if a.len() < a_len {
        a.resize(a_len, 0);
    }
    if p.len() < rows {
        p.resize(rows, RowQuant::default());
    }
    let r = f(&mut a[..a_len], &mut p[..rows]);
    BUFFERS.with(|b| *b.borrow_mut() = (a, p));
    r
}
