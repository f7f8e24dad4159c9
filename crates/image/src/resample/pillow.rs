//! The convolution filters (BOX, BILINEAR, HAMMING, BICUBIC, LANCZOS): Pillow's two-pass
//! resize with coefficients in 22-bit fixed point and a clipped 8-bit intermediate.

use super::Filter;
use crate::RgbImage;

const PRECISION_BITS: u32 = 32 - 8 - 2;

/// For each output position along one axis: the first input index and the fixed-point
/// weights of the inputs it reads.
struct Coefficients {
    bounds: Vec<(usize, usize)>,
    weights: Vec<Vec<i32>>,
}

/// Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc` for `in_size → out_size`.
fn coefficients(in_size: usize, out_size: usize, filter: Filter) -> Coefficients {
    let scale = in_size as f64 / out_size as f64;
    let filterscale = scale.max(1.0);
    let support = filter.support() * filterscale;
    let ss = 1.0 / filterscale;
    let mut bounds = Vec::with_capacity(out_size);
    let mut weights = Vec::with_capacity(out_size);
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
        bounds.push((xmin, count));
        weights.push(fixed);
    }
    Coefficients { bounds, weights }
}

fn clip8(v: i64) -> u8 {
    if v >= (1i64 << PRECISION_BITS << 8) {
        255
    } else if v <= 0 {
        0
    } else {
        (v >> PRECISION_BITS) as u8
    }
}

/// Resamples one axis (along rows when `horizontal`, else along columns) into an
/// `out_w × out_h` image, each output byte clipped to 8 bits as Pillow's intermediate is.
fn pass(
    src: &RgbImage,
    out_w: usize,
    out_h: usize,
    horizontal: bool,
    c: &Coefficients,
) -> RgbImage {
    let mut data = vec![0u8; out_w * out_h * 3];
    for y in 0..out_h {
        for x in 0..out_w {
            let (pos, line) = if horizontal { (x, y) } else { (y, x) };
            let (start, count) = c.bounds[pos];
            let k = &c.weights[pos];
            let mut acc = [1i64 << (PRECISION_BITS - 1); 3];
            for (i, &w) in k.iter().enumerate().take(count) {
                let (sx, sy) = if horizontal {
                    (start + i, line)
                } else {
                    (line, start + i)
                };
                let p = (sy * src.width + sx) * 3;
                for (a, &v) in acc.iter_mut().zip(&src.data[p..p + 3]) {
                    *a += i64::from(v) * i64::from(w);
                }
            }
            let o = (y * out_w + x) * 3;
            for (d, &a) in data[o..o + 3].iter_mut().zip(&acc) {
                *d = clip8(a);
            }
        }
    }
    RgbImage {
        width: out_w,
        height: out_h,
        data,
    }
}

/// Horizontal pass, then vertical, each skipped when its size does not change.
pub fn resize(image: &RgbImage, width: usize, height: usize, filter: Filter) -> RgbImage {
    let mut current = std::borrow::Cow::Borrowed(image);
    if width != image.width {
        let c = coefficients(image.width, width, filter);
        current = std::borrow::Cow::Owned(pass(&current, width, image.height, true, &c));
    }
    if height != image.height {
        let c = coefficients(image.height, height, filter);
        current = std::borrow::Cow::Owned(pass(&current, width, height, false, &c));
    }
    current.into_owned()
}
