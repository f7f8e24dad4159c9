//! The separable fixed-point resize both convolution paths run (Pillow's and torch's): a
//! horizontal pass into a clipped 8-bit intermediate, then a vertical pass, each skipped when
//! its size does not change. Only the taps differ between the two ([`Taps`]); each output byte
//! is `clamp((round + Σ v·w) >> precision, 0, 255)`.
//!
//! The sums are exact in `i32`: Pillow accumulates in C `int` with weights of at most 2^22
//! summing to 2^22 (its negative lobes add well under a half), torch in `int` with `i16`
//! weights, so `255 · Σ|w|` stays below 2^31 for every filter either has.
//!
//! The horizontal pass (the costly one: a 4032 × 3024 photo has 12 M source pixels) runs the
//! kernels crate's row loop ([`vitrs_kernels::resample`], vectorized); the vertical pass adds
//! whole source rows, scaled, into an accumulator row, which the compiler vectorizes as it is.

// Only JPEGs decoded by libjpeg arrive a row at a time (RowPass).
#![cfg_attr(not(feature = "libjpeg"), allow(dead_code))]

use vitrs_kernels::resample::RgbTaps;

use crate::RgbImage;

/// One axis's fixed-point taps: output position `i` reads inputs `starts[i]..` with weights
/// `weights[offsets[i]..offsets[i + 1]]`.
pub(super) struct Taps {
    starts: Vec<usize>,
    offsets: Vec<usize>,
    weights: Vec<i32>,
    precision: u32,
    round: i32,
}

impl Taps {
    /// Taps from per-position `(first input, weights)` lists; `round` is added to every sum
    /// before the shift by `precision`.
    pub(super) fn new(
        positions: impl IntoIterator<Item = (usize, Vec<i32>)>,
        precision: u32,
        round: i32,
    ) -> Taps {
        let (mut starts, mut offsets, mut weights) = (Vec::new(), vec![0], Vec::new());
        for (start, w) in positions {
            starts.push(start);
            weights.extend_from_slice(&w);
            offsets.push(weights.len());
        }
        Taps {
            starts,
            offsets,
            weights,
            precision,
            round,
        }
    }

    fn len(&self) -> usize {
        self.starts.len()
    }

    /// First input and weights of output position `i`.
    fn at(&self, i: usize) -> (usize, &[i32]) {
        (
            self.starts[i],
            &self.weights[self.offsets[i]..self.offsets[i + 1]],
        )
    }

    fn finish(&self, acc: i32) -> u8 {
        (acc >> self.precision).clamp(0, 255) as u8
    }
}

/// Resizes `image` to `width × height`: a horizontal pass with `taps(in, out)` for the width
/// and a vertical one with the taps for the height, each skipped when that size does not
/// change, the vertical one first when `vertical_first` (the clipped 8-bit intermediate
/// makes the order visible in the result).
pub(super) fn resize(
    image: &RgbImage,
    width: usize,
    height: usize,
    vertical_first: bool,
    taps: impl Fn(usize, usize) -> Taps,
) -> RgbImage {
    let mut current = std::borrow::Cow::Borrowed(image);
    let pass = |current: &mut std::borrow::Cow<RgbImage>, along_rows: bool| {
        if along_rows && width != current.width {
            *current = std::borrow::Cow::Owned(horizontal(current, &taps(current.width, width)));
        } else if !along_rows && height != current.height {
            *current = std::borrow::Cow::Owned(vertical(current, &taps(current.height, height)));
        }
    };
    pass(&mut current, !vertical_first);
    pass(&mut current, vertical_first);
    current.into_owned()
}

/// Resamples along rows: `src.width` → `t.len()` columns (the loop is
/// [`vitrs_kernels::resample`]'s).
fn horizontal(src: &RgbImage, t: &Taps) -> RgbImage {
    let (in_w, out_w) = (src.width, t.len());
    let taps = RgbTaps::new((0..out_w).map(|i| t.at(i)), t.round, t.precision);
    let mut data = vec![0u8; out_w * src.height * 3];
    if in_w > 0 {
        for (row, out) in src
            .data
            .chunks_exact(3 * in_w)
            .zip(data.chunks_exact_mut(3 * out_w))
        {
            taps.resample_row(row, out);
        }
    }
    RgbImage {
        width: out_w,
        height: src.height,
        data,
    }
}

/// The horizontal pass fed the decoded rows one at a time, as a decoder produces them, for an
/// image turned upright by EXIF orientation `1..=8` (see [`crate::exif::apply`]): the decoded
/// image then never has to be held whole, nor turned. [`resize`] of what [`RowPass::finish`]
/// returns to the same width runs only the vertical pass, so the result is the same bytes as
/// turning the whole image and resizing it.
///
/// Orientations 1–4 keep rows as rows (mirrored and/or in reverse order): each decoded row is
/// resampled as it comes. In 5–8 a decoded row is a column of the upright image, so the
/// horizontal pass sums along the decoded rows: each row is added, weighted, into the `i32`
/// accumulators of the (few) output columns whose taps hold it — the same sums in another
/// order, exact in integers — and every output is rounded and clipped at the end.
pub(crate) struct RowPass {
    mode: Mode,
    /// Decoded width and height.
    width: usize,
    height: usize,
    /// Output columns (upright).
    out_w: usize,
    /// Decoded rows pushed so far.
    pushed: usize,
    /// Scratch: a mirrored row.
    mirrored: Vec<u8>,
}

