//! The whole model: load a checkpoint, run the forward pass.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Mutex;

use vitrs_kernels::attention::AttentionShape;
use vitrs_tensor::Tensor;

use crate::embeddings::Embeddings;
use crate::encoder::{Layer, Norm, Scratch};
use crate::heads::{Classifier, Pooler};
use crate::weights::{check_all_used, Weights};
use crate::{Checkpoint, ForwardOptions, Layout, ModelError, ViTConfig, ViTOutput, WeightSource};

/// The most tokens one image may have (a 128 × 128 patch grid plus CLS): the attention scores
/// of one head are then 1 GiB. Larger inputs are refused before anything is allocated.
pub const MAX_TOKENS: usize = 128 * 128 + 1;

/// Options of [`ViT::load_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Accept weights holding NaN or infinities (refused by default: a corrupt checkpoint
    /// must not quietly produce numbers).
    pub allow_nonfinite: bool,
    /// What the encoder's linear layers compute in.
    pub dtype: ComputeDtype,
}

/// What the encoder's linear layers (q/k/v, attention output, fc1, fc2) compute in. The
/// patch embedding, pooler, classifier, attention, softmax and LayerNorm stay f32.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ComputeDtype {
    /// f32 throughout (the default; transformers' numbers to float noise).
    #[default]
    F32,
    /// int8 weights (per output channel) and activations (per row), `i32` accumulation
    /// ([`vitrs_kernels::qgemm`]). An int8 checkpoint's stored weights are used as they are;
    /// an f32 checkpoint is quantized while loading.
    Int8,
}

impl std::str::FromStr for ComputeDtype {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "f32" => Ok(ComputeDtype::F32),
            "int8" => Ok(ComputeDtype::Int8),
            other => Err(format!("unknown dtype `{other}`: expected f32 or int8")),
        }
    }
}

impl std::fmt::Display for ComputeDtype {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ComputeDtype::F32 => "f32",
            ComputeDtype::Int8 => "int8",
        })
    }
}

/// A loaded ViT: `ViTModel` (with or without pooler) or `ViTForImageClassification`.
pub struct ViT {
    config: ViTConfig,
    layout: Layout,
    embeddings: Embeddings,
    layers: Vec<Layer>,
    layernorm: Norm,
    pooler: Option<Pooler>,
    classifier: Option<Classifier>,
    /// Buffers kept between calls so a steady stream of same-sized batches allocates little.
    scratch: Mutex<Scratch>,
}

fn tensor(dims: &[usize], data: Vec<f32>) -> Tensor {
    Tensor::new(dims, data).expect("the forward pass sizes its own outputs")
}

impl ViT {
    /// Loads `config.json` and the safetensors weights (single or sharded) from `dir`.
    pub fn load(dir: &Path) -> Result<Self, ModelError> {
        Self::load_with(dir, &LoadOptions::default())
    }

    /// [`ViT::load`] with options.
    pub fn load_with(dir: &Path, opts: &LoadOptions) -> Result<Self, ModelError> {
        let config = ViTConfig::from_file(&dir.join("config.json"))?;
        let checkpoint = Checkpoint::open_dir(dir)?;
        Self::from_source_with(config, &checkpoint, opts)
    }

    /// Builds the model from `config` and any weight source. Every tensor the architecture
    /// needs must be present with the shape the config implies, and no other may be.
    pub fn from_source(config: ViTConfig, source: &dyn WeightSource) -> Result<Self, ModelError> {
        Self::from_source_with(config, source, &LoadOptions::default())
    }

