//! The horizontal pass of an image resize in fixed point, over interleaved RGB bytes: the
//! inner loop of Pillow's and torch's separable resize (the image crate holds their taps).
//!
//! Output pixel `i` of a row is, per channel `c`,
//! `clamp((round + Σ_k row[3·(start_i + k) + c] · w_i[k]) >> shift, 0, 255)`, summed exactly
//! in `i32` (wrapping; the callers' weights keep `255 · Σ|w|` below 2^31).
//!
//! The sum is taken four source pixels (a *step*) at a time as `i16` multiply-adds of pixel
//! pairs (`vpmaddwd`): the step's twelve bytes become sixteen `i16` lanes
//! `[R0 R1 G0 G1 B0 B1 0 0 | R2 R3 G2 G3 B2 B3 0 0]` (one byte shuffle of the sixteen bytes
//! loaded into both halves), multiplied by `[w0 w1 w0 w1 w0 w1 0 0 | w2 w3 w2 w3 w2 w3 0 0]`
//! and added pairwise into eight `i32` lanes `[R G B 0 | R G B 0]`, which hold each channel in
//! fixed lanes: the two halves added give the three sums. Weights past a position's taps are
//! zero.
//!
//! `i16` weights (torch's) take one multiply-add per step. Wider ones (Pillow's 22-bit) are
//! split as `w = hi · 2^11 + lo` with `hi = w >> 11` and `lo = w & 0x7ff`, both `i16`: two
//! multiply-adds per step into two sums, joined as `(Σhi << 11) + Σlo` — the same `i32` sum,
//! exactly (wrapping arithmetic is a ring).
//!
//! The steps run in plain Rust for any CPU (lane for lane what the
//! instructions do) and with AVX2 intrinsics where the CPU has AVX2 (the f32 kernels' ISA is
//! AVX2 or AVX-512). Tests check both against the definition.

/// Source pixels per step.
const STEP: usize = 4;
/// Bytes a step loads: its twelve, plus four it ignores.
const LOAD: usize = 16;
/// `i16` weight lanes per step (per part).
const LANES: usize = 16;
/// The split of weights wider than `i16`.
const SPLIT: u32 = 11;

/// Byte index of lane `l`'s pixel value in a step's sixteen loaded bytes, or `None` for the
/// zero lanes: `[R0 R1 G0 G1 B0 B1 · · | R2 R3 G2 G3 B2 B3 · ·]`.
const fn source_byte(l: usize) -> Option<usize> {
    let (half, k) = (l / 8, l % 8);
    if k >= 6 {
        None
    } else {
        // Pixel 2·half + k % 2, channel k / 2.
        Some(3 * (2 * half + k % 2) + k / 2)
    }
}

/// The taps of one axis, laid out for [`RgbTaps::resample_row`].
#[derive(Debug, Clone)]
pub struct RgbTaps {
    /// Per output pixel, the byte offset of its first source pixel.
    starts: Vec<usize>,
    /// Per output pixel, its range of `weights` (whole steps, `parts` × [`LANES`] each).
    offsets: Vec<usize>,
    /// Per step, `parts` runs of [`LANES`] weights in the lane order above (high part first).
    weights: Vec<i16>,
    /// 1 when every weight fits `i16`, else 2 (`hi`, `lo`).
    parts: usize,
    /// Bytes a row must have: up to the last tap of any position.
    row_bytes: usize,
    round: i32,
    shift: u32,
}

