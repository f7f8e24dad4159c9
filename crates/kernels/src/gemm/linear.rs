//! The `y = x·Wᵀ + b` layer with fused epilogues.

use rayon::prelude::*;

use super::kernel::{detect, Isa, MR};
use super::pack::PackedB;
use super::packed::{gemm, gemm_packed_a, pack_a_panels, packed_a_len, with_packed_a, Finish};
use crate::threads;
use crate::Activation;

/// What happens to each output element after the product and the bias.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Epilogue {
    /// `y = x·Wᵀ + b`.
    Store,
    /// `y = act(x·Wᵀ + b)`.
    Activate(Activation),
    /// `y += x·Wᵀ + b`: accumulate into what `y` holds (the residual add).
    Accumulate,
}

/// A weight or bias whose length does not match the stated shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: expected {expected} values for [{out_features}, {in_features}], found {found}")]
pub struct LinearError {
    /// `"weight"`, `"bias"` or `"weight_scale"`.
    pub what: &'static str,
    /// Rows of the weight.
    pub out_features: usize,
    /// Columns of the weight.
    pub in_features: usize,
    /// Values expected.
    pub expected: usize,
    /// Values found.
    pub found: usize,
}

impl LinearError {
    /// `Err` naming `what` of a `[out_features, in_features]` layer unless it holds `expected`
    /// values (`found`): the one shape check every linear constructor makes.
    pub fn check(
        what: &'static str,
        [out_features, in_features]: [usize; 2],
        expected: usize,
        found: usize,
    ) -> Result<(), LinearError> {
        match found == expected {
            true => Ok(()),
            false => Err(LinearError {
                what,
                out_features,
                in_features,
                expected,
                found,
            }),
        }
    }

    /// `Err` unless a `[out_features, in_features]` part can be stacked (q, k, v → qkv) onto
    /// parts of `in_features` inputs.
    pub fn stackable(
        [out_features, part_in]: [usize; 2],
        in_features: usize,
    ) -> Result<(), LinearError> {
        let (expected, found) = (out_features * in_features, out_features * part_in);
        LinearError::check("weight", [out_features, in_features], expected, found)
    }
}

/// The input and output of `rows` rows through a `[out_features, in_features]` layer (every
/// linear's forward checks them).
///
/// # Panics
/// If `x` is not `[rows, in_features]` or `y` not `[rows, out_features]`.
pub(crate) fn assert_rows(
    x: &[f32],
    y: &[f32],
    rows: usize,
    [out_features, in_features]: [usize; 2],
) {
    assert_eq!(x.len(), rows * in_features, "x must be [rows, in_features]");
    assert_eq!(
        y.len(),
        rows * out_features,
        "y must be [rows, out_features]"
    );
}

/// A linear layer `y = x·Wᵀ + b`, `W` given `[out_features, in_features]` as in PyTorch.
#[derive(Debug, Clone)]
pub struct Linear {
    out_features: usize,
    in_features: usize,
    /// `Wᵀ`, packed once for the micro-kernel.
    packed: PackedB,
    bias: Option<Vec<f32>>,
}

impl Linear {
    /// Builds a layer from a PyTorch-layout weight `[out, in]` and an optional bias `[out]`.
    pub fn new(
        weight: Vec<f32>,
        bias: Option<Vec<f32>>,
        out_features: usize,
        in_features: usize,
    ) -> Result<Self, LinearError> {
        let shape = [out_features, in_features];
        let expected = out_features.saturating_mul(in_features);
        LinearError::check("weight", shape, expected, weight.len())?;
        if let Some(b) = &bias {
            LinearError::check("bias", shape, out_features, b.len())?;
        }
        Ok(Linear {
            out_features,
            in_features,
            packed: PackedB::from_out_in(&weight, out_features, in_features),
            bias,
        })
    }

