//! The high-level API: a model with its image processor, from a folder, a Hub id or a
//! `random:` architecture; embed and classify images given as files, encoded bytes or decoded
//! pixels ([`Input`]), one at a time or in batches.
//!
//! ```
//! use vitrs::{Pipeline, Pool};
//!
//! let vit = Pipeline::from_pretrained("random:deit-tiny-patch16-224")?;
//! let cat = "../../fixtures/images/chelsea.png";
//! let embedding = vit.embed(cat, Pool::Cls)?;
//! assert_eq!(embedding.dims(), &[192]);
//! let top = vit.classify(cat, 3)?;
//! assert_eq!(top.len(), 3);
//! assert!(top[0].probability >= top[1].probability);
//!
//! // The same image as encoded bytes, and decoded by the `image` crate: the same pixels.
//! let bytes = std::fs::read(cat)?;
//! let decoded = vitrs::image::open(cat)?;
//! let all = vit.embed_batch([vitrs::Input::from(&bytes[..]), (&decoded).into()], Pool::Cls)?;
//! for e in all {
//!     assert_eq!(e?.data(), embedding.data());
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use vitrs_image::{image, Backend, ImageProcessor, Limits, RgbImage};
use vitrs_model::{ForwardOptions, LoadOptions, ViT, ViTOutput};
use vitrs_tensor::Tensor;

use crate::embed::{pool, Pool};
use crate::load::{self, Loaded, Source};
use crate::{Error, Result};

/// One class and its probability.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Index into the classifier outputs.
    pub index: usize,
    /// `id2label[index]`.
    pub label: String,
    /// Softmax probability.
    pub probability: f32,
    /// The raw logit.
    pub logit: f32,
}

/// One image to embed or classify: a file, encoded bytes (PNG, JPEG, GIF, BMP, WebP, TIFF), or
/// pixels already decoded by the `image` crate (re-exported as [`crate::image`]).
///
/// Files and bytes are decoded by vitrs exactly as transformers' pipelines load them
/// (Pillow-identical JPEG with the `libjpeg` feature, EXIF orientation applied unless
/// [`PipelineBuilder::exif`] turns it off, the pixel limit checked in the header before
/// anything is decoded). Decoded images are taken as they are, as transformers takes a
/// `PIL.Image`: grey is replicated, alpha composited onto white, 16-bit samples keep their
/// high byte.
///
/// `From` conversions exist for `&str`, `String`, `&Path` and `PathBuf` (files), `&[u8]` and
/// `Vec<u8>` (encoded bytes), and `image::RgbImage` / `image::DynamicImage` (owned or
/// borrowed).
#[derive(Debug, Clone)]
pub enum Input<'a> {
    /// An image file.
    Path(Cow<'a, Path>),
    /// An encoded image in memory; `name` is what errors call it.
    Bytes {
        /// The encoded image.
        bytes: Cow<'a, [u8]>,
        /// What errors call it (`<bytes>` by default).
        name: PathBuf,
    },
    /// 8-bit RGB pixels.
    Rgb(Cow<'a, image::RgbImage>),
    /// Any image the `image` crate decoded.
    Image(Cow<'a, image::DynamicImage>),
}

impl<'a> Input<'a> {
    /// Encoded bytes that errors call `name` (a file name, a URL, a database key).
    pub fn named_bytes(bytes: impl Into<Cow<'a, [u8]>>, name: impl Into<PathBuf>) -> Self {
        Input::Bytes {
            bytes: bytes.into(),
            name: name.into(),
        }
    }

    /// What errors call this input: the file, the bytes' name, `<image>` for pixels.
    pub fn name(&self) -> &Path {
        match self {
            Input::Path(p) => p,
            Input::Bytes { name, .. } => name,
            Input::Rgb(_) | Input::Image(_) => Path::new("<image>"),
        }
    }
}

impl<'a> From<&'a Path> for Input<'a> {
    fn from(p: &'a Path) -> Self {
        Input::Path(Cow::Borrowed(p))
    }
}

impl<'a> From<&'a PathBuf> for Input<'a> {
    fn from(p: &'a PathBuf) -> Self {
        Input::Path(Cow::Borrowed(p.as_path()))
    }
}

impl From<PathBuf> for Input<'_> {
    fn from(p: PathBuf) -> Self {
        Input::Path(Cow::Owned(p))
    }
}

