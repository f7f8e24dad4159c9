//! The convolution filters (BOX, BILINEAR, HAMMING, BICUBIC, LANCZOS): Pillow's two-pass
//! resize with coefficients in 22-bit fixed point and a clipped 8-bit intermediate.

use super::separable::{self, RowPass, Taps};
use super::Filter;
use crate::RgbImage;

const PRECISION_BITS: u32 = 32 - 8 - 2;

/// Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc` for `in_size → out_size`: per output
/// position the first input index and the fixed-point weights of the inputs it reads.
fn coefficients(in_size: usize, out_size: usize, filter: Filter) -> Taps {
    let scale = in_size as f64 / out_size as f64;
    let filterscale = scale.max(1.0);
    let support = filter.support() * filterscale;
    let ss = 1.0 / filterscale;
    let mut positions = Vec::with_capacity(out_size);
    for xx in 0..out_size {
        let center = (xx as f64 + 0.5) * scale;
        // `(int)` truncates toward zero, as in C.
        let xmin = ((center - support + 0.5) as i64).max(0) as usize;
        let xmax = ((center + support + 0.5) as i64).min(in_size as i64) as usize;
        let count = xmax.saturating_sub(xmin);
        let raw: Vec<f64> = (0..count)
            .map(|x| filter.eval((x as f64 + xmin as f64 - center + 0.5) * ss))
            .collect();
        let total: f64 = raw.iter().sum();
        let fixed = raw
            .iter()
            .map(|&w| {
                let w = if total != 0.0 { w / total } else { w };
                let scaled = w * f64::from(1u32 << PRECISION_BITS);
                if w < 0.0 {
                    (-0.5 + scaled) as i32
                } else {
                    (0.5 + scaled) as i32
                }
            })
            .collect();
        positions.push((xmin, fixed));
    }
    Taps::new(positions, PRECISION_BITS, 1 << (PRECISION_BITS - 1))
}

/// Whether Pillow (13.0's `ImagingResampleInner`) runs the vertical pass first for
/// `[height, width]` → `[out_h, out_w]`: when the height shrinks by more than twice as many
/// pixels as the width does (so the horizontal pass has fewer rows). Pillow 12 and earlier
/// always ran the horizontal pass first.
fn vertical_first([height, width]: [usize; 2], [out_h, out_w]: [usize; 2]) -> bool {
    let shrink_h = height as i64 - out_h as i64;
    let shrink_w = width as i64 - out_w as i64;
    shrink_h > 0 && shrink_h > 2 * shrink_w
}

/// Pillow's two passes, in its order ([`vertical_first`]), each skipped when its size does
/// not change.
pub fn resize(image: &RgbImage, width: usize, height: usize, filter: Filter) -> RgbImage {
    let first = vertical_first([image.height, image.width], [height, width]);
    separable::resize(image, width, height, first, |from, to| {
        coefficients(from, to, filter)
    })
}

/// The horizontal pass of [`resize`] to `[height, width]`, fed the decoded rows of a `[w, h]`
/// image of EXIF `orientation` one at a time (see [`RowPass`]); `None` where Pillow runs the
/// vertical pass first.
pub(super) fn row_pass(
    decoded: [usize; 2],
    orientation: u8,
    [height, width]: [usize; 2],
    filter: Filter,
) -> Option<RowPass> {
    let [upright_h, upright_w] = separable::upright(decoded, orientation);
    if vertical_first([upright_h, upright_w], [height, width]) {
        return None;
    }
    let taps = (width != upright_w).then(|| coefficients(upright_w, width, filter));
    Some(RowPass::new(taps.as_ref(), decoded, orientation))
}
