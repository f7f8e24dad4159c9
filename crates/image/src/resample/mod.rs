//! Pillow's resampling filters, reproduced bit for bit (libImaging/Resample.c and the
//! nearest-neighbour affine path of Geometry.c).

mod filters;
mod nearest;
mod pillow;
pub(crate) mod separable;
pub mod torch;

use std::fmt;

pub use filters::Filter;

use crate::RgbImage;

/// Resizes `image` to `width × height` with `filter`, exactly as `PIL.Image.resize` does on an
/// RGB image (no `reducing_gap`, whole-image box).
pub fn resize(image: &RgbImage, width: usize, height: usize, filter: Filter) -> RgbImage {
    if image.width == width && image.height == height {
        return image.clone();
    }
    match filter {
        Filter::Nearest => nearest::resize(image, width, height),
        other => pillow::resize(image, width, height, other),
    }
}

/// The horizontal pass of [`resize`] to `[height, width]`, fed the decoded rows of a `[w, h]`
/// image of EXIF `orientation` one at a time (see [`separable::RowPass`]); `None` for
/// NEAREST, which is not a separable pass, and where Pillow resizes vertically first.
pub(crate) fn row_pass(
    decoded: [usize; 2],
    orientation: u8,
    out: [usize; 2],
    filter: Filter,
) -> Option<separable::RowPass> {
    (filter != Filter::Nearest)
        .then(|| pillow::row_pass(decoded, orientation, out, filter))
        .flatten()
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Filter::Nearest => "NEAREST",
            Filter::Lanczos => "LANCZOS",
            Filter::Bilinear => "BILINEAR",
            Filter::Bicubic => "BICUBIC",
            Filter::Box => "BOX",
            Filter::Hamming => "HAMMING",
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const FILTERS: [Filter; 6] = [
        Filter::Nearest,
        Filter::Lanczos,
        Filter::Bilinear,
        Filter::Bicubic,
        Filter::Box,
        Filter::Hamming,
    ];

    fn image(w: usize, h: usize, lo: u8, hi: u8, seed: u64) -> RgbImage {
        let mut s = seed;
        let span = u64::from(hi - lo) + 1;
        let data = (0..w * h * 3)
            .map(|_| {
                s = s
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                lo + ((s >> 33) % span) as u8
            })
            .collect();
        RgbImage::new(w, h, data).unwrap()
    }

    /// Filters whose kernels are never negative. BICUBIC and LANCZOS have negative lobes and
    /// ring past the source range (clipped to 0..=255) in Pillow too; the fixtures check them
    /// against Pillow byte for byte, and the constant test below checks they reproduce flat
    /// areas exactly.
    const NON_NEGATIVE: [Filter; 4] = [
        Filter::Nearest,
        Filter::Box,
        Filter::Bilinear,
        Filter::Hamming,
    ];

    proptest! {
        #[test]
        fn any_resize_stays_within_the_source_range(
            w in 1usize..40, h in 1usize..40, ow in 1usize..60, oh in 1usize..60,
            lo in 0u8..200, span in 0u8..55, f in 0usize..4, seed in any::<u64>(),
        ) {
            let src = image(w, h, lo, lo + span, seed);
            let out = resize(&src, ow, oh, NON_NEGATIVE[f]);
            prop_assert_eq!((out.width, out.height), (ow, oh));
            let (min, max) = (src.data.iter().min().unwrap(), src.data.iter().max().unwrap());
            prop_assert!(out.data.iter().all(|v| v >= min && v <= max));
        }

        #[test]
        fn flat_images_stay_flat(
            w in 1usize..40, h in 1usize..40, ow in 1usize..60, oh in 1usize..60,
            v in any::<u8>(), f in 0usize..6,
        ) {
            let src = image(w, h, v, v, 0);
            let out = resize(&src, ow, oh, FILTERS[f]);
            prop_assert!(out.data.iter().all(|&x| x == v));
        }

        #[test]
        fn same_size_is_the_identity(w in 1usize..40, h in 1usize..40, f in 0usize..6, seed in any::<u64>()) {
            let src = image(w, h, 0, 255, seed);
            prop_assert_eq!(resize(&src, w, h, FILTERS[f]), src);
        }
    }
}