impl RgbTaps {
    /// Taps from per-output-pixel `(first source pixel, weights)`; each output value is
    /// `clamp((round + Σ v·w) >> shift, 0, 255)`.
    ///
    /// # Panics
    /// If a weight is outside `±2^26` (the split's `hi` would not fit `i16`).
    pub fn new<'a>(
        positions: impl IntoIterator<Item = (usize, &'a [i32])>,
        round: i32,
        shift: u32,
    ) -> RgbTaps {
        let positions: Vec<(usize, &[i32])> = positions.into_iter().collect();
        let narrow = positions
            .iter()
            .all(|(_, w)| w.iter().all(|&w| i16::try_from(w).is_ok()));
        let parts = if narrow { 1 } else { 2 };
        let (mut starts, mut offsets, mut weights) = (Vec::new(), vec![0], Vec::new());
        let mut row_bytes = 0;
        for (start, w) in positions {
            starts.push(3 * start);
            row_bytes = row_bytes.max(3 * (start + w.len()));
            for step in w.chunks(STEP) {
                for part in 0..parts {
                    let value = |k: usize| -> i16 {
                        let w = step.get(k).copied().unwrap_or(0);
                        let v = match (parts, part) {
                            (1, _) => w,
                            (_, 0) => w >> SPLIT,
                            _ => w & ((1 << SPLIT) - 1),
                        };
                        i16::try_from(v).expect("weights within ±2^26")
                    };
                    weights.extend((0..LANES).map(|l| match source_byte(l) {
                        Some(_) => value(2 * (l / 8) + l % 2),
                        None => 0,
                    }));
                }
            }
            offsets.push(weights.len());
        }
        RgbTaps {
            starts,
            offsets,
            weights,
            parts,
            row_bytes,
            round,
            shift,
        }
    }

    /// Output pixels per row.
    pub fn outputs(&self) -> usize {
        self.starts.len()
    }

    /// Resamples one row: `row` holds the source row's `3·width` bytes, `out` gets
    /// `3·outputs()`.
    ///
    /// # Panics
    /// If `out` has another length, or a position's taps read past `row`.
    pub fn resample_row(&self, row: &[u8], out: &mut [u8]) {
        assert_eq!(
            out.len(),
            3 * self.outputs(),
            "out must hold 3·outputs() bytes"
        );
        assert!(
            row.len() >= self.row_bytes,
            "the taps read {} bytes of a {}-byte row",
            self.row_bytes,
            row.len()
        );
        #[cfg(target_arch = "x86_64")]
        if matches!(
            crate::gemm::detect(),
            crate::gemm::Isa::Avx2Fma | crate::gemm::Isa::Avx512
        ) {
            // SAFETY: detect() returns only ISAs this CPU supports, and both have AVX2.
            return unsafe {
                match self.parts {
                    1 => self.resample_row_avx2::<1>(row, out),
                    _ => self.resample_row_avx2::<2>(row, out),
                }
            };
        }
        self.resample_row_generic(row, out);
    }

    /// [`RgbTaps::resample_row`] on AVX2: per step `vbroadcasti128`, `vpshufb`, then per
    /// part `vpmaddwd`, `vpaddd` (`PARTS` is `self.parts`, a constant so that the sums stay
    /// in registers).
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn resample_row_avx2<const PARTS: usize>(&self, row: &[u8], out: &mut [u8]) {
        use std::arch::x86_64::*;
        debug_assert_eq!(PARTS, self.parts);
        let mut order = [-128i8; 32];
        for (l, b) in (0..LANES).map(|l| (l, source_byte(l))) {
            if let Some(b) = b {
                // In-lane: the high half reads its own copy of the same sixteen bytes.
                order[2 * l] = b as i8;
            }
        }
        // SAFETY: order holds 32 bytes.
        let order = unsafe { _mm256_loadu_si256(order.as_ptr().cast()) };
        let round = _mm_set1_epi32(self.round);
        let shift = _mm_cvtsi32_si128(self.shift as i32);
        for (i, px) in out.chunks_exact_mut(3).enumerate() {
            let mut acc = [_mm256_setzero_si256(); PARTS];
            self.steps::<PARTS>(row, i, |bytes, w| {
                // SAFETY: bytes holds LOAD = 16 bytes, w PARTS × LANES weights (steps passes
                // whole steps), so each 32-byte weight load is inside it.
                unsafe {
                    let v = _mm256_broadcastsi128_si256(_mm_loadu_si128(bytes.cast()));
                    let v = _mm256_shuffle_epi8(v, order);
                    for (p, acc) in acc.iter_mut().enumerate() {
                        let w = _mm256_loadu_si256(w.add(p * LANES).cast());
                        *acc = _mm256_add_epi32(*acc, _mm256_madd_epi16(v, w));
                    }
                }
            });
            let sum = if PARTS == 1 {
                acc[0]
            } else {
                _mm256_add_epi32(
                    _mm256_slli_epi32::<{ SPLIT as i32 }>(acc[0]),
                    acc[PARTS - 1],
                )
            };
            let sum = _mm_add_epi32(
                _mm256_castsi256_si128(sum),
                _mm256_extracti128_si256::<1>(sum),
            );
            let v = _mm_sra_epi32(_mm_add_epi32(sum, round), shift);
            // Saturating packs: i32 → i16 → u8 is the clamp to 0..=255.
            let v = _mm_packus_epi16(_mm_packs_epi32(v, v), v);
            let rgb = (_mm_cvtsi128_si32(v) as u32).to_le_bytes();
            px.copy_from_slice(&rgb[..3]);
        }
    }

