//! JPEG through libjpeg-turbo's decoder (the `mozjpeg` crate), which is what Pillow uses:
//! same integer IDCT, same "fancy" chroma upsampling, so the same bytes.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::RgbImage;

/// Whether the data ends with the End Of Image marker (trailing padding allowed). libjpeg
/// fills a truncated image with grey and only warns; Pillow refuses it, and so do we.
fn has_eoi(bytes: &[u8]) -> bool {
    let end = bytes
        .iter()
        .rposition(|&b| b != 0 && !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    end >= 2 && bytes[end - 2..end] == [0xFF, 0xD9]
}

/// Decodes a JPEG into 8-bit RGB (greyscale replicated by libjpeg).
pub fn decode(bytes: &[u8]) -> Result<RgbImage, String> {
    decode_scaled(bytes, 8)
}

/// Decodes a JPEG scaled by `eighths / 8` in the DCT domain (libjpeg's `scale_num`, what
/// Pillow's `Image.draft` uses): 1, 2 and 4 decode an eighth, a quarter or a half of each
/// side for a fraction of the work; 8 is the exact, full-size decode.
pub fn decode_scaled(bytes: &[u8], eighths: u8) -> Result<RgbImage, String> {
    run(bytes, eighths, |image| {
        let (w, h) = (image.width(), image.height());
        // Read as flat bytes: no second copy of a 12-megapixel photo.
        let data: Vec<u8> = image.read_scanlines()?;
        RgbImage::new(w, h, data)
            .map(Some)
            .ok_or_else(|| std::io::Error::other("short scanlines"))
    })?
    .ok_or_else(|| "libjpeg stopped early".into())
}

/// Decodes a JPEG as [`decode_scaled`] does, a row at a time: `start(width, height)` is
/// called once with the decoded size, then (unless it returns `false`, which stops before
/// any pixel is decoded) `row` with each row's `3·width` bytes, top to bottom. A photo then
/// never needs its whole decoded size in memory at once. `Ok(false)` if `start` stopped it.
pub fn decode_rows(
    bytes: &[u8],
    eighths: u8,
    start: impl FnOnce(usize, usize) -> bool,
    mut row: impl FnMut(&[u8]),
) -> Result<bool, String> {
    run(bytes, eighths, |image| {
        let (w, h) = (image.width(), image.height());
        if !start(w, h) {
            return Ok(None);
        }
        let mut line = vec![0u8; 3 * w];
        for _ in 0..h {
            row(image.read_scanlines_into(&mut line)?);
        }
        Ok(Some(()))
    })
    .map(|done| done.is_some())
}

/// Starts libjpeg on `bytes` (RGB output, scaled by `eighths / 8`), runs `read` and finishes
/// (or, where `read` gives `None`, stops: the decoder is dropped unfinished), with libjpeg's
/// failures as messages.
fn run<T>(
    bytes: &[u8],
    eighths: u8,
    read: impl FnOnce(&mut mozjpeg::decompress::DecompressStarted<&[u8]>) -> std::io::Result<Option<T>>,
) -> Result<Option<T>, String> {
    if !has_eoi(bytes) {
        return Err("the JPEG data is truncated (no end-of-image marker)".into());
    }
    // mozjpeg reports libjpeg's fatal errors by unwinding (without calling the panic hook).
    let result = catch_unwind(AssertUnwindSafe(|| -> std::io::Result<Option<T>> {
        let mut decompress = mozjpeg::Decompress::new_mem(bytes)?;
        if eighths != 8 {
            decompress.scale(eighths.clamp(1, 8));
        }
        let mut image = decompress.rgb()?;
        let out = read(&mut image)?;
        if out.is_some() {
            image.finish()?;
        }
        Ok(out)
    }));
    match result {
        Ok(Ok(out)) => Ok(out),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("libjpeg rejected the data (corrupt or unsupported JPEG)".into()),
    }
}
