//! A small `.npy` reader: version 1–3 headers, little- or big-endian f4/f2/f8, C or Fortran
//! order. Sizes are checked against the header before anything is allocated.

/// What a `.npy` header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// `'<f4'`, `'>f2'`, ...
    pub descr: String,
    /// Column-major storage.
    pub fortran_order: bool,
    /// The shape.
    pub shape: Vec<usize>,
    /// Bytes before the data (magic, version, length, header text).
    pub header_bytes: usize,
}

impl Header {
    /// Bytes per element, if the dtype is one we read.
    pub fn item_size(&self) -> Option<usize> {
        match self.descr.get(1..)? {
            "f4" => Some(4),
            "f2" => Some(2),
            "f8" => Some(8),
            _ => None,
        }
    }

    /// Bytes of data the header promises (`None` on overflow or unknown dtype).
    pub fn data_bytes(&self) -> Option<u64> {
        let n = self
            .shape
            .iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d as u64))?;
        n.checked_mul(self.item_size()? as u64)
    }
}

/// The full header length (prefix + text) from the first 10 bytes, or why not.
pub fn header_len(first: &[u8]) -> Result<usize, String> {
    if first.len() < 10 || &first[..6] != b"\x93NUMPY" {
        return Err("not a .npy file (no \\x93NUMPY magic)".into());
    }
    match first[6] {
        1 => Ok(u16::from_le_bytes([first[8], first[9]]) as usize),
        // Versions 2 and 3 have a 4-byte length: two more bytes follow the 10 read.
        2 | 3 => Ok(u32::from_le_bytes([first[8], first[9], 0, 0]) as usize + 2),
        v => Err(format!("unsupported .npy version {v}")),
    }
}

/// Parses a complete header (prefix included).
pub fn parse_header(bytes: &[u8]) -> Result<Header, String> {
    let (text_start, len) = match bytes.get(6) {
        Some(1) => (10, u16::from_le_bytes([bytes[8], bytes[9]]) as usize),
        Some(2 | 3) if bytes.len() >= 12 => (
            12,
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
        ),
        _ => return Err("truncated or unsupported .npy header".into()),
    };
    let text = bytes
        .get(text_start..text_start + len)
        .and_then(|t| std::str::from_utf8(t).ok())
        .ok_or("truncated .npy header")?;
    let field = |key: &str| -> Result<&str, String> {
        let at = text
            .find(&format!("'{key}'"))
            .ok_or(format!("header has no '{key}'"))?;
        let rest = text[at + key.len() + 2..].trim_start();
        Ok(rest
            .strip_prefix(':')
            .ok_or("malformed header")?
            .trim_start())
    };
    let descr = field("descr")?;
    let descr = descr
        .strip_prefix('\'')
        .and_then(|d| d.split('\'').next())
        .ok_or("malformed descr")?
        .to_string();
    if descr.len() < 3 || !descr.is_ascii() {
        return Err(format!("unsupported dtype {descr:?}"));
    }
    let fortran_order = field("fortran_order")?.starts_with("True");
    let shape_text = field("shape")?;
    let inner = shape_text
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or("malformed shape")?;
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| format!("bad dimension {s:?}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let header = Header {
        descr,
        fortran_order,
        shape,
        header_bytes: text_start + len,
    };
    if header.item_size().is_none()
        || !matches!(header.descr.as_bytes()[0], b'<' | b'>' | b'|' | b'=')
    {
        return Err(format!(
            "unsupported dtype {:?}; expected a float ('<f4', '<f2', '<f8')",
            header.descr
        ));
    }
    Ok(header)
}

/// Decodes `data` (the bytes after the header) to `f32` in C order.
pub fn decode(h: &Header, data: &[u8]) -> Result<Vec<f32>, String> {
    let want = h.data_bytes().ok_or("shape overflows")? as usize;
    if data.len() != want {
        return Err(format!("expected {want} data bytes, found {}", data.len()));
    }
    let size = h.item_size().ok_or("unsupported dtype")?;
    let big = h.descr.starts_with('>');
    let values: Vec<f32> = data
        .chunks_exact(size)
        .map(|c| match (size, big) {
            (4, false) => f32::from_le_bytes([c[0], c[1], c[2], c[3]]),
            (4, true) => f32::from_be_bytes([c[0], c[1], c[2], c[3]]),
            (2, false) => half::f16::from_le_bytes([c[0], c[1]]).to_f32(),
            (2, true) => half::f16::from_be_bytes([c[0], c[1]]).to_f32(),
            (_, false) => f64::from_le_bytes(c.try_into().expect("8 bytes")) as f32,
            (_, true) => f64::from_be_bytes(c.try_into().expect("8 bytes")) as f32,
        })
        .collect();
    if !h.fortran_order || h.shape.len() < 2 {
        return Ok(values);
    }
    // Fortran order: reverse the axes' roles.
    let dims = &h.shape;
    let mut out = vec![0.0f32; values.len()];
    let mut idx = vec![0usize; dims.len()];
    for v in out.iter_mut() {
        let mut f = 0;
        let mut stride = 1;
        for (i, &d) in idx.iter().zip(dims) {
            f += i * stride;
            stride *= d;
        }
        *v = values[f];
        for a in (0..dims.len()).rev() {
            idx[a] += 1;
            if idx[a] < dims[a] {
                break;
            }
            idx[a] = 0;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
        let text = format!(
            "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}\n",
            if fortran { "True" } else { "False" }
        );
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend((text.len() as u16).to_le_bytes());
        out.extend(text.as_bytes());
        out.extend(data);
        out
    }

    #[test]
    fn reads_c_and_fortran_order() {
        let data: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let c = npy("<f4", false, "(2, 3)", &data);
        let h = parse_header(&c).unwrap();
        assert_eq!(h.shape, vec![2, 3]);
        assert_eq!(
            decode(&h, &c[h.header_bytes..]).unwrap(),
            vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
        );
        let f = npy("<f4", true, "(2, 3)", &data);
        let h = parse_header(&f).unwrap();
        assert_eq!(
            decode(&h, &f[h.header_bytes..]).unwrap(),
            vec![1.0, 3.0, 5.0, 2.0, 4.0, 6.0]
        );
    }

    /// Found by `cargo fuzz run npz`: a non-ASCII dtype used to panic on a byte slice.
    #[test]
    fn non_ascii_dtype_is_an_error_not_a_panic() {
        let h = npy("<é", false, "(2,)", &[]);
        assert!(parse_header(&h).unwrap_err().contains("unsupported dtype"));
        let h = Header {
            descr: "é4".into(),
            fortran_order: false,
            shape: vec![1],
            header_bytes: 0,
        };
        assert_eq!(h.item_size(), None);
    }

    #[test]
    fn malformed_headers_are_errors() {
        assert!(header_len(b"hello worl").is_err());
        assert!(parse_header(&npy("<i8", false, "(2,)", &[]))
            .unwrap_err()
            .contains("unsupported dtype"));
        assert!(parse_header(&npy("<f4", false, "(2, x)", &[]))
            .unwrap_err()
            .contains("bad dimension"));
        let huge = npy("<f4", false, "(18446744073709551615, 4)", &[]);
        assert_eq!(parse_header(&huge).unwrap().data_bytes(), None);
        let short = npy("<f4", false, "(4,)", &[0; 8]);
        let h = parse_header(&short).unwrap();
        assert!(decode(&h, &short[h.header_bytes..])
            .unwrap_err()
            .contains("expected 16 data bytes"));
    }
}