    /// Calls `f` with each step of output pixel `i`: a pointer to its [`LOAD`] source bytes
    /// and one to its `parts × LANES` weights. The taps end inside the row; the steps whose
    /// load reaches past it (only zero weights there) read a zero-filled copy, so no row
    /// needs spare bytes after it.
    /// `PARTS` is `self.parts`, a constant so that finding the step count is a shift (a
    /// division by a run-time value here, per output pixel, cost as much as its loop).
    #[inline(always)]
    fn steps<const PARTS: usize>(
        &self,
        row: &[u8],
        i: usize,
        mut f: impl FnMut(*const u8, *const i16),
    ) {
        debug_assert_eq!(PARTS, self.parts);
        let per_step = PARTS * LANES;
        let w = &self.weights[self.offsets[i]..self.offsets[i + 1]];
        let start = self.starts[i];
        let steps = w.len() / per_step;
        // Steps whose LOAD bytes are all in the row.
        let inside = (row.len().saturating_sub(start + LOAD) / (3 * STEP) + 1).min(steps)
            * usize::from(start + LOAD <= row.len());
        let bytes = row[start.min(row.len())..].as_ptr();
        for s in 0..inside {
            // Inside the row and inside w (s < steps = w.len() / per_step), as computed
            // above: plain pointer steps, no bounds check in the hot loop.
            f(
                bytes.wrapping_add(3 * STEP * s),
                w.as_ptr().wrapping_add(s * per_step),
            );
        }
        for s in inside..steps {
            let at = start + 3 * STEP * s;
            let mut last = [0u8; LOAD];
            let rest = &row[at.min(row.len())..(at + LOAD).min(row.len())];
            last[..rest.len()].copy_from_slice(rest);
            f(last.as_ptr(), w[s * per_step..].as_ptr());
        }
    }

    /// The loop in plain Rust, any CPU: the AVX2 steps lane for lane.
    fn resample_row_generic(&self, row: &[u8], out: &mut [u8]) {
        match self.parts {
            1 => self.resample_row_generic_parts::<1>(row, out),
            _ => self.resample_row_generic_parts::<2>(row, out),
        }
    }

