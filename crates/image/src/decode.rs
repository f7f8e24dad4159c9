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

impl Limits {
    /// The largest image file read: 8 bytes per allowed pixel (16-bit RGBA stored raw, the
    /// largest any supported format needs) plus 1 MiB for headers and metadata.
    pub fn max_file_bytes(&self) -> u64 {
        self.max_pixels.saturating_mul(8).saturating_add(1 << 20)
    }
}

/// The bytes of the image file at `path`: a regular file (a FIFO, device or socket is refused
/// without being opened for a blocking read) no longer than [`Limits::max_file_bytes`].
pub fn read_file(path: &Path, limits: Limits) -> Result<Vec<u8>, ImageError> {
    vitrs_tensor::file::read_capped(
        path,
        limits.max_file_bytes(),
        "an image at this pixel limit",
    )
    .map_err(|source| ImageError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Decodes the file at `path` into 8-bit RGB.
pub fn decode_file(path: &Path, limits: Limits) -> Result<RgbImage, ImageError> {
    let bytes = read_file(path, limits)?;
    decode_bytes(&bytes, path, limits)
}

/// The `(width, height)` declared in the header of the image in `bytes` (named `path` in
/// errors), refused if it exceeds `limits`. No pixel memory is allocated.
pub fn dimensions(bytes: &[u8], path: &Path, limits: Limits) -> Result<(u32, u32), ImageError> {
    let path_buf = || path.to_path_buf();
    if bytes.is_empty() {
        return Err(ImageError::Empty { path: path_buf() });
    }
    let (width, height) = match crate::jpeg_header::jpeg_header(bytes) {
        // An ordinary JPEG: its frame header, read in place.
        Some(h) => (u32::from(h.width), u32::from(h.height)),
        None => {
            let reader = ImageReader::new(Cursor::new(bytes))
                .with_guessed_format()
                .map_err(|source| ImageError::Io {
                    path: path_buf(),
                    source,
                })?;
            if reader.format().is_none() {
                return Err(ImageError::UnknownFormat { path: path_buf() });
            }
            reader.into_dimensions().map_err(|e| ImageError::Decode {
                path: path_buf(),
                message: e.to_string(),
            })?
        }
    };
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(ImageError::TooLarge {
            path: path_buf(),
            width,
            height,
            limit: limits.max_pixels,
        });
    }
    Ok((width, height))
}

/// Whether `bytes` can be decoded smaller than full size ([`decode_bytes_scaled`]): a JPEG,
/// with the `libjpeg` feature.
pub fn can_decode_scaled(bytes: &[u8]) -> bool {
    #[cfg(feature = "libjpeg")]
    return reader_format(bytes) == Some(image::ImageFormat::Jpeg);
    #[cfg(not(feature = "libjpeg"))]
    {
        let _ = bytes;
        false
    }
}

/// [`decode_bytes`], but a JPEG scaled by `eighths / 8` while it is decoded (libjpeg's DCT
/// scaling: 1, 2, 4 or 8 for full size) when [`can_decode_scaled`]; anything else is decoded at
/// full size. Not what transformers computes: see [`crate::ImageProcessor::set_jpeg_draft`].
pub fn decode_bytes_scaled(
    bytes: &[u8],
    path: &Path,
    limits: Limits,
    eighths: u8,
) -> Result<RgbImage, ImageError> {
    #[cfg(feature = "libjpeg")]
    if eighths < 8 && can_decode_scaled(bytes) {
        // The header check (and bomb limit) first, as decode_bytes does.
        dimensions(bytes, path, limits)?;
        return crate::libjpeg::decode_scaled(bytes, eighths).map_err(|message| {
            ImageError::Decode {
                path: path.to_path_buf(),
                message,
            }
        });
    }
    let _ = eighths;
    decode_bytes(bytes, path, limits)
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
    // Read the header alone first: the bomb check must come before any allocation.
    let (width, height) = dimensions(bytes, path, limits)?;
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

/// An image decoded elsewhere (by the `image` crate, re-exported as [`crate::image`]) to
/// 8-bit RGB with the same policy as files: grey replicated, alpha composited onto white,
/// 16-bit samples to their high byte. `name` is what errors call it. No EXIF orientation is
/// applied: the pixels are taken as they are, as transformers takes a `PIL.Image`.
pub fn from_dynamic(image: DynamicImage, name: &Path) -> Result<RgbImage, ImageError> {
    to_rgb(image).ok_or_else(|| ImageError::Decode {
        path: name.to_path_buf(),
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

/// `k`-byte pixels to 3-byte RGB inside `data` itself, so converting never holds a second
/// copy of the image: pixel `i` moves from `k·i` to `3·i`. Growing (`k` < 3) works from the
/// last pixel down and shrinking from the first up, so no pixel is overwritten before it is
/// read.
fn to_rgb_in_place(mut data: Vec<u8>, k: usize, rgb: impl Fn(&[u8]) -> [u8; 3]) -> Vec<u8> {
    let n = data.len() / k;
    if k < 3 {
        data.resize(3 * n, 0);
        for i in (0..n).rev() {
            let px = rgb(&data[k * i..k * i + k]);
            data[3 * i..3 * i + 3].copy_from_slice(&px);
        }
    } else {
        for i in 0..n {
            let px = rgb(&data[k * i..k * i + k]);
            data[3 * i..3 * i + 3].copy_from_slice(&px);
        }
        data.truncate(3 * n);
        data.shrink_to_fit();
    }
    data
}

/// HF's RGB policy on a decoded image. 16-bit samples keep their high byte, as Pillow's PNG
/// reader does, except 16-bit greyscale, which Pillow opens as 32-bit integers and clips to
/// 255 when converting to RGB.
fn to_rgb(image: DynamicImage) -> Option<RgbImage> {
    let (w, h) = (image.width(), image.height());
    match image {
        DynamicImage::ImageRgb8(img) => RgbImage::new(w as usize, h as usize, img.into_raw()),
        DynamicImage::ImageLuma8(img) => RgbImage::new(
            w as usize,
            h as usize,
            to_rgb_in_place(img.into_raw(), 1, |p| [p[0]; 3]),
        ),
        DynamicImage::ImageLumaA8(img) => RgbImage::new(
            w as usize,
            h as usize,
            to_rgb_in_place(img.into_raw(), 2, |p| [over_white(p[0], p[1]); 3]),
        ),
        DynamicImage::ImageRgba8(img) => RgbImage::new(
            w as usize,
            h as usize,
            to_rgb_in_place(img.into_raw(), 4, |p| {
                [
                    over_white(p[0], p[3]),
                    over_white(p[1], p[3]),
                    over_white(p[2], p[3]),
                ]
            }),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_place_conversion_matches_the_copying_one() {
        let bytes: Vec<u8> = (0..4 * 37u32).map(|i| (i * 97 % 251) as u8).collect();
        let (w, h) = (37, 1);
        let grey_in_place = to_rgb_in_place(bytes[..37].to_vec(), 1, |p| [p[0]; 3]);
        assert_eq!(
            grey_in_place,
            grey(bytes[..37].iter().copied(), w, h).unwrap().data
        );
        let la = to_rgb_in_place(bytes[..74].to_vec(), 2, |p| [over_white(p[0], p[1]); 3]);
        let expected = composite(
            bytes[..74]
                .chunks_exact(2)
                .map(|p| [p[0], p[0], p[0], p[1]]),
            w,
            h,
        );
        assert_eq!(la, expected.unwrap().data);
        let rgba = to_rgb_in_place(bytes.clone(), 4, |p| {
            [
                over_white(p[0], p[3]),
                over_white(p[1], p[3]),
                over_white(p[2], p[3]),
            ]
        });
        let expected = composite(
            bytes.chunks_exact(4).map(|p| [p[0], p[1], p[2], p[3]]),
            w,
            h,
        );
        assert_eq!(rgba, expected.unwrap().data);
    }
}