impl<'a> From<&'a str> for Input<'a> {
    fn from(p: &'a str) -> Self {
        Input::Path(Cow::Borrowed(Path::new(p)))
    }
}

impl From<String> for Input<'_> {
    fn from(p: String) -> Self {
        Input::Path(Cow::Owned(PathBuf::from(p)))
    }
}

impl<'a> From<&'a [u8]> for Input<'a> {
    fn from(bytes: &'a [u8]) -> Self {
        Input::named_bytes(bytes, "<bytes>")
    }
}

impl From<Vec<u8>> for Input<'_> {
    fn from(bytes: Vec<u8>) -> Self {
        Input::named_bytes(bytes, "<bytes>")
    }
}

impl<'a> From<&'a image::RgbImage> for Input<'a> {
    fn from(img: &'a image::RgbImage) -> Self {
        Input::Rgb(Cow::Borrowed(img))
    }
}

impl From<image::RgbImage> for Input<'_> {
    fn from(img: image::RgbImage) -> Self {
        Input::Rgb(Cow::Owned(img))
    }
}

impl<'a> From<&'a image::DynamicImage> for Input<'a> {
    fn from(img: &'a image::DynamicImage) -> Self {
        Input::Image(Cow::Borrowed(img))
    }
}

impl From<image::DynamicImage> for Input<'_> {
    fn from(img: image::DynamicImage) -> Self {
        Input::Image(Cow::Owned(img))
    }
}

/// How to load a [`Pipeline`] and how it preprocesses and embeds: what the `vitrs` command's
/// flags set (`--seed`, `--allow-nonfinite`, `--backend`, `--no-exif`, `--max-pixels`,
/// `--size`, `--interpolate-pos-encoding`, `--normalize`, `--batch`).
///
/// ```
/// use vitrs::{Backend, Pipeline};
///
/// let vit = Pipeline::builder("random:deit-tiny-patch16-224")
///     .seed(7)
///     .backend(Backend::Pil)
///     .exif(false)
///     .max_pixels(50_000_000)
///     .normalize(true)
///     .batch_size(16)
///     .build()?;
/// assert_eq!(vit.processor().backend(), Backend::Pil);
/// # Ok::<(), vitrs::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until .build()"]
pub struct PipelineBuilder {
    spec: String,
    seed: u64,
    load: LoadOptions,
    backend: Option<Backend>,
    exif: bool,
    jpeg_draft: bool,
    limits: Limits,
    size: Option<[usize; 2]>,
    interpolate_pos_encoding: bool,
    normalize: bool,
    batch_size: usize,
}

impl PipelineBuilder {
    /// The seed of `random:` weights (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Load weights even if they hold NaN or infinities (refused by default).
    pub fn allow_nonfinite(mut self, allow: bool) -> Self {
        self.load.allow_nonfinite = allow;
        self
    }

    /// What the encoder's linear layers compute in (default f32; int8 quantizes an f32
    /// checkpoint while loading).
    pub fn dtype(mut self, dtype: vitrs_model::ComputeDtype) -> Self {
        self.load.dtype = dtype;
        self
    }

