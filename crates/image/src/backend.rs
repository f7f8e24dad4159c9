//! transformers' two image-processor backends, and the torchvision one's crop and normalise.
//!
//! transformers 5.23's `ViTImageProcessor` (and what `AutoImageProcessor` and `pipeline()`
//! pick when torchvision is installed) is the torchvision backend:
//!
//! ```text
//! RGB uint8 → resize(antialias=True) on uint8 (resample::torch) → center crop at
//! int((H − h)/2), zero padding floor-left → float32 → (x − mean/r)/(std/r), mean/r and std/r
//! computed in float32
//! ```
//!
//! `ViTImageProcessorPil` is the PIL backend (Pillow's resize, numpy crop, `x·r` in float64 then
//! float32 normalise). The two differ by one level on ~0.1–0.2% of resized values.

use std::fmt;

use crate::resample::{self, Filter};
use crate::{ProcessorConfig, RgbImage};

/// Which of transformers' image-processor backends to reproduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Backend {
    /// `ViTImageProcessorPil`: Pillow resize, `(H − h)//2` crop, rescale in float64.
    Pil,
    /// `ViTImageProcessor` (torchvision backend): torch's uint8 antialiased resize,
    /// `int((H − h)/2)` crop, fused float32 normalisation. The default, because
    /// `AutoImageProcessor` and `pipeline()` choose it whenever torchvision is installed
    /// (as it is with transformers' torch extra).
    #[default]
    Torchvision,
}

impl Backend {
    /// Whether the backend can resize with `filter`: torch has no BOX or HAMMING kernel
    /// (transformers' torchvision backend raises `NotImplementedError` for them).
    pub fn supports(self, filter: Filter) -> bool {
        match self {
            Backend::Pil => true,
            Backend::Torchvision => !matches!(filter, Filter::Box | Filter::Hamming),
        }
    }

    /// The backend for a config: torchvision, as `AutoImageProcessor`, unless the config's
    /// filter is one only PIL has (BOX, HAMMING), where the PIL backend is the only one that
    /// runs at all.
    pub fn default_for(filter: Filter) -> Backend {
        if Backend::Torchvision.supports(filter) {
            Backend::Torchvision
        } else {
            Backend::Pil
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Pil => "pil",
            Backend::Torchvision => "torchvision",
        })
    }
}

/// Resize as torchvision does (PIL's resize where torch has no kernel, which
/// [`Backend::supports`] keeps from happening).
pub(crate) fn resize(image: &RgbImage, width: usize, height: usize, filter: Filter) -> RgbImage {
    resample::torch::resize(image, width, height, filter)
        .unwrap_or_else(|| resample::resize(image, width, height, filter))
}

/// [`resize`]'s horizontal pass (or PIL's, for [`Backend::Pil`]) to `[height, width]`, fed
/// the decoded rows of a `[w, h]` image of EXIF `orientation` one at a time; `None` where the
/// resize does not start with a separable horizontal pass (NEAREST; PIL's vertical-first
/// sizes). Only JPEGs decoded by libjpeg arrive a row at a time.
#[cfg_attr(not(feature = "libjpeg"), allow(dead_code))]
pub(crate) fn row_pass(
    backend: Backend,
    decoded: [usize; 2],
    orientation: u8,
    out: [usize; 2],
    filter: Filter,
) -> Option<resample::separable::RowPass> {
    match backend {
        Backend::Torchvision => resample::torch::row_pass(decoded, orientation, out, filter),
        Backend::Pil => resample::row_pass(decoded, orientation, out, filter),
    }
}

/// torchvision-backend `center_crop`: where the crop is larger, pad with zeros,
/// `(c − n)//2` before and the rest after; then crop at `int((N − c)/2.0)`.
pub(crate) fn center_crop(image: &RgbImage, [ch, cw]: [usize; 2]) -> RgbImage {
    // Per axis: output index o reads source o + start − pad (outside the source: zero).
    let axis = |n: usize, c: usize| -> (usize, usize) {
        if c > n {
            (0, (c - n) / 2)
        } else {
            ((n - c) / 2, 0)
        }
    };
    let (top, pad_top) = axis(image.height, ch);
    let (left, pad_left) = axis(image.width, cw);
    let mut data = vec![0u8; ch * cw * 3];
    for y in 0..ch {
        let Some(sy) = (y + top).checked_sub(pad_top).filter(|&s| s < image.height) else {
            continue;
        };
        for x in 0..cw {
            let Some(sx) = (x + left)
                .checked_sub(pad_left)
                .filter(|&s| s < image.width)
            else {
                continue;
            };
            let s = (sy * image.width + sx) * 3;
            let d = (y * cw + x) * 3;
            data[d..d + 3].copy_from_slice(&image.data[s..s + 3]);
        }
    }
    RgbImage {
        width: cw,
        height: ch,
        data,
    }
}

/// torchvision-backend `rescale_and_normalize` into `[3, H, W]` planes: with both steps,
/// `mean·(1/r)` and `std·(1/r)` in float32, then `(x − m)/s`; rescale alone is `x·r` in
/// float32.
pub(crate) fn normalize(img: &RgbImage, c: &ProcessorConfig) -> Vec<f32> {
    let (h, w) = (img.height, img.width);
    let inv = (1.0 / c.rescale_factor) as f32;
    let mut out = vec![0.0f32; 3 * h * w];
    for ch in 0..3 {
        let (mut mean, mut std) = (c.image_mean[ch], c.image_std[ch]);
        if c.do_rescale && c.do_normalize {
            mean *= inv;
            std *= inv;
        }
        let plane = &mut out[ch * h * w..(ch + 1) * h * w];
        for (o, px) in plane.iter_mut().zip(img.data.chunks_exact(3)) {
            let x = f32::from(px[ch]);
            *o = if c.do_normalize {
                (x - mean) / std
            } else if c.do_rescale {
                x * c.rescale_factor as f32
            } else {
                x
            };
        }
    }
    out
}