    /// [`ViT::from_source`] with options.
    pub fn from_source_with(
        config: ViTConfig,
        source: &dyn WeightSource,
        opts: &LoadOptions,
    ) -> Result<Self, ModelError> {
        let (layout, prefix) = if source.dims("vit.embeddings.cls_token").is_some() {
            (Layout::ForImageClassification, "vit.")
        } else if source.dims("embeddings.cls_token").is_some() {
            (Layout::Model, "")
        } else {
            let mut names = source.names();
            names.truncate(5);
            return Err(ModelError::Layout {
                checkpoint: source.describe(),
                message: format!(
                    "not a ViT checkpoint: expected `embeddings.cls_token` (ViTModel) or \
                     `vit.embeddings.cls_token` (ViTForImageClassification), found tensors [{}]",
                    names.join(", ")
                ),
            });
        };
        let used = RefCell::new(BTreeSet::new());
        let root = Weights::new(source, &used, opts.allow_nonfinite);
        let vit = root.pp(prefix.trim_end_matches('.'));
        let w = if prefix.is_empty() { &root } else { &vit };
        let d = config.hidden_size;

        let embeddings = Embeddings::load(&w.pp("embeddings"), &config)?;
        let encoder = w.pp("encoder").pp("layer");
        let layers = (0..config.num_hidden_layers)
            .map(|i| Layer::load(&encoder.pp(i), &config, opts.dtype))
            .collect::<Result<Vec<_>, _>>()?;
        let layernorm = Norm::load(w, "layernorm", d, config.layer_norm_eps)?;
        let pooler = if w.contains("pooler.dense.weight") {
            Some(Pooler {
                dense: w.linear("pooler.dense", config.pooler_output_size, d, true)?,
                act: config.pooler_act,
            })
        } else {
            None
        };
        let classifier = match root.pp("classifier").contains("weight") {
            false => None,
            true => {
                let labels = if config.id2label.is_empty() {
                    let n = source.dims("classifier.weight").map_or(0, |s| s[0]);
                    (0..n).map(|i| format!("LABEL_{i}")).collect()
                } else {
                    config.id2label.clone()
                };
                Some(Classifier {
                    linear: root.linear("classifier", labels.len(), d, true)?,
                    labels,
                })
            }
        };
        check_all_used(source, &used, prefix)?;
        Ok(ViT {
            config,
            layout,
            embeddings,
            layers,
            layernorm,
            pooler,
            classifier,
            scratch: Mutex::new(Scratch::default()),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ViTConfig {
        &self.config
    }

    /// Which transformers class the checkpoint came from.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Whether the model has a pooler (and so returns `pooler_output`).
    pub fn has_pooler(&self) -> bool {
        self.pooler.is_some()
    }

    /// Class names when the model has a classifier.
    pub fn labels(&self) -> Option<&[String]> {
        self.classifier.as_ref().map(|c| c.labels.as_slice())
    }

    /// Multiply-accumulates of one image at `[h, w]` pixels (all matmuls, attention included).
    pub fn macs_per_image(&self, size: [usize; 2]) -> usize {
        let [gh, gw] = self.embeddings.grid_for(size);
        let t = 1 + gh * gw;
        let d = self.config.hidden_size;
        let attention = 2 * t * t * d;
        let layers: usize = self
            .layers
            .iter()
            .map(|l| l.linear_macs(t) + attention)
            .sum();
        let heads = self.pooler.as_ref().map_or(0, |p| p.dense.macs(1))
            + self.classifier.as_ref().map_or(0, |c| c.linear.macs(1));
        self.embeddings.macs(gh * gw) + layers + heads
    }

    /// Number of parameters the forward pass uses (as `model.num_parameters()` counts them,
    /// without the unused `mask_token`).
    pub fn parameter_count(&self) -> usize {
        let c = &self.config;
        let (d, i) = (c.hidden_size, c.intermediate_size);
        let qkv_bias = if c.qkv_bias { 3 * d } else { 0 };
        let layer = 3 * d * d + qkv_bias + (d * d + d) + (i * d + i) + (d * i + d) + 4 * d;
        let embeddings =
            d * c.num_channels * c.patch_size[0] * c.patch_size[1] + d + d + c.tokens() * d;
        let pooler = self
            .pooler
            .as_ref()
            .map_or(0, |p| p.dense.out_features() * (d + 1));
        let classifier = self
            .classifier
            .as_ref()
            .map_or(0, |k| k.labels.len() * (d + 1));
        embeddings + c.num_hidden_layers * layer + 2 * d + pooler + classifier
    }

    fn check_input(&self, dims: &[usize], opts: &ForwardOptions) -> Result<[usize; 2], ModelError> {
        let cfg = &self.config;
        let &[_, c, h, w] = dims else {
            return Err(ModelError::Input(format!(
                "expected 4 dimensions [batch, channels, height, width], found shape {dims:?}"
            )));
        };
        if c != cfg.num_channels {
            return Err(ModelError::Input(format!(
                "expected {} channels (config num_channels), found {c} in shape {dims:?}",
                cfg.num_channels
            )));
        }
        if !opts.interpolate_pos_encoding && [h, w] != cfg.image_size {
            return Err(ModelError::Input(format!(
                "input image size ({h}*{w}) doesn't match model ({}*{}); pass \
                 interpolate_pos_encoding to run at another size",
                cfg.image_size[0], cfg.image_size[1]
            )));
        }
        let tokens = 1 + (h / cfg.patch_size[0]).saturating_mul(w / cfg.patch_size[1]);
        if tokens > MAX_TOKENS {
            return Err(ModelError::Input(format!(
                "{h}x{w} pixels make {tokens} tokens; at most {MAX_TOKENS} are accepted (the \
                 attention scores of one head alone would need {} MB)",
                tokens.saturating_mul(tokens) / (1 << 18)
            )));
        }
        if h < cfg.patch_size[0] || w < cfg.patch_size[1] {
            return Err(ModelError::Input(format!(
                "image of {h}x{w} is smaller than one {}x{} patch",
                cfg.patch_size[0], cfg.patch_size[1]
            )));
        }
        Ok([h, w])
    }

    /// Runs the model on `pixel_values` `[B, C, H, W]`.
    ///
    /// The whole pass runs on the worker pool ([`vitrs_kernels::threads`]), so the GEMMs and
    /// attention split their work between the workers directly instead of waking them from
    /// the calling thread at every step.
    pub fn forward(&self, pixels: &Tensor, opts: &ForwardOptions) -> Result<ViTOutput, ModelError> {
        vitrs_kernels::threads::pool().install(|| self.forward_here(pixels, opts))
    }

    fn forward_here(
        &self,
        pixels: &Tensor,
        opts: &ForwardOptions,
    ) -> Result<ViTOutput, ModelError> {
        let size = self.check_input(pixels.dims(), opts)?;
        let batch = pixels.dims()[0];
        let cfg = &self.config;
        let d = cfg.hidden_size;
        let grid = self.embeddings.grid_for(size);
        let t = 1 + grid[0] * grid[1];
        let shape = AttentionShape {
            tokens: t,
            heads: cfg.num_attention_heads,
            head_dim: cfg.head_dim(),
        };
        let mut guard = self.scratch.lock().unwrap_or_else(|e| e.into_inner());
        let s = &mut *guard;
        s.fit(cfg, batch, t);

        // embeddings: patches · W + b, CLS, + positions                    [B, T, D]
        let positions =
            self.embeddings
                .positions(grid, opts.interpolate_pos_encoding, size[0] == size[1]);
        // The residual stream leaves the scratch while layers borrow the rest of it.
        let mut x = std::mem::take(&mut s.x);
        self.embeddings.forward(
            pixels.data(),
            batch,
            size,
            grid,
            &positions,
            &mut s.patches,
            &mut s.projected,
            &mut x[..batch * t * d],
        );

        // encoder: L × (LN, attention, +, LN, MLP, +)                     [B, T, D]
        let mut hidden_states = Vec::new();
        let mut attentions = Vec::new();
        for layer in &self.layers {
            if opts.output_hidden_states {
                hidden_states.push(tensor(&[batch, t, d], x[..batch * t * d].to_vec()));
            }
            let mut probs = opts
                .output_attentions
                .then(|| vec![0.0f32; batch * shape.heads * t * t]);
            layer.forward(
                shape,
                batch,
                &mut x[..batch * t * d],
                s,
                probs.as_deref_mut(),
            );
            if let Some(p) = probs {
                attentions.push(tensor(&[batch, shape.heads, t, t], p));
            }
        }
        if opts.output_hidden_states {
            hidden_states.push(tensor(&[batch, t, d], x[..batch * t * d].to_vec()));
        }

        // layernorm                                                        [B, T, D]
        let mut last = vec![0.0f32; batch * t * d];
        self.layernorm.forward(&x[..batch * t * d], &mut last);
        s.x = x;

        // heads on the CLS token                                           [B, D]
        let cls: Vec<f32> = last
            .chunks_exact(t * d)
            .flat_map(|img| img[..d].iter().copied())
            .collect();
        let pooler_output = self.pooler.as_ref().map(|p| {
            let n = p.dense.out_features();
            let mut out = vec![0.0f32; batch * n];
            p.forward(&cls, batch, &mut out); //                            [B, P]
            tensor(&[batch, n], out)
        });
        let logits = self.classifier.as_ref().map(|c| {
            let n = c.labels.len();
            let mut out = vec![0.0f32; batch * n];
            c.forward(&cls, batch, &mut out); //                            [B, L]
            tensor(&[batch, n], out)
        });
        Ok(ViTOutput {
            last_hidden_state: tensor(&[batch, t, d], last),
            pooler_output,
            logits,
            hidden_states,
            attentions,
        })
    }
}
