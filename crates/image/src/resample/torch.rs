//! PyTorch's resize of a uint8 image, as torchvision's `resize(..., antialias=True)` runs it on
//! a CPU: the path transformers' torchvision-backend image processors take.
//!
//! BILINEAR, BICUBIC and LANCZOS: separable, horizontal pass then vertical pass (each skipped
//! when its size does not change), with a clipped uint8 intermediate. Per output position the
//! weights are Pillow-style antialiased ones computed in f64 (`center = scale·(i + 0.5)`,
//! support `interp_size/2 · max(scale, 1)`, normalised by their sum), then rounded to int16
//! with one precision per axis: the largest `p < 22` with `round(max_weight · 2^(p+1)) < 2^15`.
//! Each output byte is `clamp((2^(p−1) + Σ v·w) >> p, 0, 255)`. BICUBIC uses a = −0.5 (the
//! antialiased cubic, as Pillow); LANCZOS is sinc(x)·sinc(x/3), support 3.
//!
//! The AVX2/AVX-512 kernels (`UpSampleKernelAVXAntialias.h`) and the generic uint8 loop
//! compute the same sums, so the output is the same on every CPU for BICUBIC and LANCZOS.
//! torchvision itself, though, sends BILINEAR through this uint8 kernel only on AVX2/AVX-512
//! x86 and on ARM; on an x86 CPU without AVX2 it resizes in float32 and rounds, which differs
//! by one level on ~15% of values (measured with `ATEN_CPU_CAPABILITY=default`). This module
//! reproduces the uint8 kernel, i.e. what transformers computes on any machine vitrs targets.
//!
//! NEAREST is torch's `nearest-exact` (transformers maps PIL's NEAREST to it): source index
//! `floor(scale·(i + 0.5) − 0.5 + 0.5)` in float32, `scale = in/out` in float32, clamped.
//! BOX and HAMMING have no torch kernel (transformers' torchvision backend raises for them):
//! [`resize`] returns `None`.

use std::f64::consts::PI;

use super::separable::{self, RowPass, Taps};
use super::Filter;
use crate::RgbImage;

/// Half the number of taps at scale 1 (torch's `interp_size`), for the filters torch has.
fn interp_size(filter: Filter) -> Option<f64> {
    match filter {
        Filter::Bilinear => Some(2.0),
        Filter::Bicubic => Some(4.0),
        Filter::Lanczos => Some(6.0),
        _ => None,
    }
}

fn sinc(x: f64) -> f64 {
    if x == 0.0 {
        1.0
    } else {
        let x = x * PI;
        x.sin() / x
    }
}

/// torch's antialias filter functions (`aa_filter`) for each mode.
fn kernel(filter: Filter, x: f64) -> f64 {
    let x = x.abs();
    match filter {
        Filter::Bilinear if x < 1.0 => 1.0 - x,
        Filter::Bicubic => {
            const A: f64 = -0.5;
            if x < 1.0 {
                ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
            } else if x < 2.0 {
                ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A
            } else {
                0.0
            }
        }
        Filter::Lanczos if x < 3.0 => sinc(x) * sinc(x / 3.0),
        _ => 0.0,
    }
}

/// One axis's taps: per output position the first input index and its int16 weights (held
/// as `i32`), with the shared fixed-point precision.
fn taps(in_size: usize, out_size: usize, filter: Filter, interp: f64) -> Taps {
    let scale = in_size as f64 / out_size as f64;
    let support = if scale >= 1.0 {
        interp * 0.5 * scale
    } else {
        interp * 0.5
    };
    let max_taps = support.ceil() as i64 * 2 + 1;
    let invscale = if scale >= 1.0 { 1.0 / scale } else { 1.0 };
    let mut starts = Vec::with_capacity(out_size);
    let mut real = Vec::with_capacity(out_size);
    let mut wt_max = 0.0f64;
    for i in 0..out_size {
        let center = scale * (i as f64 + 0.5);
        // C casts truncate toward zero.
        let xmin = ((center - support + 0.5) as i64).max(0);
        let xsize =
            (((center + support + 0.5) as i64).min(in_size as i64) - xmin).clamp(0, max_taps);
        let mut w: Vec<f64> = (0..xsize)
            .map(|j| kernel(filter, (j as f64 + xmin as f64 - center + 0.5) * invscale))
            .collect();
        let total: f64 = w.iter().sum();
        if total != 0.0 {
            for v in &mut w {
                *v /= total;
                wt_max = wt_max.max(*v);
            }
        }
        starts.push(xmin as usize);
        real.push(w);
    }
    let mut precision = 0u32;
    while precision < 22 {
        let next = (0.5 + wt_max * f64::from(1u32 << (precision + 1))) as i32;
        if next >= 1 << 15 {
            break;
        }
        precision += 1;
    }
    let unit = f64::from(1u32 << precision);
    let round = |v: f64| {
        let v = v * unit;
        i32::from(
            (if v < 0.0 {
                (-0.5 + v) as i32
            } else {
                (0.5 + v) as i32
            }) as i16,
        )
    };
    let positions = starts
        .into_iter()
        .zip(real)
        .map(|(start, w)| (start, w.into_iter().map(round).collect()));
    Taps::new(positions, precision, 1 << (precision.max(1) - 1))
}

