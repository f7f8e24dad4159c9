//! The horizontal pass of an image resize in fixed point, over interleaved RGB bytes: the
//! inner loop of Pillow's and torch's separable resize (the image crate holds their taps).
//!
//! Output pixel `i` of a row is, per channel `c`,
//! `clamp((round + Σ_k row[3·(start_i + k) + c] · w_i[k]) >> shift, 0, 255)`, summed exactly
//! in `i32` (wrapping; the callers' weights keep `255 · Σ|w|` below 2^31).
//!
//! The sum is taken over the interleaved bytes in blocks of eight pixels against the weights
//! repeated per channel ([`RgbTaps`] holds them so, zero past each position's taps): a
//! lane-wise multiply-add whose lane `l` always holds channel `l % 3` (a last block reaching
//! past the row is copied, zero-filled): in plain Rust for any
//! CPU, and with AVX2 intrinsics (three `vpmovzxbd`/`vpmulld`/`vpaddd` per block) where the CPU
//! has AVX2 (the f32 kernels' ISA is AVX2 or AVX-512). Tests check both against the
//! definition.

/// Bytes per block: eight RGB pixels.
const BLOCK: usize = 24;

/// The taps of one axis, laid out for [`RgbTaps::resample_row`].
#[derive(Debug, Clone)]
pub struct RgbTaps {
    /// Per output pixel, the byte offset of its first source pixel.
    starts: Vec<usize>,
    /// Per output pixel, its range of `weights` (a whole number of blocks).
    offsets: Vec<usize>,
    /// The weights, each repeated three times, zero-padded to whole blocks.
    weights: Vec<i32>,
    round: i32,
    shift: u32,
}

impl RgbTaps {
    /// Taps from per-output-pixel `(first source pixel, weights)`; each output value is
    /// `clamp((round + Σ v·w) >> shift, 0, 255)`.
    pub fn new<'a>(
        positions: impl IntoIterator<Item = (usize, &'a [i32])>,
        round: i32,
        shift: u32,
    ) -> RgbTaps {
        let (mut starts, mut offsets, mut weights) = (Vec::new(), vec![0], Vec::new());
        for (start, w) in positions {
            starts.push(3 * start);
            for &w in w {
                weights.extend([w; 3]);
            }
            weights.resize(weights.len().next_multiple_of(BLOCK), 0);
            offsets.push(weights.len());
        }
        RgbTaps {
            starts,
            offsets,
            weights,
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
        #[cfg(target_arch = "x86_64")]
        if matches!(
            crate::gemm::detect(),
            crate::gemm::Isa::Avx2Fma | crate::gemm::Isa::Avx512
        ) {
            // SAFETY: detect() returns only ISAs this CPU supports, and both have AVX2.
            return unsafe { self.resample_row_avx2(row, out) };
        }
        self.resample_row_generic(row, out);
    }

    /// [`RgbTaps::resample_row`] on AVX2: per block three times `vpmovzxbd` (eight bytes to
    /// `i32`), `vpmulld`, `vpaddd`.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn resample_row_avx2(&self, row: &[u8], out: &mut [u8]) {
        use std::arch::x86_64::*;
        for (i, px) in out.chunks_exact_mut(3).enumerate() {
            let mut acc = [_mm256_setzero_si256(); 3];
            self.blocks(row, i, |v, w| {
                for (j, acc) in acc.iter_mut().enumerate() {
                    // SAFETY: v holds BLOCK = 24 bytes and w 24 weights: bytes 8j..8j + 8 and
                    // weights 8j..8j + 8 are in them (j < 3).
                    unsafe {
                        let v = _mm256_cvtepu8_epi32(_mm_loadl_epi64(v.as_ptr().add(8 * j).cast()));
                        let w = _mm256_loadu_si256(w.as_ptr().add(8 * j).cast());
                        *acc = _mm256_add_epi32(*acc, _mm256_mullo_epi32(v, w));
                    }
                }
            });
            let mut lanes = [0i32; BLOCK];
            for (j, acc) in acc.iter().enumerate() {
                // SAFETY: lanes has room for 8 i32 at 8j (j < 3).
                unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().add(8 * j).cast(), *acc) };
            }
            self.finish(&lanes, px);
        }
    }

    /// Calls `f` with each block of output pixel `i`'s source bytes and its weights. The
    /// taps end inside the row; a last block reaching past it (over zero weights only) is
    /// copied, zero-filled, so no row needs spare bytes after it.
    #[inline(always)]
    fn blocks(&self, row: &[u8], i: usize, mut f: impl FnMut(&[u8; BLOCK], &[i32; BLOCK])) {
        let w = &self.weights[self.offsets[i]..self.offsets[i + 1]];
        let start = self.starts[i];
        let inside = (row.len() - start.min(row.len())).min(w.len()) / BLOCK * BLOCK;
        let (w_in, w_tail) = w.split_at(inside);
        for (v, w) in row[start..start + inside]
            .chunks_exact(BLOCK)
            .zip(w_in.chunks_exact(BLOCK))
        {
            f(
                v.try_into().expect("a block"),
                w.try_into().expect("a block"),
            );
        }
        if !w_tail.is_empty() {
            let mut last = [0u8; BLOCK];
            let rest = &row[start + inside..];
            last[..rest.len()].copy_from_slice(rest);
            f(&last, w_tail.try_into().expect("one block past the row"));
        }
    }

    /// Channel `c` of a pixel from the block lanes `l ≡ c (mod 3)`.
    #[inline(always)]
    fn finish(&self, lanes: &[i32; BLOCK], px: &mut [u8]) {
        for (c, o) in px.iter_mut().enumerate() {
            let sum = lanes[c..]
                .iter()
                .step_by(3)
                .fold(self.round, |s, &a| s.wrapping_add(a));
            *o = (sum >> self.shift).clamp(0, 255) as u8;
        }
    }

    /// The loop in plain Rust, any CPU.
    fn resample_row_generic(&self, row: &[u8], out: &mut [u8]) {
        for (i, px) in out.chunks_exact_mut(3).enumerate() {
            let mut acc = [0i32; BLOCK];
            self.blocks(row, i, |v, w| {
                for ((a, &v), &w) in acc.iter_mut().zip(v).zip(w) {
                    *a = a.wrapping_add(i32::from(v).wrapping_mul(w));
                }
            });
            self.finish(&acc, px);
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

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 256,
            rng_seed: proptest::test_runner::RngSeed::Fixed(17),
            ..ProptestConfig::default()
        })]

        /// Every compiled form equals the definition, for 22-bit (Pillow) and 15-bit (torch)
        /// weights, negative ones included, and any row bytes.
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
                    let w = (0..n).map(|_| ((next() as i64 % (2 * limit)) - limit / 2) as i32 / n as i32).collect();
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
                        let sum: i64 = w.iter().enumerate().map(|(k, &w)| i64::from(row[3 * (start + k) + c]) * i64::from(w)).sum();
                        ((i64::from(round) + sum) >> shift).clamp(0, 255) as u8
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
