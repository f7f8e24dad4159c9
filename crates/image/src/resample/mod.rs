//! Pillow's resampling filters, reproduced bit for bit (libImaging/Resample.c and the
//! nearest-neighbour affine path of Geometry.c).

mod filters;
mod nearest;
mod pillow;

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