    /// Stacks layers with the same input size along the output axis (q, k, v → qkv).
    /// A missing bias counts as zeros when another part has one.
    pub fn concat(parts: &[Linear]) -> Result<Self, LinearError> {
        let in_features = parts.first().map_or(0, |p| p.in_features);
        let out_features: usize = parts.iter().map(|p| p.out_features).sum();
        let mut weight = Vec::with_capacity(out_features * in_features);
        for p in parts {
            LinearError::stackable([p.out_features, p.in_features], in_features)?;
            weight.extend_from_slice(&p.packed.unpack());
        }
        let bias = parts.iter().any(|p| p.bias.is_some()).then(|| {
            parts
                .iter()
                .flat_map(|p| match &p.bias {
                    Some(b) => b.clone(),
                    None => vec![0.0; p.out_features],
                })
                .collect()
        });
        Linear::new(weight, bias, out_features, in_features)
    }

    /// `Wᵀ` as the micro-kernel reads it.
    pub fn packed(&self) -> &PackedB {
        &self.packed
    }

    pub(crate) fn packed_mut(&mut self) -> &mut PackedB {
        &mut self.packed
    }

    /// A copy packed for `isa`'s kernels (for tests and benchmarks that run another ISA than
    /// the process's without repacking on every call).
    pub fn repacked_for(&self, isa: Isa) -> Self {
        let w = self.packed.unpack();
        Linear {
            packed: PackedB::from_out_in_as(isa.layout(), &w, self.out_features, self.in_features),
            ..self.clone()
        }
    }

    /// Output features (rows of `W`).
    pub fn out_features(&self) -> usize {
        self.out_features
    }

    /// Input features (columns of `W`).
    pub fn in_features(&self) -> usize {
        self.in_features
    }

    /// Multiply-accumulates for `rows` input rows.
    pub fn macs(&self, rows: usize) -> usize {
        rows * self.in_features * self.out_features
    }

    /// Computes `rows` outputs: `x` is `[rows, in]`, `y` is `[rows, out]`, both row-major.
    pub fn forward(&self, x: &[f32], rows: usize, y: &mut [f32], epilogue: Epilogue) {
        self.forward_with(detect(), x, rows, y, epilogue);
    }