    /// transformers' image-processor backend to reproduce (default: what
    /// `AutoImageProcessor` picks, torchvision unless the config's filter needs PIL).
    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = Some(backend);
        self
    }

    /// Turn files and bytes upright by their EXIF orientation (default `true`, as
    /// transformers' pipelines).
    pub fn exif(mut self, apply: bool) -> Self {
        self.exif = apply;
        self
    }

    /// Draft decoding of large JPEGs (default `false`): faster, **not exact** to transformers;
    /// see [`vitrs_image::ImageProcessor::set_jpeg_draft`].
    pub fn jpeg_draft(mut self, on: bool) -> Self {
        self.jpeg_draft = on;
        self
    }

    /// The largest image accepted, in pixels, checked in the header before decoding.
    pub fn max_pixels(mut self, max_pixels: u64) -> Self {
        self.limits.max_pixels = max_pixels;
        self
    }

    /// Resize (and crop) to `[height, width]` instead of the processor's size; unless it is
    /// the model's own size, set [`PipelineBuilder::interpolate_pos_encoding`] too.
    pub fn size(mut self, size: [usize; 2]) -> Self {
        self.size = Some(size);
        self
    }

    /// Run at the processor's size even if it differs from the model's, by resizing the
    /// position table as transformers does.
    pub fn interpolate_pos_encoding(mut self, on: bool) -> Self {
        self.interpolate_pos_encoding = on;
        self
    }

    /// Divide each embedding by its L2 norm (for cosine similarity).
    pub fn normalize(mut self, on: bool) -> Self {
        self.normalize = on;
        self
    }

    /// Images per forward pass in [`Pipeline::embed_batch`] and [`Pipeline::classify_batch`]
    /// (default 8).
    pub fn batch_size(mut self, n: usize) -> Self {
        self.batch_size = n.max(1);
        self
    }

    /// Loads the model and its image processor.
    pub fn build(self) -> Result<Pipeline> {
        let loaded = load::load(&self.spec, self.seed, &self.load)?;
        let mut pipeline = Pipeline::from_loaded(loaded)?;
        if let Some(b) = self.backend {
            pipeline.processor.set_backend(b)?;
        }
        pipeline.processor.set_exif(self.exif);
        pipeline.processor.set_jpeg_draft(self.jpeg_draft);
        pipeline.processor.set_limits(self.limits);
        if let Some(size) = self.size {
            pipeline.set_size(size);
        }
        pipeline.interpolate_pos_encoding = self.interpolate_pos_encoding;
        pipeline.normalize = self.normalize;
        pipeline.batch_size = self.batch_size;
        Ok(pipeline)
    }
}

/// A model and the image processor that belongs with it.
pub struct Pipeline {
    loaded: Loaded,
    processor: ImageProcessor,
    /// Run at the processor's size even if it differs from the model's (see
    /// [`Pipeline::set_size`]).
    pub interpolate_pos_encoding: bool,
    /// Divide each embedding by its L2 norm (for cosine-similarity retrieval).
    pub normalize: bool,
    /// Images per forward pass in [`Pipeline::embed_batch`] and [`Pipeline::classify_batch`].
    pub batch_size: usize,
}

/// One image's embedding.
#[derive(Debug, Clone)]
pub struct Embedded {
    /// The pooled embedding (`[D]`, `[P]` or `[T, D]`).
    pub embedding: Tensor,
    /// The `last_hidden_state` shape of one image, `[1, T, D]`.
    pub tokens: Vec<usize>,
}

/// One image that could not be embedded, and why.
#[derive(Debug)]
pub struct Skipped {
    /// The file (or what errors call the input).
    pub path: PathBuf,
    /// What went wrong, naming the file.
    pub error: Error,
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.error.chain())
    }
}

impl std::error::Error for Skipped {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}

impl Pipeline {
    /// Loads a model folder, a Hub id (`org/name[@revision]`) or `random:NAME` (seed 0) with
    /// its `preprocessor_config.json` (transformers' defaults when there is none).
    pub fn from_pretrained(spec: &str) -> Result<Self> {
        Self::builder(spec).build()
    }

    /// A [`PipelineBuilder`] for `spec` (a folder, a Hub id or `random:NAME`), to set options
    /// before loading.
    pub fn builder(spec: impl Into<String>) -> PipelineBuilder {
        PipelineBuilder {
            spec: spec.into(),
            seed: 0,
            load: LoadOptions::default(),
            backend: None,
            exif: true,
            jpeg_draft: false,
            limits: Limits::default(),
            size: None,
            interpolate_pos_encoding: false,
            normalize: false,
            batch_size: 8,
        }
    }

    /// A pipeline around a model already loaded.
    pub fn from_loaded(loaded: Loaded) -> Result<Self> {
        let processor = loaded.image_processor()?;
        Ok(Pipeline {
            loaded,
            processor,
            interpolate_pos_encoding: false,
            normalize: false,
            batch_size: 8,
        })
    }

    /// The model.
    pub fn model(&self) -> &ViT {
        &self.loaded.vit
    }

    /// The model, to change (to share its weights between processes, say:
    /// [`ViT::share_weights`]).
    pub fn model_mut(&mut self) -> &mut ViT {
        &mut self.loaded.vit
    }

    /// The image processor.
    pub fn processor(&self) -> &ImageProcessor {
        &self.processor
    }