/// torch's `nearest-exact` source indices for one axis.
fn nearest_exact(in_size: usize, out_size: usize) -> Vec<usize> {
    let scale = in_size as f32 / out_size as f32;
    (0..out_size)
        .map(|i| {
            let src = (scale * (i as f32 + 0.5) - 0.5).max(0.0);
            // `floorf(src + 0.5)`: the sum is a double, narrowed to float by floorf.
            let idx = ((f64::from(src) + 0.5) as f32).floor() as usize;
            idx.min(in_size - 1)
        })
        .collect()
}

/// Resizes `image` to `width × height` as torchvision's `resize(antialias=True)` does on a
/// uint8 CPU tensor; `None` for BOX and HAMMING, which torch cannot resize.
pub fn resize(image: &RgbImage, width: usize, height: usize, filter: Filter) -> Option<RgbImage> {
    if image.width == width && image.height == height {
        return Some(image.clone());
    }
    if filter == Filter::Nearest {
        let xs = nearest_exact(image.width, width);
        let ys = nearest_exact(image.height, height);
        let mut data = Vec::with_capacity(width * height * 3);
        for &y in &ys {
            for &x in &xs {
                data.extend_from_slice(&image.pixel(x, y));
            }
        }
        return Some(RgbImage {
            width,
            height,
            data,
        });
    }
    let interp = interp_size(filter)?;
    // torch's uint8 kernel always runs the horizontal pass first.
    Some(separable::resize(
        image,
        width,
        height,
        false,
        |from, to| taps(from, to, filter, interp),
    ))
}

/// The horizontal pass of [`resize`] to `[_, width]`, fed the decoded rows of a `[w, h]`
/// image of EXIF `orientation` one at a time (see [`RowPass`]); `None` for the filters that
/// are not a separable pass here (NEAREST) or have no torch kernel.
pub(crate) fn row_pass(
    decoded: [usize; 2],
    orientation: u8,
    [_, width]: [usize; 2],
    filter: Filter,
) -> Option<RowPass> {
    let interp = interp_size(filter)?;
    let [_, upright_w] = separable::upright(decoded, orientation);
    let taps = (width != upright_w).then(|| taps(upright_w, width, filter, interp));
    Some(RowPass::new(taps.as_ref(), decoded, orientation))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const FILTERS: [Filter; 4] = [
        Filter::Nearest,
        Filter::Bilinear,
        Filter::Bicubic,
        Filter::Lanczos,
    ];

    proptest! {
        /// The weights of every output position sum to 2^p up to rounding, so flat areas stay
        /// flat (the oracle comparisons are in the fixtures, `cargo xtask verify`).
        #[test]
        fn flat_images_stay_flat(
            w in 2usize..40, h in 2usize..40, ow in 2usize..60, oh in 2usize..60,
            v in any::<u8>(), f in 0usize..4,
        ) {
            let src = RgbImage::new(w, h, vec![v; w * h * 3]).unwrap();
            let out = resize(&src, ow, oh, FILTERS[f]).unwrap();
            prop_assert_eq!((out.width, out.height), (ow, oh));
            prop_assert!(out.data.iter().all(|&x| x == v));
        }
    }

    #[test]
    fn box_and_hamming_have_no_torch_kernel() {
        let src = RgbImage::new(4, 4, vec![0; 48]).unwrap();
        assert!(resize(&src, 2, 2, Filter::Box).is_none());
        assert!(resize(&src, 2, 2, Filter::Hamming).is_none());
    }
}
