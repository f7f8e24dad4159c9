//! The high-level API: a model with its image processor, from a folder, a Hub id or a
//! `random:` architecture; embed and classify image files.
//!
//! ```
//! use vitrs::pipeline::Pipeline;
//! use vitrs::embed::Pool;
//!
//! let vit = Pipeline::from_pretrained("random:deit-tiny-patch16-224")?;
//! let cat = "../../fixtures/images/chelsea.png";
//! let embedding = vit.embed(cat, Pool::Cls)?;
//! assert_eq!(embedding.dims(), &[192]);
//! let top = vit.classify(cat, 3)?;
//! assert_eq!(top.len(), 3);
//! assert!(top[0].probability >= top[1].probability);
//! # Ok::<(), anyhow::Error>(())
//! ```

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};
use vitrs_image::{ImageProcessor, Limits, RgbImage};
use vitrs_model::{ForwardOptions, LoadOptions, ViT, ViTOutput};
use vitrs_tensor::Tensor;

use crate::embed::{pool, Pool};
use crate::load::{self, Loaded, ModelArgs};

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

/// A model and the image processor that belongs with it.
pub struct Pipeline {
    loaded: Loaded,
    processor: ImageProcessor,
    /// Run at the processor's size even if it differs from the model's (see
    /// [`Pipeline::set_size`]).
    pub interpolate_pos_encoding: bool,
    /// Divide each embedding by its L2 norm (for cosine-similarity retrieval).
    pub normalize: bool,
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
    /// The file.
    pub path: PathBuf,
    /// What went wrong, naming the file.
    pub error: anyhow::Error,
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.error)
    }
}

impl Pipeline {
    /// Loads a model folder or `random:NAME` (seed 0) with its `preprocessor_config.json`
    /// (transformers' defaults when there is none).
    pub fn from_pretrained(spec: &str) -> Result<Self> {
        Self::from_loaded(load::load(spec, 0, &LoadOptions::default())?)
    }

    /// Loads what command-line [`ModelArgs`] name.
    pub fn from_args(args: &ModelArgs) -> Result<Self> {
        Self::from_loaded(args.load()?)
    }

    fn from_loaded(loaded: Loaded) -> Result<Self> {
        let processor = loaded.image_processor()?;
        Ok(Pipeline {
            loaded,
            processor,
            interpolate_pos_encoding: false,
            normalize: false,
        })
    }

    /// The model.
    pub fn model(&self) -> &ViT {
        &self.loaded.vit
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

    /// Preprocesses one file into `pixel_values` `[3, H, W]`. The size it will have is known
    /// from the file header and checked against what the model takes before anything is
    /// decoded, so an image the model would refuse costs a header read.
    pub fn preprocess(&self, path: &Path) -> Result<Tensor> {
        let opts = ForwardOptions {
            interpolate_pos_encoding: self.interpolate_pos_encoding,
            ..Default::default()
        };
        let channels = self.loaded.vit.config().num_channels;
        Ok(self.processor.preprocess_path_checked(path, |[h, w]| {
            self.loaded
                .vit
                .check_input(&[1, channels, h, w], &opts)
                .map(drop)
                .map_err(|e| e.to_string())
        })?)
    }

    /// Embeds a batch of files in one forward pass. Each file gets its own result, so one bad
    /// file does not lose the others; the outer error is for the model failing as a whole.
    /// `Ok` holds the embedding and the `last_hidden_state` shape of one image.
    pub fn embed_paths(
        &self,
        paths: &[PathBuf],
        how: Pool,
    ) -> Result<Vec<Result<Embedded, Skipped>>> {
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

    /// Decodes encoded image bytes (PNG, JPEG, ...; `name` is what errors call them) and
    /// preprocesses them into `pixel_values` `[3, H, W]`.
    pub fn preprocess_bytes(&self, bytes: &[u8], name: &Path) -> Result<Tensor> {
        let image = vitrs_image::decode::decode_bytes(bytes, name, vitrs_image::Limits::default())?;
        self.preprocess_image(&image, name)
    }

    /// Preprocesses a decoded RGB image (`name` is what errors call it) into `pixel_values`
    /// `[3, H, W]`.
    pub fn preprocess_image(&self, image: &RgbImage, name: &Path) -> Result<Tensor> {
        self.processor.preprocess(image).map_err(|[height, width]| {
            vitrs_image::ImageError::OutputTooLarge {
                path: name.to_path_buf(),
                height,
                width,
                limit: vitrs_image::DEFAULT_MAX_PIXELS,
            }
            .into()
        })
    }

    /// Embeds already preprocessed images (`[3, H, W]` each, all one size) in one forward
    /// pass; an `Err` entry (an image that could not be read) passes through as it is, so the
    /// results line up with the inputs.
    pub fn embed_preprocessed(
        &self,
        mut pixels: Vec<Result<Tensor, Skipped>>,
        how: Pool,
    ) -> Result<Vec<Result<Embedded, Skipped>>> {
        let good: Vec<&Tensor> = pixels.iter().filter_map(|r| r.as_ref().ok()).collect();
        let (mut pooled, shape) = if good.is_empty() {
            (Vec::new().into_iter(), Vec::new())
        } else {
            let out = self.forward(&stack(&good)?, &ForwardOptions::default())?;
            let mut shape = out.last_hidden_state.dims().to_vec();
            shape[0] = 1;
            let prefix = self.loaded.vit.variant().tokens.prefix();
            let pooled = pool::pool(&out, how, prefix, self.normalize).map_err(|e| anyhow!(e))?;
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

    /// Embeds one file.
    pub fn embed(&self, path: impl AsRef<Path>, how: Pool) -> Result<Tensor> {
        let path = path.as_ref().to_path_buf();
        let mut out = self.embed_paths(std::slice::from_ref(&path), how)?;
        match out.pop() {
            Some(Ok(e)) => Ok(e.embedding),
            Some(Err(s)) => Err(s.error),
            None => Err(anyhow!("{}: nothing was embedded", path.display())),
        }
    }

    /// The `top_k` most likely classes of one file (models with a classifier only).
    pub fn classify(&self, path: impl AsRef<Path>, top_k: usize) -> Result<Vec<Prediction>> {
        let path = path.as_ref();
        let labels = self.loaded.vit.labels().ok_or_else(|| {
            anyhow!("this model has no classifier (it is a ViTModel); use `vitrs embed` instead")
        })?;
        let pixels = stack(&[&self.preprocess(path)?])?;
        let opts = ForwardOptions {
            interpolate_pos_encoding: self.interpolate_pos_encoding,
            ..Default::default()
        };
        let out = self.loaded.vit.forward(&pixels, &opts)?;
        let logits = out
            .logits
            .ok_or_else(|| anyhow!("the model returned no logits"))?;
        Ok(top_k_of(logits.data(), labels, top_k))
    }
}

/// `[3, H, W]` images into `[N, 3, H, W]`; all must have the same size.
fn stack(images: &[&Tensor]) -> Result<Tensor> {
    let first = images[0].dims().to_vec();
    let mut data = Vec::with_capacity(images.len() * images[0].data().len());
    for img in images {
        if img.dims() != first.as_slice() {
            return Err(anyhow!(
                "images in one batch must share a size: {:?} and {:?}",
                first,
                img.dims()
            ));
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
