//! Reading image files into [`RgbImage`] with HF's RGB policy (`do_convert_rgb`).
//!
//! What Pillow does, and so what transformers sees: greyscale is replicated to three
//! channels; anything with alpha (or palette transparency) is composited onto opaque white;
//! 16-bit samples keep their high byte. The pixel limit is checked against the dimensions in
//! the file header before any pixel memory is allocated.

use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, ImageReader};

use crate::composite::over_white;
use crate::{ImageError, RgbImage};

/// The default pixel limit: 178,956,970 pixels, Pillow's `MAX_IMAGE_PIXELS` × 2 (above which
/// Pillow refuses to open a file as a decompression bomb).
pub const DEFAULT_MAX_PIXELS: u64 = 2 * 89_478_485;

/// Resource limits for decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest `width · height` accepted.
    pub max_pixels: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_pixels: DEFAULT_MAX_PIXELS,
        }
    }
}

/// Decodes the file at `path` into 8-bit RGB.
pub fn decode_file(path: &Path, limits: Limits) -> Result<RgbImage, ImageError> {
    let bytes = std::fs::read(path).map_err(|source| ImageError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    decode_bytes(&bytes, path, limits)
}

/// Decodes `bytes` (named `path` in errors) into 8-bit RGB.
pub fn decode_bytes(bytes: &[u8], path: &Path, limits: Limits) -> Result<RgbImage, ImageError> {
    let path_buf = || path.to_path_buf();
    if bytes.is_empty() {
        return Err(ImageError::Empty { path: path_buf() });
    }
    let decode_err = |e: image::ImageError| ImageError::Decode {
        path: path_buf(),
        message: e.to_string(),
    };
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|source| ImageError::Io {
            path: path_buf(),
            source,
        })?;
    if reader.format().is_none() {
        return Err(ImageError::UnknownFormat { path: path_buf() });
    }
    // Read the header alone first: the bomb check must come before any allocation.
    let (width, height) = reader.into_dimensions().map_err(decode_err)?;
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(ImageError::TooLarge {
            path: path_buf(),
            width,
            height,
            limit: limits.max_pixels,
        });
    }
    #[cfg(feature = "libjpeg")]
    if reader_format(bytes) == Some(image::ImageFormat::Jpeg) {
        return crate::libjpeg::decode(bytes).map_err(|message| ImageError::Decode {
            path: path_buf(),
            message,
        });
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|source| ImageError::Io {
            path: path_buf(),
            source,
        })?;
    let mut image_limits = image::Limits::default();
    image_limits.max_image_width = Some(width);
    image_limits.max_image_height = Some(height);
    // Room for the decoded image at 16 bits × 4 channels, plus the decoder's own buffers.
    image_limits.max_alloc = Some(u64::from(width) * u64::from(height) * 8 + (64 << 20));
    reader.limits(image_limits);
    let image = reader.decode().map_err(decode_err)?;
    to_rgb(image).ok_or_else(|| ImageError::Decode {
        path: path_buf(),
        message: "unsupported pixel format (floating-point images are not read)".into(),
    })
}

#[cfg(feature = "libjpeg")]
fn reader_format(bytes: &[u8]) -> Option<image::ImageFormat> {
    image::guess_format(bytes).ok()
}

fn grey(values: impl Iterator<Item = u8>, w: u32, h: u32) -> Option<RgbImage> {
    let data = values.flat_map(|v| [v, v, v]).collect();
    RgbImage::new(w as usize, h as usize, data)
}

fn composite(rgba: impl Iterator<Item = [u8; 4]>, w: u32, h: u32) -> Option<RgbImage> {
    let data = rgba
        .flat_map(|[r, g, b, a]| [over_white(r, a), over_white(g, a), over_white(b, a)])
        .collect();
    RgbImage::new(w as usize, h as usize, data)
}

/// HF's RGB policy on a decoded image. 16-bit samples keep their high byte, as Pillow's PNG
/// reader does, except 16-bit greyscale, which Pillow opens as 32-bit integers and clips to
/// 255 when converting to RGB.
fn to_rgb(image: DynamicImage) -> Option<RgbImage> {
    let (w, h) = (image.width(), image.height());
    match image {
        DynamicImage::ImageRgb8(img) => RgbImage::new(w as usize, h as usize, img.into_raw()),
        DynamicImage::ImageLuma8(img) => grey(img.into_raw().into_iter(), w, h),
        DynamicImage::ImageLumaA8(img) => composite(
            img.into_raw()
                .chunks_exact(2)
                .map(|p| [p[0], p[0], p[0], p[1]]),
            w,
            h,
        ),
        DynamicImage::ImageRgba8(img) => composite(
            img.into_raw()
                .chunks_exact(4)
                .map(|p| [p[0], p[1], p[2], p[3]]),
            w,
            h,
        ),
        DynamicImage::ImageLuma16(img) => {
            grey(img.into_raw().into_iter().map(|v| v.min(255) as u8), w, h)
        }
        DynamicImage::ImageLumaA16(img) => composite(
            img.into_raw().chunks_exact(2).map(|p| {
                let (l, a) = ((p[0] >> 8) as u8, (p[1] >> 8) as u8);
                [l, l, l, a]
            }),
            w,
            h,
        ),
        DynamicImage::ImageRgb16(img) => RgbImage::new(
            w as usize,
            h as usize,
            img.into_raw().into_iter().map(|v| (v >> 8) as u8).collect(),
        ),
        DynamicImage::ImageRgba16(img) => composite(
            img.into_raw().chunks_exact(4).map(|p| {
                [
                    (p[0] >> 8) as u8,
                    (p[1] >> 8) as u8,
                    (p[2] >> 8) as u8,
                    (p[3] >> 8) as u8,
                ]
            }),
            w,
            h,
        ),
        _ => None,
    }
}
