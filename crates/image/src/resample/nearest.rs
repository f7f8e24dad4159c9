//! NEAREST: Pillow resizes with an affine "scale" transform, stepping the source coordinate
//! by accumulated addition (Geometry.c, `ImagingScaleAffine`); the accumulation is kept so
//! that rounding matches to the last index.

use crate::RgbImage;

fn index_map(in_size: usize, out_size: usize) -> Vec<usize> {
    let step = in_size as f64 / out_size as f64;
    let mut pos = step * 0.5;
    (0..out_size)
        .map(|_| {
            let i = if pos < 0.0 {
                0
            } else {
                (pos as usize).min(in_size - 1)
            };
            pos += step;
            i
        })
        .collect()
}

/// Nearest-neighbour resize.
pub fn resize(image: &RgbImage, width: usize, height: usize) -> RgbImage {
    let xs = index_map(image.width, width);
    let ys = index_map(image.height, height);
    let mut data = Vec::with_capacity(width * height * 3);
    for &y in &ys {
        for &x in &xs {
            data.extend_from_slice(&image.pixel(x, y));
        }
    }
    RgbImage {
        width,
        height,
        data,
    }
}