    fn resample_row_generic_parts<const PARTS: usize>(&self, row: &[u8], out: &mut [u8]) {
        for (i, px) in out.chunks_exact_mut(3).enumerate() {
            // Eight i32 lanes per part.
            let mut acc = [[0i32; 8]; PARTS];
            self.steps::<PARTS>(row, i, |bytes, w| {
                // SAFETY: steps passes LOAD readable bytes and PARTS × LANES weights.
                let (bytes, w) = unsafe {
                    (
                        std::slice::from_raw_parts(bytes, LOAD),
                        std::slice::from_raw_parts(w, PARTS * LANES),
                    )
                };
                let v: [i32; LANES] =
                    std::array::from_fn(|l| source_byte(l).map_or(0, |b| i32::from(bytes[b])));
                for (p, acc) in acc.iter_mut().enumerate() {
                    let w = &w[p * LANES..(p + 1) * LANES];
                    for (j, a) in acc.iter_mut().enumerate() {
                        let pair = v[2 * j]
                            .wrapping_mul(i32::from(w[2 * j]))
                            .wrapping_add(v[2 * j + 1].wrapping_mul(i32::from(w[2 * j + 1])));
                        *a = a.wrapping_add(pair);
                    }
                }
            });
            let sum: [i32; 8] = if PARTS == 1 {
                acc[0]
            } else {
                std::array::from_fn(|j| (acc[0][j] << SPLIT).wrapping_add(acc[PARTS - 1][j]))
            };
            for (c, o) in px.iter_mut().enumerate() {
                let total = self.round.wrapping_add(sum[c]).wrapping_add(sum[4 + c]);
                *o = (total >> self.shift).clamp(0, 255) as u8;
            }
        }
    }
}
#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn lcg(seed: u64) -> impl FnMut() -> u64 {
        let mut s = seed;
        move || {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            s >> 33
        }
    }

    /// Taps that reach past the row are refused, not read as zeros.
    #[test]
    #[should_panic(expected = "the taps read 12 bytes of a 9-byte row")]
    fn taps_past_the_row_panic() {
        let w = [1i32, 1];
        let taps = RgbTaps::new([(2usize, &w[..])], 0, 0);
        taps.resample_row(&[0; 9], &mut [0; 3]);
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 256,
            rng_seed: proptest::test_runner::RngSeed::Fixed(17),
            ..ProptestConfig::default()
        })]

        /// Every compiled form equals the definition, for `i16` (torch: one part) and 22-bit
        /// (Pillow: split in two) weights, negative and edge ones included, and any row bytes.
        #[test]
        fn rows_equal_the_definition(
            width in 1usize..80, outputs in 1usize..40, shift in prop_oneof![Just(14u32), Just(22u32)],
            seed in any::<u64>(),
        ) {
            let mut next = lcg(seed);
            let limit = 1i64 << shift;
            let positions: Vec<(usize, Vec<i32>)> = (0..outputs)
                .map(|_| {
                    let start = next() as usize % width;
                    let n = 1 + next() as usize % (width - start);
                    // Every tenth weight an edge value of its width (the sum may wrap: the definition
            // is in wrapping i32).
            let edges = if shift == 14 { [-32768, 32767, 255] } else { [-(1 << 26) + 1, (1 << 26) - 1, -1] };
            let w = (0..n)
                .map(|_| match next() % 10 {
                    0 => edges[next() as usize % 3],
                    _ => ((next() as i64 % (2 * limit)) - limit / 2) as i32 / n as i32,
                })
                .collect();
                    (start, w)
                })
                .collect();
            let row: Vec<u8> = (0..3 * width).map(|_| next() as u8).collect();
            let round = 1 << (shift - 1);
            let taps = RgbTaps::new(positions.iter().map(|(s, w)| (*s, w.as_slice())), round, shift);
            let expected: Vec<u8> = positions
                .iter()
                .flat_map(|(start, w)| {
                    let row = &row;
                    (0..3).map(move |c| {
                        let sum = w.iter().enumerate().fold(round, |s, (k, &w)| s.wrapping_add(i32::from(row[3 * (start + k) + c]).wrapping_mul(w)));
                        (sum >> shift).clamp(0, 255) as u8
                    })
                })
                .collect();
            let mut out = vec![0u8; 3 * outputs];
            taps.resample_row_generic(&row, &mut out);
            prop_assert_eq!(&out, &expected);
            taps.resample_row(&row, &mut out);
            prop_assert_eq!(&out, &expected);
        }
    }
}
