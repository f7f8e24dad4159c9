//! A JPEG's frame size and EXIF chunk, read from its markers in place.
//!
//! The `image` crate answers the same questions by copying the whole file into a new buffer
//! and parsing its headers (twice: once for the size, once for the orientation): for a 2 MB
//! photo that is more copying and fresh memory than the question needs. This walks the
//! segments between SOI and the first scan, borrowing the bytes. Anything it does not
//! recognise as an ordinary Huffman-coded 8-bit frame is left to the `image` crate (and its
//! errors), so what is accepted and refused does not change.

/// What the markers before a JPEG's first scan say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct JpegHeader<'a> {
    /// Frame width in pixels (never 0).
    pub width: u16,
    /// Frame height in pixels (never 0).
    pub height: u16,
    /// The TIFF data of the first APP1 segment that starts `Exif\0\0` (the one Pillow reads
    /// its orientation from), without that prefix.
    pub exif: Option<&'a [u8]>,
}

/// The header of the JPEG in `bytes`, or `None` when it is not a baseline, extended or
/// progressive (Huffman) 8-bit frame of 1 or 3 components reached before the first scan with
/// every segment inside the data.
pub(crate) fn jpeg_header(bytes: &[u8]) -> Option<JpegHeader<'_>> {
    let rest = bytes.strip_prefix(&[0xFF, 0xD8])?;
    let mut at = 0;
    let mut frame = None;
    let mut exif = None;
    loop {
        // A marker: 0xFF, any number of 0xFF fill bytes, then its code.
        if *rest.get(at)? != 0xFF {
            return None;
        }
        while *rest.get(at)? == 0xFF {
            at += 1;
        }
        let marker = rest[at];
        at += 1;
        match marker {
            // Start of scan: the header is over.
            0xDA => {
                let (width, height) = frame?;
                return Some(JpegHeader {
                    width,
                    height,
                    exif,
                });
            }
            // Markers without a length (TEM, RSTn, SOI, EOI) or 0x00: not a header we read.
            0x00 | 0x01 | 0xD0..=0xD9 => return None,
            _ => {}
        }
        let len = usize::from(u16::from_be_bytes([*rest.get(at)?, *rest.get(at + 1)?]));
        let segment = rest.get(at + 2..at.checked_add(len)?)?;
        at += len;
        match marker {
            // SOF0 (baseline), SOF1 (extended), SOF2 (progressive): precision, height,
            // width, components, then 3 bytes per component.
            0xC0..=0xC2 => {
                let &[precision, h0, h1, w0, w1, n, ..] = segment else {
                    return None;
                };
                let (height, width) = (u16::from_be_bytes([h0, h1]), u16::from_be_bytes([w0, w1]));
                let ok = frame.is_none()
                    && precision == 8
                    && height > 0
                    && width > 0
                    && matches!(n, 1 | 3)
                    && segment.len() == 6 + 3 * usize::from(n);
                if !ok {
                    return None;
                }
                frame = Some((width, height));
            }
            // Every other frame type (lossless, arithmetic, hierarchical): not ours to judge.
            0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => return None,
            0xE1 if exif.is_none() => {
                exif = segment
                    .strip_prefix(b"Exif\0\0")
                    .filter(|tiff| !tiff.is_empty());
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SOI, an APP1 holding `exif` (when given), a 3-component SOF0 of `w × h`, SOS.
    fn jpeg(w: u16, h: u16, exif: Option<&[u8]>) -> Vec<u8> {
        let mut out = vec![0xFF, 0xD8];
        if let Some(tiff) = exif {
            out.extend([0xFF, 0xE1]);
            out.extend((2 + 6 + tiff.len() as u16).to_be_bytes());
            out.extend(b"Exif\0\0");
            out.extend(tiff);
        }
        out.extend([0xFF, 0xC0, 0, 17, 8]);
        out.extend(h.to_be_bytes());
        out.extend(w.to_be_bytes());
        out.extend([3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
        out.extend([0xFF, 0xFF, 0xDA, 0, 2]);
        out
    }

    #[test]
    fn frame_size_and_exif_are_read_in_place() {
        let bytes = jpeg(4032, 3024, Some(b"MM\0*tiff"));
        let h = jpeg_header(&bytes).unwrap();
        assert_eq!((h.width, h.height), (4032, 3024));
        assert_eq!(h.exif, Some(&b"MM\0*tiff"[..]));
        assert_eq!(jpeg_header(&jpeg(1, 2, None)).unwrap().exif, None);
    }

    #[test]
    fn anything_unusual_is_left_to_the_image_crate() {
        let good = jpeg(640, 480, None);
        // Every truncation before the scan's marker, a zero size, no SOI.
        for n in 0..good.len() - 2 {
            assert_eq!(jpeg_header(&good[..n]), None, "{n} bytes");
        }
        assert_eq!(jpeg_header(&jpeg(0, 480, None)), None);
        assert_eq!(jpeg_header(&good[2..]), None);
        // A lossless frame, and 12-bit precision.
        let mut lossless = good.clone();
        lossless[3] = 0xC3;
        assert_eq!(jpeg_header(&lossless), None);
        let mut twelve = good.clone();
        twelve[6] = 12;
        assert_eq!(jpeg_header(&twelve), None);
        // A segment length running past the end.
        let mut long = good;
        long[5] = 200;
        assert_eq!(jpeg_header(&long), None);
    }

    /// The same sizes and orientations as the `image` crate reads, on every committed JPEG.
    #[test]
    fn agrees_with_the_image_crate_on_the_fixtures() {
        use image::{ImageDecoder, ImageReader};
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures");
        let mut seen = 0;
        let files = ["images", "preprocess/images"]
            .iter()
            .flat_map(|d| std::fs::read_dir(format!("{root}/{d}")).unwrap());
        for entry in files {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            if !bytes.starts_with(&[0xFF, 0xD8]) {
                continue;
            }
            let Some(ours) = jpeg_header(&bytes) else {
                continue;
            };
            let mut decoder = ImageReader::new(std::io::Cursor::new(&bytes))
                .with_guessed_format()
                .unwrap()
                .into_decoder()
                .unwrap();
            let (w, h) = decoder.dimensions();
            assert_eq!((u32::from(ours.width), u32::from(ours.height)), (w, h));
            let theirs = decoder.orientation().unwrap().to_exif();
            let from_ours = ours
                .exif
                .and_then(image::metadata::Orientation::from_exif_chunk)
                .map_or(1, |o| o.to_exif());
            assert_eq!(from_ours, theirs, "{}", path.display());
            seen += 1;
        }
        assert!(seen >= 11, "only {seen} JPEGs among the fixtures");
    }
}