enum Mode {
    /// Orientations 1–4: output row `flip ? h − 1 − r : r`, from the row mirrored or not;
    /// `taps` `None` when the width does not change (rows are copied).
    Rows {
        taps: Option<RgbTaps>,
        mirror: bool,
        flip: bool,
        data: Vec<u8>,
    },
    /// Orientations 5–8: decoded row `r` is upright column `x_rev ? h − 1 − r : r`, its pixel
    /// `q` upright row `y_rev ? w − 1 − q : q`. Per upright column, the output columns it
    /// feeds and their weights; per output column, `3·w` accumulators.
    Columns {
        feeds: Vec<Vec<(usize, i32)>>,
        x_rev: bool,
        y_rev: bool,
        acc: Vec<i32>,
        precision: u32,
    },
}

impl RowPass {
    /// A pass over a decoded `width × height` image of EXIF `orientation` whose upright width
    /// (`height` for 5–8) becomes `t.len()` columns (`t` `None`: unchanged).
    pub(super) fn new(t: Option<&Taps>, [width, height]: [usize; 2], orientation: u8) -> RowPass {
        let turned = swaps_axes(orientation);
        let out_w = t.map_or(upright([width, height], orientation)[1], Taps::len);
        let mode = if turned {
            // The identity (weight 1, no shift) when the width does not change.
            let (precision, round) = t.map_or((0, 0), |t| (t.precision, t.round));
            let mut feeds = vec![Vec::new(); height];
            for i in 0..out_w {
                match t {
                    Some(t) => {
                        let (start, w) = t.at(i);
                        for (k, &w) in w.iter().enumerate() {
                            feeds[start + k].push((i, w));
                        }
                    }
                    None => feeds[i].push((i, 1)),
                }
            }
            Mode::Columns {
                feeds,
                x_rev: matches!(orientation, 6 | 7),
                y_rev: matches!(orientation, 7 | 8),
                acc: vec![round; out_w * 3 * width],
                precision,
            }
        } else {
            Mode::Rows {
                taps: t.map(|t| RgbTaps::new((0..t.len()).map(|i| t.at(i)), t.round, t.precision)),
                mirror: matches!(orientation, 2 | 3),
                flip: matches!(orientation, 3 | 4),
                data: vec![0; 3 * out_w * height],
            }
        };
        RowPass {
            mode,
            width,
            height,
            out_w,
            pushed: 0,
            mirrored: Vec::new(),
        }
    }

    /// Takes the next decoded row (`3·width` bytes).
    ///
    /// # Panics
    /// If `row` has another length, or more rows come than the image has.
    pub(crate) fn push(&mut self, row: &[u8]) {
        assert_eq!(
            row.len(),
            3 * self.width,
            "a decoded row of the pass's width"
        );
        assert!(self.pushed < self.height, "more rows than the image has");
        let r = self.pushed;
        self.pushed += 1;
        let mirror = match &self.mode {
            Mode::Rows { mirror, .. } => *mirror,
            Mode::Columns { y_rev, .. } => *y_rev,
        };
        let row = if mirror {
            self.mirrored.clear();
            self.mirrored.extend(row.chunks_exact(3).rev().flatten());
            &self.mirrored[..]
        } else {
            row
        };
        let (h, line) = (self.height, 3 * self.out_w);
        match &mut self.mode {
            Mode::Rows {
                taps, flip, data, ..
            } => {
                let y = if *flip { h - 1 - r } else { r };
                let out = &mut data[y * line..(y + 1) * line];
                match taps {
                    Some(taps) => taps.resample_row(row, out),
                    None => out.copy_from_slice(row),
                }
            }
            Mode::Columns {
                feeds, x_rev, acc, ..
            } => {
                let x = if *x_rev { h - 1 - r } else { r };
                let column = row.len();
                for &(i, w) in &feeds[x] {
                    for (a, &v) in acc[i * column..(i + 1) * column].iter_mut().zip(row) {
                        *a = a.wrapping_add(i32::from(v).wrapping_mul(w));
                    }
                }
            }
        }
    }