    /// The image processor, to change (its backend, say).
    pub fn processor_mut(&mut self) -> &mut ImageProcessor {
        &mut self.processor
    }

    /// Resizes (and crops) images to `[height, width]` instead of the processor's size. Unless
    /// it is the model's own size, set [`Pipeline::interpolate_pos_encoding`] too.
    pub fn set_size(&mut self, size: [usize; 2]) {
        self.processor.set_output_size(size);
    }

    /// Replaces the decoding limits (`--max-pixels`).
    pub fn set_limits(&mut self, limits: Limits) {
        self.processor.set_limits(limits);
    }

    /// Why the model cannot take a `[height, width]` input, if it cannot.
    fn accept(&self, [h, w]: [usize; 2]) -> std::result::Result<(), String> {
        let opts = ForwardOptions {
            interpolate_pos_encoding: self.interpolate_pos_encoding,
            ..Default::default()
        };
        let channels = self.loaded.vit.config().num_channels;
        self.loaded
            .vit
            .check_input(&[1, channels, h, w], &opts)
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// Preprocesses one file into `pixel_values` `[3, H, W]`. The size it will have is known
    /// from the file header and checked against what the model takes before anything is
    /// decoded, so an image the model would refuse costs a header read.
    pub fn preprocess(&self, path: &Path) -> Result<Tensor> {
        Ok(self
            .processor
            .preprocess_path_checked(path, |size| self.accept(size))?)
    }

    /// Decodes encoded image bytes (PNG, JPEG, ...; `name` is what errors call them) and
    /// preprocesses them into `pixel_values` `[3, H, W]`, exactly as the same bytes in a file
    /// (same pixel limit, same EXIF orientation, same header check against the model).
    pub fn preprocess_bytes(&self, bytes: &[u8], name: &Path) -> Result<Tensor> {
        Ok(self
            .processor
            .preprocess_bytes_checked(bytes, name, |size| self.accept(size))?)
    }

    /// Preprocesses a decoded RGB image (`name` is what errors call it) into `pixel_values`
    /// `[3, H, W]`.
    pub fn preprocess_image(&self, image: &RgbImage, name: &Path) -> Result<Tensor> {
        Ok(self.processor.preprocess_named(image, name)?)
    }

    /// Preprocesses any [`Input`] into `pixel_values` `[3, H, W]`.
    pub fn preprocess_input(&self, input: &Input<'_>) -> Result<Tensor> {
        match input {
            Input::Path(p) => self.preprocess(p),
            Input::Bytes { bytes, name } => self.preprocess_bytes(bytes, name),
            Input::Rgb(img) => {
                let (w, h) = img.dimensions();
                let rgb = RgbImage::new(w as usize, h as usize, img.as_raw().clone())
                    .expect("an image::RgbImage holds width · height · 3 bytes");
                self.preprocess_image(&rgb, input.name())
            }
            Input::Image(img) => {
                let rgb = vitrs_image::decode::from_dynamic(img.as_ref().clone(), input.name())?;
                self.preprocess_image(&rgb, input.name())
            }
        }
    }

    /// Embeds a batch of files in one forward pass. Each file gets its own result, so one bad
    /// file does not lose the others; the outer error is for the model failing as a whole.
    /// `Ok` holds the embedding and the `last_hidden_state` shape of one image.
    pub fn embed_paths(
        &self,
        paths: &[PathBuf],
        how: Pool,
    ) -> Result<Vec<std::result::Result<Embedded, Skipped>>> {
        let pixels = paths
            .iter()
            .map(|p| {
                self.preprocess(p).map_err(|error| Skipped {
                    path: p.clone(),
                    error,
                })
            })
            .collect();
        self.embed_preprocessed(pixels, how)
    }

    /// Embeds already preprocessed images (`[3, H, W]` each, all one size) in one forward
    /// pass; an `Err` entry (an image that could not be read) passes through as it is, so the
    /// results line up with the inputs.
    pub fn embed_preprocessed(
        &self,
        mut pixels: Vec<std::result::Result<Tensor, Skipped>>,
        how: Pool,
    ) -> Result<Vec<std::result::Result<Embedded, Skipped>>> {
        let good: Vec<&Tensor> = pixels.iter().filter_map(|r| r.as_ref().ok()).collect();
        let (mut pooled, shape) = if good.is_empty() {
            (Vec::new().into_iter(), Vec::new())
        } else {
            let vit = &self.loaded.vit;
            let pixels = stack(&good)?;
            let opts = ForwardOptions {
                prefix_only: how.reads_prefix_only(vit),
                ..Default::default()
            };
            let out = self.forward(&pixels, &opts)?;
            // The whole last_hidden_state's shape, also when only its prefix was computed.
            let &[_, _, h, w] = pixels.dims() else {
                unreachable!("stack makes [N, C, H, W]")
            };
            let mut shape = out.last_hidden_state.dims().to_vec();
            shape[0] = 1;
            shape[1] = vit.tokens_for_size([h, w]);
            let pooled = pool::pool(&out, how, vit.prefix_tokens(), self.normalize)
                .map_err(|m| Error::option("--pool", m))?;
            (pooled.into_iter(), shape)
        };
        Ok(pixels
            .drain(..)
            .map(|r| {
                r.map(|_| Embedded {
                    embedding: pooled.next().expect("one embedding per good image"),
                    tokens: shape.clone(),
                })
            })
            .collect())
    }

    /// The model on a `pixel_values` batch `[N, 3, H, W]`, with
    /// [`Pipeline::interpolate_pos_encoding`] added to `opts`.
    pub fn forward(&self, pixels: &Tensor, opts: &ForwardOptions) -> Result<ViTOutput> {
        let opts = ForwardOptions {
            interpolate_pos_encoding: opts.interpolate_pos_encoding
                || self.interpolate_pos_encoding,
            ..*opts
        };
        Ok(self.loaded.vit.forward(pixels, &opts)?)
    }

    /// Where the model came from (a folder, or `random:` with its seed).
    pub fn source(&self) -> &load::Source {
        &self.loaded.source
    }

    /// The model as errors name it: its folder, or `random:NAME`.
    fn name(&self) -> String {
        match &self.loaded.source {
            Source::Dir(d) => d.display().to_string(),
            Source::Random(arch, _) => format!("random:{}", arch.name),
        }
    }

    /// Embeds one image (a path, bytes or pixels: see [`Input`]).
    /// `how` must be one the model has ([`Pool::check`]; [`Pool::natural`] is the family's
    /// usual embedding).
    pub fn embed<'a>(&self, input: impl Into<Input<'a>>, how: Pool) -> Result<Tensor> {
        self.check_pool(how)?;
        let input = input.into();
        let pixels = self.preprocess_input(&input)?;
        let mut out = self.embed_preprocessed(vec![Ok(pixels)], how)?;
        match out.pop() {
            Some(Ok(e)) => Ok(e.embedding),
            Some(Err(s)) => Err(s.error),
            None => unreachable!("one result per input"),
        }
    }

