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

/// Horizontal pass, then vertical, each skipped when its size does not change.
pub fn resize(image: &RgbImage, width: usize, height: usize, filter: Filter) -> RgbImage {
    separable::resize(image, width, height, |from, to| {
        coefficients(from, to, filter)
    })
}

/// The horizontal pass of [`resize`] to `width`, fed the decoded rows of a `[w, h]` image
/// of EXIF `orientation` one at a time (see [`RowPass`]).
pub(super) fn row_pass(
    decoded: [usize; 2],
    orientation: u8,
    width: usize,
    filter: Filter,
) -> RowPass {
    let upright_w = separable::upright_width(decoded, orientation);
    let taps = (width != upright_w).then(|| coefficients(upright_w, width, filter));
    RowPass::new(taps.as_ref(), decoded, orientation)
}