    /// The upright image resampled to `out_w` columns (as many rows as the upright image
    /// has), from the rows pushed (all of them, as the decoder reads them).
    pub(crate) fn finish(self) -> RgbImage {
        match self.mode {
            Mode::Rows { data, .. } => RgbImage {
                width: self.out_w,
                height: self.height,
                data,
            },
            Mode::Columns { acc, precision, .. } => {
                // Upright row y is every output column's accumulators at y.
                let (rows, column) = (self.width, 3 * self.width);
                let mut data = vec![0u8; 3 * self.out_w * rows];
                for (i, acc) in acc.chunks_exact(column.max(1)).enumerate() {
                    for (y, px) in acc.chunks_exact(3).enumerate() {
                        for (c, &a) in px.iter().enumerate() {
                            data[(y * self.out_w + i) * 3 + c] =
                                (a >> precision).clamp(0, 255) as u8;
                        }
                    }
                }
                RgbImage {
                    width: self.out_w,
                    height: rows,
                    data,
                }
            }
        }
    }
}

/// Whether EXIF `orientation` swaps the axes (5–8: a decoded row is an upright column).
pub(crate) fn swaps_axes(orientation: u8) -> bool {
    (5..=8).contains(&orientation)
}

/// The `[height, width]` of a decoded `[w, h]` image turned upright for EXIF `orientation`.
pub(crate) fn upright([w, h]: [usize; 2], orientation: u8) -> [usize; 2] {
    if swaps_axes(orientation) {
        [w, h]
    } else {
        [h, w]
    }
}

/// Resamples along columns: `src.height` → `t.len()` rows.
fn vertical(src: &RgbImage, t: &Taps) -> RgbImage {
    let line = 3 * src.width;
    let out_h = t.len();
    let mut data = vec![0u8; line * out_h];
    let mut acc = vec![0i32; line];
    if line > 0 {
        for (i, out) in data.chunks_exact_mut(line).enumerate() {
            let (start, w) = t.at(i);
            acc.fill(t.round);
            for (k, &w) in w.iter().enumerate() {
                let row = &src.data[(start + k) * line..(start + k + 1) * line];
                for (a, &v) in acc.iter_mut().zip(row) {
                    *a = a.wrapping_add(i32::from(v).wrapping_mul(w));
                }
            }
            for (o, &a) in out.iter_mut().zip(&acc) {
                *o = t.finish(a);
            }
        }
    }
    RgbImage {
        width: src.width,
        height: out_h,
        data,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The pass as the definition reads, one output value at a time in `i64`.
    fn naive(src: &RgbImage, out_w: usize, out_h: usize, horizontal: bool, t: &Taps) -> RgbImage {
        let mut data = vec![0u8; out_w * out_h * 3];
        for y in 0..out_h {
            for x in 0..out_w {
                let (start, w) = t.at(if horizontal { x } else { y });
                for c in 0..3 {
                    let mut acc = i64::from(t.round);
                    for (k, &w) in w.iter().enumerate() {
                        let (sx, sy) = if horizontal {
                            (start + k, y)
                        } else {
                            (x, start + k)
                        };
                        acc += i64::from(src.data[(sy * src.width + sx) * 3 + c]) * i64::from(w);
                    }
                    data[(y * out_w + x) * 3 + c] = (acc >> t.precision).clamp(0, 255) as u8;
                }
            }
        }
        RgbImage::new(out_w, out_h, data).unwrap()
    }

    /// Random taps within the input, weights of either path's size (negative ones included).
    fn taps(in_size: usize, out_size: usize, precision: u32, seed: u64) -> Taps {
        let mut s = seed;
        let mut next = move || {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            s >> 33
        };
        let limit = 1i64 << precision;
        let positions: Vec<_> = (0..out_size)
            .map(|_| {
                let start = next() as usize % in_size;
                let n = 1 + next() as usize % (in_size - start);
                let w = (0..n)
                    .map(|_| (next() as i64 % (2 * limit) - limit / 2) as i32 / n as i32)
                    .collect();
                (start, w)
            })
            .collect();
        Taps::new(positions, precision, 1 << (precision - 1))
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 64,
            rng_seed: proptest::test_runner::RngSeed::Fixed(17),
            ..ProptestConfig::default()
        })]

        /// Both passes equal the definition byte for byte, for Pillow's 22-bit and torch's
        /// 15-bit weights.
        #[test]
        fn passes_equal_the_definition(
            w in 1usize..50, h in 1usize..50, out in 1usize..40, seed in any::<u64>(),
            pillow in any::<bool>(),
        ) {
            let mut s = seed;
            let data = (0..w * h * 3).map(|_| { s = s.wrapping_mul(0x5851_f42d_4c95_7f2d).wrapping_add(1); (s >> 56) as u8 }).collect();
            let src = RgbImage::new(w, h, data).unwrap();
            let precision = if pillow { 22 } else { 14 };
            let th = taps(w, out, precision, seed ^ 1);
            prop_assert_eq!(horizontal(&src, &th), naive(&src, out, h, true, &th));
            let tv = taps(h, out, precision, seed ^ 2);
            prop_assert_eq!(vertical(&src, &tv), naive(&src, w, out, false, &tv));
        }
    }
}