    /// Embeds many images, [`Pipeline::batch_size`] per forward pass. The results line up
    /// with the inputs: an image that cannot be read is an `Err` in its place and does not
    /// stop the others; the outer error is for the model failing as a whole. Images of one
    /// forward pass must preprocess to one size (every fixed-size processor does).
    pub fn embed_batch<'a, I>(
        &self,
        inputs: I,
        how: Pool,
    ) -> Result<Vec<std::result::Result<Tensor, Skipped>>>
    where
        I: IntoIterator,
        I::Item: Into<Input<'a>>,
    {
        self.check_pool(how)?;
        let inputs: Vec<Input<'a>> = inputs.into_iter().map(Into::into).collect();
        let mut out = Vec::with_capacity(inputs.len());
        for chunk in inputs.chunks(self.batch_size.max(1)) {
            let pixels = chunk.iter().map(|i| self.pixels_or_skip(i)).collect();
            for r in self.embed_preprocessed(pixels, how)? {
                out.push(r.map(|e| e.embedding));
            }
        }
        Ok(out)
    }

    fn check_pool(&self, how: Pool) -> Result<()> {
        how.check(self.model())
            .map_err(|m| Error::option("--pool", m))
    }

    fn pixels_or_skip(&self, input: &Input<'_>) -> std::result::Result<Tensor, Skipped> {
        self.preprocess_input(input).map_err(|error| Skipped {
            path: input.name().to_path_buf(),
            error,
        })
    }

    /// The `top_k` most likely classes of one image (models with a classifier only).
    pub fn classify<'a>(
        &self,
        input: impl Into<Input<'a>>,
        top_k: usize,
    ) -> Result<Vec<Prediction>> {
        let labels = self.labels()?;
        let pixels = stack(&[&self.preprocess_input(&input.into())?])?;
        let logits = self.logits(&pixels)?;
        Ok(top_k_of(logits.data(), labels, top_k))
    }

    /// The `top_k` most likely classes of many images, [`Pipeline::batch_size`] per forward
    /// pass; the results line up with the inputs, as in [`Pipeline::embed_batch`].
    pub fn classify_batch<'a, I>(
        &self,
        inputs: I,
        top_k: usize,
    ) -> Result<Vec<std::result::Result<Vec<Prediction>, Skipped>>>
    where
        I: IntoIterator,
        I::Item: Into<Input<'a>>,
    {
        let labels = self.labels()?;
        let inputs: Vec<Input<'a>> = inputs.into_iter().map(Into::into).collect();
        let mut out = Vec::with_capacity(inputs.len());
        for chunk in inputs.chunks(self.batch_size.max(1)) {
            let pixels: Vec<_> = chunk.iter().map(|i| self.pixels_or_skip(i)).collect();
            let good: Vec<&Tensor> = pixels.iter().filter_map(|r| r.as_ref().ok()).collect();
            let mut rows = Vec::new();
            if !good.is_empty() {
                let logits = self.logits(&stack(&good)?)?;
                let n = logits.dims()[1];
                rows = logits
                    .data()
                    .chunks_exact(n.max(1))
                    .map(|row| top_k_of(row, labels, top_k))
                    .collect();
            }
            let mut rows = rows.into_iter();
            for r in pixels {
                out.push(r.map(|_| rows.next().expect("one row per good image")));
            }
        }
        Ok(out)
    }

    fn labels(&self) -> Result<&[String]> {
        self.loaded
            .vit
            .labels()
            .ok_or_else(|| Error::NoClassifier { model: self.name() })
    }

    /// The classifier's logits `[N, classes]` for preprocessed `pixels` `[N, 3, H, W]`. The
    /// classifier reads token 0 (and DeiT's token 1), so the rest of the last layer is skipped
    /// ([`ForwardOptions::prefix_only`]). An error for a model without a classifier.
    pub fn logits(&self, pixels: &Tensor) -> Result<Tensor> {
        let opts = ForwardOptions {
            prefix_only: self.loaded.vit.prefix_suffices(),
            ..Default::default()
        };
        let out = self.forward(pixels, &opts)?;
        out.logits
            .ok_or_else(|| Error::NoClassifier { model: self.name() })
    }
}

