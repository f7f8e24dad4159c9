//! The whole pipeline: file → `pixel_values` `[3, H, W]`.

use std::path::Path;

use vitrs_tensor::Tensor;

use crate::decode::{self, Limits};
use crate::resample::resize;
use crate::{Backend, ImageError, ProcessorConfig, RgbImage, Size};

/// transformers' `ViTImageProcessor`, driven by a [`ProcessorConfig`], in either backend
/// ([`Backend`]). The default backend is [`Backend::Torchvision`], what `AutoImageProcessor`
/// and `pipeline()` use when torchvision is installed; configs with BOX or HAMMING resampling,
/// which only PIL has, get [`Backend::Pil`]. [`ImageProcessor::set_backend`] picks one.
///
/// Files are turned upright by their EXIF orientation first, as transformers' pipelines do
/// (`load_image`); [`ImageProcessor::set_exif`] turns that off.
#[derive(Debug, Clone)]
pub struct ImageProcessor {
    config: ProcessorConfig,
    limits: Limits,
    backend: Backend,
    ignore_exif: bool,
    jpeg_draft: bool,
}

impl Default for ImageProcessor {
    fn default() -> Self {
        Self::new(ProcessorConfig::default())
    }
}

impl ImageProcessor {
    /// A processor with `config` and default limits.
    pub fn new(config: ProcessorConfig) -> Self {
        ImageProcessor {
            backend: Backend::default_for(config.resample),
            config,
            limits: Limits::default(),
            ignore_exif: false,
            jpeg_draft: false,
        }
    }

    /// Whether [`ImageProcessor::preprocess_path`] applies the file's EXIF orientation (the
    /// default, as transformers' pipelines; `false` reads the stored pixels as they are, as
    /// the image processor given `PIL.Image.open(path)` does).
    pub fn set_exif(&mut self, apply: bool) {
        self.ignore_exif = !apply;
    }

    /// Draft decoding of JPEGs, **not exact to transformers** (off by default): a JPEG is
    /// decoded already shrunk by libjpeg's DCT scaling (as Pillow's `Image.draft`) to the
    /// smallest of 1/8, 1/4 and 1/2 of its sides that still leaves at least twice the output's
    /// larger side along its shorter one, then resized as usual. A 4032×3024 photo for a 224
    /// output decodes at 1008×756 for about a quarter of the time. The pixels differ from the
    /// full decode's; the embeddings differ slightly (measure on your data). Needs the `libjpeg`
    /// feature; other formats, smaller JPEGs and builds without it decode in full.
    pub fn set_jpeg_draft(&mut self, on: bool) {
        self.jpeg_draft = on;
    }

    /// Whether [`ImageProcessor::set_jpeg_draft`] is on.
    pub fn jpeg_draft(&self) -> bool {
        self.jpeg_draft
    }