    /// [`Linear::forward`] with a chosen micro-kernel (tests and benchmarks force each one).
    /// The weight is packed for the process's ISA ([`detect`]); another ISA whose layout
    /// differs gets a copy repacked for this call (slow: tests and comparisons only).
    ///
    /// With several workers and one image's rows, the workers pack X together and then
    /// split the output columns: each computes a range of `NR`-wide panels for every row, so
    /// each weight panel is read by one worker only. From `ROW_SPLIT` rows on (a batch)
    /// they split the rows instead, each packing only its own.
    pub fn forward_with(
        &self,
        isa: Isa,
        x: &[f32],
        rows: usize,
        y: &mut [f32],
        epilogue: Epilogue,
    ) {
        let (k, n) = (self.in_features, self.out_features);
        assert_rows(x, y, rows, [n, k]);
        let repacked;
        let packed = if self.packed.layout() == isa.layout() {
            &self.packed
        } else {
            repacked = PackedB::from_out_in_as(isa.layout(), &self.packed.unpack(), n, k);
            &repacked
        };
        let kc = packed.layout().kc;
        let panels = n.div_ceil(packed.layout().nr);
        let workers = threads::current().min(panels);
        let accumulate = epilogue == Epilogue::Accumulate;
        let finish = self.finish(epilogue);
        if workers > 1 && rows >= ROW_SPLIT {
            // Many rows (a batch): blocks of about one image's rows go to whichever worker is
            // free, each packing only its own; the weight blocks they share stay in the
            // last-level cache (a worker's blocks stream them once each either way).
            let chunks = rows.div_ceil(ROW_BLOCK).max(workers);
            let block = rows.div_ceil(chunks).div_ceil(MR) * MR;
            threads::pool().install(|| {
                x.par_chunks(block * k)
                    .zip(y.par_chunks_mut(block * n))
                    .for_each(|(x, y)| {
                        let m = y.len() / n;
                        gemm(isa, x, m, packed, y, accumulate, finish);
                    });
            });
        } else if workers > 1 && rows * n * k >= 1 << 18 {
            // One image: the workers pack X together (a few row panels at a time), then each
            // computes ranges of output columns for every row from that one copy.
            let need = packed_a_len(rows, k);
            let row_panels = rows.div_ceil(MR);
            let out = Shared(y.as_mut_ptr());
            // A few column chunks per worker, so that one delayed worker (a shared machine)
            // is balanced by the others stealing its chunks.
            let chunks = (workers * CHUNKS_PER_WORKER).min(panels);
            let (pr, pc) = (
                row_panels.div_ceil(workers * CHUNKS_PER_WORKER),
                panels.div_ceil(chunks),
            );
            with_packed_a(need, |a| {
                let a_ptr = Shared(a.as_mut_ptr());
                threads::pool().install(|| {
                    (0..row_panels.div_ceil(pr)).into_par_iter().for_each(|w| {
                        let a_ptr = &a_ptr;
                        let mine = (w * pr).min(row_panels)..((w + 1) * pr).min(row_panels);
                        // SAFETY: a holds packed_a_len(rows, k) values; the workers' panel ranges
                        // are disjoint and nothing reads a until this phase has joined.
                        unsafe { pack_a_panels(x, k, rows, k, kc, mine, a_ptr.0) };
                    });
                    let a = &a_ptr;
                    // SAFETY: a holds packed_a_len(rows, k) values, all written above; from here
                    // on it is only read.
                    let a = unsafe { std::slice::from_raw_parts(a.0, need) };
                    (0..chunks).into_par_iter().for_each(|w| {
                        let cols = (w * pc).min(panels)..((w + 1) * pc).min(panels);
                        let out = &out;
                        // SAFETY: y holds rows·n values; the column ranges are disjoint, so no two
                        // workers write the same value, and y is borrowed for the whole scope.
                        unsafe {
                            gemm_packed_a(
                                isa,
                                a,
                                rows,
                                0..row_panels,
                                packed,
                                out.0,
                                n,
                                accumulate,
                                finish,
                                cols,
                            )
                        };
                    });
                });
            });
        } else {
            gemm(isa, x, rows, packed, y, accumulate, finish);
        }
    }

    /// The bias and activation of `epilogue`, applied to each tile as it is finished.
    fn finish(&self, epilogue: Epilogue) -> Finish<'_> {
        Finish {
            bias: self.bias.as_deref(),
            act: match epilogue {
                Epilogue::Activate(act) => Some(act),
                _ => None,
            },
        }
    }
}

/// Column chunks per worker when one image's GEMM is split over output columns.
const CHUNKS_PER_WORKER: usize = 8;

/// Rows of a batch handed to a worker at a time (about one 224 × 224 image).
const ROW_BLOCK: usize = 200;

/// From this many rows on, threads split rows instead of output columns.
const ROW_SPLIT: usize = 480;