/// `[3, H, W]` images into `[N, 3, H, W]`; all must have the same size.
fn stack(images: &[&Tensor]) -> Result<Tensor> {
    let first = images[0].dims().to_vec();
    let mut data = Vec::with_capacity(images.len() * images[0].data().len());
    for img in images {
        if img.dims() != first.as_slice() {
            return Err(Error::BatchSizes {
                first,
                found: img.dims().to_vec(),
            });
        }
        data.extend_from_slice(img.data());
    }
    let mut dims = vec![images.len()];
    dims.extend(first);
    Ok(Tensor::new(&dims, data)?)
}

/// Softmax of `logits` and the `k` largest, most likely first.
pub fn top_k_of(logits: &[f32], labels: &[String], k: usize) -> Vec<Prediction> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f64> = logits.iter().map(|&l| ((l - max) as f64).exp()).collect();
    let sum: f64 = exps.iter().sum();
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
    order
        .into_iter()
        .take(k)
        .map(|i| Prediction {
            index: i,
            label: labels
                .get(i)
                .cloned()
                .unwrap_or_else(|| format!("LABEL_{i}")),
            probability: (exps[i] / sum) as f32,
            logit: logits[i],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_is_sorted_and_sums_below_one() {
        let labels: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
        let top = top_k_of(&[1.0, 3.0, 2.0, 3.0], &labels, 3);
        let names: Vec<&str> = top.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(names, ["b", "d", "c"]);
        let e: Vec<f64> = [1.0f64, 3.0, 2.0, 3.0].iter().map(|v| v.exp()).collect();
        let z: f64 = e.iter().sum();
        assert!((top[0].probability as f64 - e[1] / z).abs() < 1e-6);
    }
}