    /// The libjpeg scale (in eighths) draft decoding uses for an image of upright `in_size`
    /// (`[height, width]`) preprocessed to `out` (`[height, width]`): 8 (full size) unless
    /// draft decoding is on and a smaller scale keeps the shorter side at least twice the
    /// output's larger side, and gives the same output size.
    fn draft_eighths(&self, in_size: [usize; 2], out: [usize; 2], bytes: &[u8]) -> u8 {
        if !self.jpeg_draft || !decode::can_decode_scaled(bytes) {
            return 8;
        }
        let need = 2 * out[0].max(out[1]);
        [1u8, 2, 4]
            .into_iter()
            .find(|&e| {
                let scaled = in_size.map(|s| (s * e as usize).div_ceil(8));
                scaled[0].min(scaled[1]) >= need && self.output_size(scaled) == out
            })
            .unwrap_or(8)
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Selects the backend; an error if it cannot resample with the config's filter
    /// (torchvision has no BOX or HAMMING).
    pub fn set_backend(&mut self, backend: Backend) -> Result<(), ImageError> {
        if !backend.supports(self.config.resample) {
            return Err(ImageError::UnsupportedFilter {
                filter: self.config.resample,
                backend,
            });
        }
        self.backend = backend;
        Ok(())
    }

    /// [`ImageProcessor::set_backend`], by value.
    pub fn with_backend(mut self, backend: Backend) -> Result<Self, ImageError> {
        self.set_backend(backend)?;
        Ok(self)
    }

    /// From `preprocessor_config.json` text (`path` names it in errors).
    pub fn from_json_str(text: &str, path: &Path) -> Result<Self, ImageError> {
        Ok(Self::new(ProcessorConfig::from_json_str(text, path)?))
    }

    /// From a model folder's `preprocessor_config.json`; transformers' defaults when the folder
    /// has none.
    pub fn from_dir(dir: &Path) -> Result<Self, ImageError> {
        let path = dir.join("preprocessor_config.json");
        // Only a missing file means defaults: one that exists but cannot be read is an error.
        match std::fs::symlink_metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            _ => {}
        }
        match vitrs_tensor::file::read_capped_string(
            &path,
            vitrs_tensor::file::caps::PREPROCESSOR_JSON,
            "a preprocessor_config.json",
        ) {
            Ok(text) => Self::from_json_str(&text, &path),
            Err(source) => Err(ImageError::Io { path, source }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ProcessorConfig {
        &self.config
    }

    /// Replaces the decoding limits.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// Makes the output `[height, width]`: the resize target scales so that a center crop
    /// keeps its proportion (DeiT's 256 → 224 becomes 439 → 384 for 384).
    pub fn set_output_size(&mut self, [height, width]: [usize; 2]) {
        let c = &mut self.config;
        c.do_resize = true;
        match (c.do_center_crop, c.crop_size, c.size) {
            (
                true,
                Some([ch, cw]),
                Size::Exact {
                    height: rh,
                    width: rw,
                },
            ) => {
                c.size = Size::Exact {
                    height: (rh * height + ch / 2) / ch,
                    width: (rw * width + cw / 2) / cw,
                };
                c.crop_size = Some([height, width]);
            }
            (true, Some([ch, _]), Size::ShortestEdge { shortest_edge, .. }) => {
                c.size = Size::ShortestEdge {
                    shortest_edge: (shortest_edge * height + ch / 2) / ch,
                    longest_edge: None,
                };
                c.crop_size = Some([height, width]);
            }
            _ => {
                c.size = Size::Exact { height, width };
                c.do_center_crop = false;
            }
        }
    }

    /// The `[height, width]` an image of `[height, width]` pixels preprocesses to (after the
    /// resize and the center crop the config asks for). Zero rows or columns are possible for
    /// extreme aspect ratios; [`ImageProcessor::preprocess_path`] refuses them.
    pub fn output_size(&self, [height, width]: [usize; 2]) -> [usize; 2] {
        let c = &self.config;
        let mut size = [height, width];
        if c.do_resize {
            size = c.resize_to(size);
        }
        if let (true, Some(crop)) = (c.do_center_crop, c.crop_size) {
            if size.contains(&0) {
                return size;
            }
            size = crop;
        }
        size
    }

    /// Decodes and preprocesses the file at `path` into `[3, H, W]`.
    pub fn preprocess_path(&self, path: &Path) -> Result<Tensor, ImageError> {
        self.preprocess_path_checked(path, |_| Ok(()))
    }

    /// [`ImageProcessor::preprocess_path`], with the output size known from the file header
    /// and put to `accept` before any pixel is decoded: an image the caller cannot use (a
    /// model that takes one size only, say) costs a header read, not a decode and a resize.
    /// `accept` gets `[height, width]` and says why it refuses.
    pub fn preprocess_path_checked(
        &self,
        path: &Path,
        accept: impl FnOnce([usize; 2]) -> Result<(), String>,
    ) -> Result<Tensor, ImageError> {
        self.preprocess_path_sized(path, accept).map(|(t, _)| t)
    }

    /// [`ImageProcessor::preprocess_path_checked`], also returning the image's upright
    /// `[width, height]` (after EXIF orientation), as read from its header.
    pub fn preprocess_path_sized(
        &self,
        path: &Path,
        accept: impl FnOnce([usize; 2]) -> Result<(), String>,
    ) -> Result<(Tensor, [u32; 2]), ImageError> {
        let bytes = decode::read_file(path, self.limits)?;
        self.preprocess_bytes_sized(&bytes, path, accept)
    }

    /// Decodes and preprocesses an encoded image (PNG, JPEG, ...) held in memory into
    /// `[3, H, W]`, exactly as [`ImageProcessor::preprocess_path`] does the same bytes read
    /// from a file: same limits, same EXIF orientation. `name` is what errors call it.
    pub fn preprocess_bytes(&self, bytes: &[u8], name: &Path) -> Result<Tensor, ImageError> {
        self.preprocess_bytes_checked(bytes, name, |_| Ok(()))
    }

    /// [`ImageProcessor::preprocess_bytes`] with the output size put to `accept` before any
    /// pixel is decoded (see [`ImageProcessor::preprocess_path_checked`]).
    pub fn preprocess_bytes_checked(
        &self,
        bytes: &[u8],
        path: &Path,
        accept: impl FnOnce([usize; 2]) -> Result<(), String>,
    ) -> Result<Tensor, ImageError> {
        self.preprocess_bytes_sized(bytes, path, accept)
            .map(|(t, _)| t)
    }

    /// [`ImageProcessor::preprocess_bytes_checked`], also returning the image's upright
    /// `[width, height]` (after EXIF orientation), as read from its header.
    pub fn preprocess_bytes_sized(
        &self,
        bytes: &[u8],
        path: &Path,
        accept: impl FnOnce([usize; 2]) -> Result<(), String>,
    ) -> Result<(Tensor, [u32; 2]), ImageError> {
        let (mut in_width, mut in_height) = decode::dimensions(bytes, path, self.limits)?;
        // EXIF orientations 5–8 turn the image a quarter: the upright size is what counts.
        let exif = if self.ignore_exif {
            1
        } else {
            crate::exif::orientation_of_bytes(bytes)
        };
        if exif >= 5 {
            std::mem::swap(&mut in_width, &mut in_height);
        }
        let [height, width] = self.output_size([in_height as usize, in_width as usize]);
        if height == 0 || width == 0 {
            return Err(ImageError::ZeroSize {
                path: path.to_path_buf(),
                in_width,
                in_height,
                height,
                width,
            });
        }
        if (height as u64).saturating_mul(width as u64) > self.limits.max_pixels {
            return Err(ImageError::OutputTooLarge {
                path: path.to_path_buf(),
                height,
                width,
                limit: self.limits.max_pixels,
            });
        }
        accept([height, width]).map_err(|reason| ImageError::Refused {
            path: path.to_path_buf(),
            in_width,
            in_height,
            height,
            width,
            reason,
        })?;
        let eighths = self.draft_eighths(
            [in_height as usize, in_width as usize],
            [height, width],
            bytes,
        );
        let (image, source) = match self.decode_resizing(bytes, path, eighths, exif)? {
            Some(streamed) => streamed,
            None => {
                let image = crate::exif::apply(
                    decode::decode_bytes_scaled(bytes, path, self.limits, eighths)?,
                    exif,
                );
                let size = [image.height, image.width];
                (image, size)
            }
        };
        let pixels = self.preprocess_from(&image, source).map_err(|[h, w]| {
            if h == 0 || w == 0 {
                ImageError::ZeroSize {
                    path: path.to_path_buf(),
                    in_width,
                    in_height,
                    height: h,
                    width: w,
                }
            } else {
                ImageError::OutputTooLarge {
                    path: path.to_path_buf(),
                    height: h,
                    width: w,
                    limit: self.limits.max_pixels,
                }
            }
        })?;
        Ok((pixels, [in_width, in_height]))
    }

    /// A JPEG decoded a row at a time straight into the resize's horizontal pass (libjpeg,
    /// separable filters), turned upright for EXIF orientation `exif` on the way: the
    /// horizontally resized upright image and the upright `[height, width]`, or `None` where
    /// that does not apply (then the image is decoded whole and turned). The same bytes either
    /// way; a 12-megapixel photo then never sits in memory decoded (36 MB written and read
    /// back, as many page faults, and a copy to turn it).
    fn decode_resizing(
        &self,
        bytes: &[u8],
        path: &Path,
        eighths: u8,
        exif: u8,
    ) -> Result<Option<(RgbImage, [usize; 2])>, ImageError> {
        #[cfg(feature = "libjpeg")]
        if self.config.do_resize && decode::can_decode_scaled(bytes) {
            let c = &self.config;
            let pass = std::cell::RefCell::new(None);
            let mut upright = [0, 0];
            crate::libjpeg::decode_rows(
                bytes,
                eighths,
                |w, h| {
                    let orientation = if (1..=8).contains(&exif) { exif } else { 1 };
                    let turned = crate::resample::separable::swaps_axes(orientation);
                    upright = crate::resample::separable::upright([w, h], orientation);
                    let [th, tw] = c.resize_to(upright);
                    let fits = th > 0
                        && tw > 0
                        && (tw as u64) * (upright[0] as u64) <= self.limits.max_pixels;
                    // A turned image sums into 4-byte accumulators per output value: only
                    // where they take no more than the decoded image (or 64 MB) would.
                    let acc = 4 * 3 * (tw as u64) * (upright[0] as u64);
                    let modest = acc <= (3 * w as u64 * h as u64).max(1 << 26);
                    if fits && (!turned || modest) {
                        *pass.borrow_mut() = crate::backend::row_pass(
                            self.backend,
                            [w, h],
                            orientation,
                            [th, tw],
                            c.resample,
                        );
                    }
                    // No row pass: stop before decoding anything.
                    pass.borrow().is_some()
                },
                |row| {
                    if let Some(pass) = pass.borrow_mut().as_mut() {
                        pass.push(row);
                    }
                },
            )
            .map_err(|message| ImageError::Decode {
                path: path.to_path_buf(),
                message,
            })?;
            // Stopped at the header (no row pass: NEAREST, Pillow's vertical-first sizes, or
            // a size the whole-image path refuses with its own error): decode whole.
            return Ok(pass.into_inner().map(|p| (p.finish(), upright)));
        }
        let _ = (bytes, path, eighths, exif);
        Ok(None)
    }

    /// The decoding limits in use.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// [`ImageProcessor::preprocess`] with its refusal as an [`ImageError`] naming `name`
    /// (what errors call the image).
    pub fn preprocess_named(&self, image: &RgbImage, name: &Path) -> Result<Tensor, ImageError> {
        let in_width = u32::try_from(image.width).unwrap_or(u32::MAX);
        let in_height = u32::try_from(image.height).unwrap_or(u32::MAX);
        if (image.width as u64).saturating_mul(image.height as u64) > self.limits.max_pixels {
            return Err(ImageError::TooLarge {
                path: name.to_path_buf(),
                width: in_width,
                height: in_height,
                limit: self.limits.max_pixels,
            });
        }
        self.preprocess(image).map_err(|[height, width]| {
            if height == 0 || width == 0 {
                ImageError::ZeroSize {
                    path: name.to_path_buf(),
                    in_width,
                    in_height,
                    height,
                    width,
                }
            } else {
                ImageError::OutputTooLarge {
                    path: name.to_path_buf(),
                    height,
                    width,
                    limit: self.limits.max_pixels,
                }
            }
        })
    }

    /// Preprocesses a decoded image into `[3, H, W]`: resize, center crop, rescale, normalize.
    /// `Err` holds the `[height, width]` the config asks for when it exceeds the pixel limit
    /// (a `shortest_edge` config on a very long, thin image, say) or has no rows or columns
    /// (the same config on an image a few thousand times wider than high).
    pub fn preprocess(&self, image: &RgbImage) -> Result<Tensor, [usize; 2]> {
        self.preprocess_from(image, [image.height, image.width])
    }

    /// [`ImageProcessor::preprocess`] of an image of `[height, width]` `source` whose
    /// horizontal resize pass may have been done already (`image` is then as wide as the
    /// resize's target; see `decode_resizing`).
    fn preprocess_from(&self, image: &RgbImage, source: [usize; 2]) -> Result<Tensor, [usize; 2]> {
        let c = &self.config;
        let too_big = |[h, w]: [usize; 2]| {
            h == 0 || w == 0 || (h as u64).saturating_mul(w as u64) > self.limits.max_pixels
        };
        let resized;
        let mut img = image;
        if c.do_resize {
            let [h, w] = c.resize_to(source);
            if too_big([h, w]) {
                return Err([h, w]);
            }
            resized = match self.backend {
                Backend::Pil => resize(image, w, h, c.resample),
                Backend::Torchvision => crate::backend::resize(image, w, h, c.resample),
            };
            img = &resized;
        }
        let cropped;
        if let (true, Some(crop)) = (c.do_center_crop, c.crop_size) {
            if too_big(crop) {
                return Err(crop);
            }
            cropped = match self.backend {
                Backend::Pil => center_crop(img, crop),
                Backend::Torchvision => crate::backend::center_crop(img, crop),
            };
            img = &cropped;
        }
        let (h, w) = (img.height, img.width);
        if self.backend == Backend::Torchvision {
            let out = crate::backend::normalize(img, c);
            return Ok(Tensor::new(&[3, h, w], out).expect("three planes of h·w values"));
        }
        let mut out = vec![0.0f32; 3 * h * w];
        for ch in 0..3 {
            let plane = &mut out[ch * h * w..(ch + 1) * h * w];
            for (o, px) in plane.iter_mut().zip(img.data.chunks_exact(3)) {
                let v = px[ch];
                // float32(float64(u8) · factor), as numpy's rescale; then float32 arithmetic.
                let mut x = if c.do_rescale {
                    (f64::from(v) * c.rescale_factor) as f32
                } else {
                    f32::from(v)
                };
                if c.do_normalize {
                    x = (x - c.image_mean[ch]) / c.image_std[ch];
                }
                *o = x;
            }
        }
        Ok(Tensor::new(&[3, h, w], out).expect("three planes of h·w values"))
    }
}

/// transformers' numpy `center_crop`: `top = (H − ch) // 2`, `left = (W − cw) // 2`, padding
/// with zeros (centred, extra on the far side) where the image is smaller than the crop.
fn center_crop(image: &RgbImage, [ch, cw]: [usize; 2]) -> RgbImage {
    let (h, w) = (image.height as i64, image.width as i64);
    let (ch_i, cw_i) = (ch as i64, cw as i64);
    let top = (h - ch_i).div_euclid(2);
    let left = (w - cw_i).div_euclid(2);
    let mut data = vec![0u8; ch * cw * 3];
    if top >= 0 && left >= 0 {
        for y in 0..ch {
            let src = ((top as usize + y) * image.width + left as usize) * 3;
            data[y * cw * 3..(y + 1) * cw * 3].copy_from_slice(&image.data[src..src + cw * 3]);
        }
    } else {
        // Pad to at least the crop size, centred (ceil on the near side), then crop.
        let nh = h.max(ch_i);
        let nw = w.max(cw_i);
        let top_pad = (nh - h + 1) / 2;
        let left_pad = (nw - w + 1) / 2;
        let (t, l) = (top + top_pad, left + left_pad);
        for y in 0..ch_i {
            for x in 0..cw_i {
                // Position in the padded image, then in the original.
                let (py, px) = (t + y, l + x);
                let (sy, sx) = (py - top_pad, px - left_pad);
                if (0..h).contains(&sy) && (0..w).contains(&sx) {
                    let s = ((sy * w + sx) * 3) as usize;
                    let d = ((y * cw_i + x) * 3) as usize;
                    data[d..d + 3].copy_from_slice(&image.data[s..s + 3]);
                }
            }
        }
    }
    RgbImage {
        width: cw,
        height: ch,
        data,
    }
}