/// A buffer shared by the workers of one call, which write disjoint parts of it.
struct Shared(*mut f32);
// SAFETY: workers only write disjoint parts through it, and read only after the writing
// phase has joined (see forward_with).
unsafe impl Sync for Shared {}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic `x` `[m, k]` and weight `[n, k]` with values in [−1, 1.5].
    fn inputs(m: usize, k: usize, n: usize) -> (Vec<f32>, Vec<f32>) {
        let x = (0..m * k)
            .map(|i| ((i * 37) % 19) as f32 / 7.0 - 1.0)
            .collect();
        let w = (0..n * k)
            .map(|i| ((i * 11) % 23) as f32 / 9.0 - 1.0)
            .collect();
        (x, w)
    }

    fn naive(x: &[f32], w: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f64> {
        let mut y = vec![0.0f64; m * n];
        for i in 0..m {
            for j in 0..n {
                let dot: f64 = (0..k)
                    .map(|p| x[i * k + p] as f64 * w[j * k + p] as f64)
                    .sum();
                y[i * n + j] = dot + b[j] as f64;
            }
        }
        y
    }

    #[test]
    fn matches_naive_with_each_epilogue() {
        let (m, k, n) = (130, 33, 17);
        let (x, w) = inputs(m, k, n);
        let b: Vec<f32> = (0..n).map(|i| i as f32 / 10.0).collect();
        let lin = Linear::new(w.clone(), Some(b.clone()), n, k).unwrap();
        let want = naive(&x, &w, &b, m, k, n);

        let mut y = vec![f32::NAN; m * n];
        lin.forward(&x, m, &mut y, Epilogue::Store);
        for (g, w) in y.iter().zip(&want) {
            assert!((*g as f64 - w).abs() < 1e-4);
        }

        let mut y = vec![1.0; m * n];
        lin.forward(&x, m, &mut y, Epilogue::Accumulate);
        for (g, w) in y.iter().zip(&want) {
            assert!((*g as f64 - (w + 1.0)).abs() < 1e-4);
        }

        lin.forward(&x, m, &mut y, Epilogue::Activate(Activation::Relu));
        for (g, w) in y.iter().zip(&want) {
            assert!((*g as f64 - w.max(0.0)).abs() < 1e-4);
        }
    }

    /// Every ISA this CPU runs: the portable kernels, the emulated sixteen lanes (the
    /// AVX-512 code on plain arrays), AVX2 and AVX-512 where present.
    fn isas() -> Vec<Isa> {
        Isa::available()
    }

    /// Says which kernels the GEMM tests of this run actually exercised (`--nocapture`).
    #[test]
    fn gemm_tests_run_on_every_available_isa() {
        let ran: Vec<_> = isas().iter().map(|i| i.name()).collect();
        let missing: Vec<_> = Isa::ALL
            .iter()
            .filter(|i| !i.supported())
            .map(|i| i.name())
            .collect();
        eprintln!(
            "GEMM kernels tested on: {}; not on this CPU: {}",
            ran.join(", "),
            if missing.is_empty() {
                "none".to_string()
            } else {
                missing.join(", ")
            }
        );
        assert!(ran.contains(&"emu16") && ran.contains(&"portable"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Both micro-kernels against a naive f64 product, for random shapes (m, n or k of 1,
        /// sizes that are not multiples of the tile or of KC) and every epilogue.
        #[test]
        fn packed_gemm_matches_f64_reference(
            m in 1usize..300, k in 1usize..300, n in 1usize..50, seed in 0u64..1000, epi in 0usize..3,
        ) {
            let mut s = seed.wrapping_add(1);
            let mut rnd = || {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            };
            let x: Vec<f32> = (0..m * k).map(|_| rnd()).collect();
            let w: Vec<f32> = (0..n * k).map(|_| rnd()).collect();
            let b: Vec<f32> = (0..n).map(|_| rnd()).collect();
            let start: Vec<f32> = (0..m * n).map(|_| rnd()).collect();
            let lin = Linear::new(w.clone(), Some(b.clone()), n, k).unwrap();
            let want = naive(&x, &w, &b, m, k, n);
            let epilogue = [Epilogue::Store, Epilogue::Accumulate, Epilogue::Activate(Activation::Gelu)][epi];
            for isa in isas() {
                let mut y = start.clone();
                lin.forward_with(isa, &x, m, &mut y, epilogue);
                for i in 0..m * n {
                    let w = match epilogue {
                        Epilogue::Store => want[i],
                        Epilogue::Accumulate => want[i] + start[i] as f64,
                        Epilogue::Activate(a) => a.apply(want[i] as f32) as f64,
                    };
                    let tol = 1e-5 * (k as f64).sqrt() * (1.0 + w.abs());
                    proptest::prop_assert!((y[i] as f64 - w).abs() <= tol, "{isa:?} {epilogue:?} [{i}]: {} vs {w}", y[i]);
                }
            }
        }
    }

    /// Against `matrixmultiply` (the reference crate) at ViT-B shapes: 197 tokens, the MLP's
    /// 3072-deep reduction, and a batch's row split.
    #[test]
    fn matches_matrixmultiply_at_vit_shapes() {
        crate::threads::init(2);
        for (m, k, n) in [(197, 768, 160), (37, 3072, 48), (600, 96, 70)] {
            let (x, w) = inputs(m, k, n);
            let mut want = vec![0.0f32; m * n];
            // SAFETY: x is m×k, w (n×k) is read as its k×n transpose, want is m×n.
            unsafe {
                matrixmultiply::sgemm(
                    m,
                    k,
                    n,
                    1.0,
                    x.as_ptr(),
                    k as isize,
                    1,
                    w.as_ptr(),
                    1,
                    k as isize,
                    0.0,
                    want.as_mut_ptr(),
                    n as isize,
                    1,
                )
            };
            let lin = Linear::new(w, None, n, k).unwrap();
            for isa in isas() {
                let mut y = vec![f32::NAN; m * n];
                lin.forward_with(isa, &x, m, &mut y, Epilogue::Store);
                for (g, w) in y.iter().zip(&want) {
                    assert!((g - w).abs() <= 1e-5 * (k as f32).sqrt() * (1.0 + w.abs()));
                }
            }
        }
    }

    #[test]
    fn row_split_for_batches_matches_naive() {
        let (m, k, n) = (ROW_SPLIT + 37, 70, 45);
        let (x, w) = inputs(m, k, n);
        let b: Vec<f32> = (0..n).map(|i| i as f32 / 10.0).collect();
        let lin = Linear::new(w.clone(), Some(b.clone()), n, k).unwrap();
        let want = naive(&x, &w, &b, m, k, n);
        crate::threads::init(2);
        for isa in isas() {
            let mut y = vec![1.0; m * n];
            lin.forward_with(isa, &x, m, &mut y, Epilogue::Accumulate);
            for (g, w) in y.iter().zip(&want) {
                assert!((*g as f64 - (w + 1.0)).abs() < 1e-4);
            }
        }
    }

    #[test]
    fn packing_round_trips_in_every_layout() {
        let (n, k) = (137, 600);
        let w: Vec<f32> = (0..n * k).map(|i| i as f32).collect();
        for isa in Isa::ALL {
            assert_eq!(PackedB::from_out_in_as(isa.layout(), &w, n, k).unpack(), w);
        }
    }

    /// A reused buffer (as attention keeps one per worker) packs a smaller matrix exactly as
    /// a fresh one does: stale values of the larger one never leak into the padding.
    #[test]
    fn repacking_a_smaller_matrix_matches_a_fresh_pack() {
        let mut reused = PackedB::default();
        let big: Vec<f32> = (0..40 * 600).map(|i| i as f32 + 1.0).collect();
        reused.pack_strided(&big, 600, 40, 40, 1);
        let small: Vec<f32> = (0..7 * 19).map(|i| -(i as f32)).collect();
        for (rs, cs) in [(19, 1), (1, 7)] {
            reused.pack_strided(&small, 7, 19, rs, cs);
            let mut fresh = PackedB::default();
            fresh.pack_strided(&small, 7, 19, rs, cs);
            for jp in 0..19usize.div_ceil(reused.layout().nr) {
                assert_eq!(reused.panel(0, jp), fresh.panel(0, jp));
            }
        }
    }

    #[test]
    fn concat_stacks_rows_and_fills_missing_bias() {
        let a = Linear::new(vec![1.0, 2.0], Some(vec![5.0]), 1, 2).unwrap();
        let b = Linear::new(vec![3.0, 4.0], None, 1, 2).unwrap();
        let ab = Linear::concat(&[a, b]).unwrap();
        let mut y = vec![0.0; 2];
        ab.forward(&[1.0, 1.0], 1, &mut y, Epilogue::Store);
        assert_eq!(y, vec![8.0, 7.0]);
    }

    #[test]
    fn wrong_weight_length_is_an_error() {
        let err = Linear::new(vec![0.0; 5], None, 2, 3).unwrap_err();
        assert_eq!(
            err.to_string(),
            "weight: expected 6 values for [2, 3], found 5"
        );
    }
}
