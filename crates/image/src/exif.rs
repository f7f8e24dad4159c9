//! EXIF orientation, applied as transformers' pipelines do (`load_image` →
//! `PIL.ImageOps.exif_transpose`): the stored pixels are turned upright before preprocessing.

use image::{ImageDecoder, ImageReader};

use crate::RgbImage;

/// The EXIF orientation (1–8) of an encoded image, read from its headers only; 1 when it has
/// none, or when the headers cannot be read this way (decoding reports such errors itself).
/// JPEG, PNG, WebP and TIFF carry it.
pub fn orientation_of_bytes(bytes: &[u8]) -> u8 {
    if let Some(header) = crate::jpeg_header::jpeg_header(bytes) {
        return header
            .exif
            .and_then(image::metadata::Orientation::from_exif_chunk)
            .map_or(1, |o| o.to_exif());
    }
    let read = || -> Option<u8> {
        let reader = ImageReader::new(std::io::Cursor::new(bytes))
            .with_guessed_format()
            .ok()?;
        let mut decoder = reader.into_decoder().ok()?;
        Some(decoder.orientation().ok()?.to_exif())
    };
    read().unwrap_or(1)
}

/// `image` turned upright for EXIF orientation `exif` (Pillow's `exif_transpose`: 2 mirror,
/// 3 rotate 180°, 4 flip, 5 transpose, 6 rotate 90° clockwise, 7 transverse, 8 rotate 90°
/// anticlockwise); other values leave it as it is.
pub fn apply(image: RgbImage, exif: u8) -> RgbImage {
    let (w, h) = (image.width, image.height);
    // Output (x, y) reads input source(x, y); the output is h × w when the axes swap.
    let source: fn(usize, usize, usize, usize) -> (usize, usize) = match exif {
        2 => |x, y, w, _| (w - 1 - x, y),
        3 => |x, y, w, h| (w - 1 - x, h - 1 - y),
        4 => |x, y, _, h| (x, h - 1 - y),
        5 => |x, y, _, _| (y, x),
        6 => |x, y, _, h| (y, h - 1 - x),
        7 => |x, y, w, h| (w - 1 - y, h - 1 - x),
        8 => |x, y, w, _| (w - 1 - y, x),
        _ => return image,
    };
    let (ow, oh) = if exif >= 5 { (h, w) } else { (w, h) };
    let mut data = Vec::with_capacity(ow * oh * 3);
    for y in 0..oh {
        for x in 0..ow {
            let (sx, sy) = source(x, y, w, h);
            data.extend_from_slice(&image.pixel(sx, sy));
        }
    }
    RgbImage {
        width: ow,
        height: oh,
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 3×2 image with distinct pixels, turned by each orientation and back by its inverse.
    #[test]
    fn each_orientation_is_a_permutation_undone_by_its_inverse() {
        let img = RgbImage::new(3, 2, (0..18).collect()).unwrap();
        // exif_transpose(6) then a 90° anticlockwise turn (8) is the identity, and so on.
        for (o, inverse) in [
            (1, 1),
            (2, 2),
            (3, 3),
            (4, 4),
            (5, 5),
            (6, 8),
            (7, 7),
            (8, 6),
        ] {
            let turned = apply(img.clone(), o);
            if o >= 5 {
                assert_eq!((turned.width, turned.height), (2, 3), "{o}");
            }
            assert_eq!(apply(turned, inverse), img, "{o}");
        }
        // Orientation 6 (rotate 90° clockwise): the top row of the result is the left column,
        // read bottom to top.
        let six = apply(img.clone(), 6);
        assert_eq!(six.pixel(0, 0), img.pixel(0, 1));
        assert_eq!(six.pixel(1, 0), img.pixel(0, 0));
    }
}
