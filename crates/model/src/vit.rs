//! The whole model: load a checkpoint, run the forward pass.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Mutex;

use vitrs_kernels::attention::AttentionShape;
use vitrs_kernels::shared::Layer as SharedLayer;
use vitrs_tensor::Tensor;

use vitrs_kernels::{Epilogue, Linear};

use crate::embeddings::Embeddings;
use crate::encoder::{Layer, Norm, Scratch};
use crate::family::{FinalNorm, Pooling, Variant};
use crate::heads::{Classifier, Pooler, ProbeHead};
use crate::weights::{check_all_used, used_parameters, Weights};
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

/// A loaded model of any supported family: `ViTModel` (with or without pooler),
/// `ViTForImageClassification`, DeiT (with teacher), DINOv2 (with registers), the CLIP vision
/// tower (with projection) and the SigLIP vision tower — one graph, the family's differences
/// held as data ([`crate::family::Variant`]).
pub struct ViT {
    config: ViTConfig,
    layout: Layout,
    embeddings: Embeddings,
    /// CLIP's `pre_layrnorm`.
    pre_norm: Option<Norm>,
    layers: Vec<Layer>,
    /// Over all tokens, or (CLIP) on the pooled first token only.
    final_norm: Norm,
    pooler: Option<Pooler>,
    /// CLIP's `visual_projection`: `image_embeds = W · pooler_output`.
    projection: Option<Linear>,
    classifier: Option<Classifier>,
    /// Parameters the forward pass reads.
    parameters: usize,
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
    /// needs must be present with the shape the config implies, and no other may be (apart
    /// from those the family ignores, such as a two-tower file's text tower).
    pub fn from_source(config: ViTConfig, source: &dyn WeightSource) -> Result<Self, ModelError> {
        Self::from_source_with(config, source, &LoadOptions::default())
    }

    /// [`ViT::from_source`] with options.
    pub fn from_source_with(
        config: ViTConfig,
        source: &dyn WeightSource,
        opts: &LoadOptions,
    ) -> Result<Self, ModelError> {
        if opts.dtype == ComputeDtype::Int8 {
            // A forced ISA without the int8 kernel's features is an error here, not a panic.
            vitrs_kernels::qgemm::QIsa::select()?;
        }
        let variant = config.variant;
        let names = variant.family.names();
        let patch = format!("{}.weight", names.patch);
        let Some(prefix) = names
            .prefixes
            .iter()
            .copied()
            .find(|p| source.dims(&format!("{p}{patch}")).is_some())
        else {
            let mut found = source.names();
            found.truncate(5);
            let expected: Vec<String> = names
                .prefixes
                .iter()
                .map(|p| format!("`{p}{patch}`"))
                .collect();
            return Err(ModelError::Layout {
                checkpoint: source.describe(),
                message: format!(
                    "not a {} checkpoint: expected {}, found tensors [{}]",
                    variant.family.title(),
                    expected.join(" or "),
                    found.join(", ")
                ),
            });
        };
        let used = RefCell::new(BTreeSet::new());
        let root = Weights::new(source, &used, opts.allow_nonfinite);
        let tower = root.pp(prefix.trim_end_matches('.'));
        let w = if prefix.is_empty() { &root } else { &tower };
        let d = config.hidden_size;
        let eps = config.layer_norm_eps;

        let embeddings = Embeddings::load(w, &config, names)?;
        let pre_norm = match variant.pre_norm {
            true => Some(Norm::load(w, names.pre_norm, d, eps)?),
            false => None,
        };
        let encoder = w.pp(names.layers);
        let layers = (0..config.num_hidden_layers)
            .map(|i| Layer::load(&encoder.pp(i), &config, names, opts.dtype))
            .collect::<Result<Vec<_>, _>>()?;
        let final_norm = Norm::load(w, names.final_norm, d, eps)?;
        let pooler = match variant.pooling {
            Pooling::Dense if w.contains(&format!("{}.weight", names.pooler)) => {
                Some(Pooler::Dense {
                    dense: w.linear(names.pooler, config.pooler_output_size, d, true)?,
                    act: config.pooler_act,
                })
            }
            Pooling::Dense | Pooling::None => None,
            Pooling::FirstToken => Some(Pooler::FirstToken),
            Pooling::AttentionProbe => Some(Pooler::Probe(Box::new(ProbeHead::load(
                &w.pp(names.pooler),
                &config,
            )?))),
        };
        let projection = match names.projection {
            "" => None,
            name => match source.dims(&format!("{name}.weight")) {
                Some(dims) if dims.len() == 2 => Some(root.linear(name, dims[0], d, false)?),
                Some(dims) => {
                    return Err(ModelError::Shape {
                        name: format!("{name}.weight"),
                        expected: vec![0, d],
                        found: dims,
                    })
                }
                None => None,
            },
        };
        let (heads, layout) = if !names.teacher[0].is_empty()
            && root.contains(&format!("{}.weight", names.teacher[0]))
        {
            (
                names.teacher.to_vec(),
                Layout::ForImageClassificationWithTeacher,
            )
        } else if !names.classifier.is_empty()
            && root.contains(&format!("{}.weight", names.classifier))
        {
            (vec![names.classifier], Layout::ForImageClassification)
        } else if projection.is_some() {
            (Vec::new(), Layout::WithProjection)
        } else {
            (Vec::new(), Layout::Model)
        };
        let classifier = match heads.first() {
            None => None,
            Some(first) => {
                let labels = if config.id2label.is_empty() {
                    let n = source.dims(&format!("{first}.weight")).map_or(0, |s| s[0]);
                    (0..n).map(|i| format!("LABEL_{i}")).collect()
                } else {
                    config.id2label.clone()
                };
                let heads = heads
                    .iter()
                    .map(|h| root.linear(h, labels.len(), d, true))
                    .collect::<Result<Vec<_>, _>>()?;
                Some(Classifier { heads, labels })
            }
        };
        check_all_used(source, &used, prefix, names.ignored)?;
        let parameters = used_parameters(source, &used);
        Ok(ViT {
            config,
            layout,
            embeddings,
            pre_norm,
            layers,
            final_norm,
            pooler,
            projection,
            classifier,
            parameters,
            scratch: Mutex::new(Scratch::default()),
        })
    }

    /// Every linear layer, f32 or int8 (the bulk of the weights), in a fixed order.
    fn linears_mut(&mut self) -> Vec<SharedLayer<'_>> {
        let mut out = vec![SharedLayer::from(self.embeddings.linear_mut())];
        for layer in &mut self.layers {
            out.extend(layer.linears_mut());
        }
        if let Some(p) = &mut self.pooler {
            out.extend(p.linears_mut());
        }
        out.extend(self.projection.as_mut().map(SharedLayer::from));
        if let Some(c) = &mut self.classifier {
            out.extend(c.heads.iter_mut().map(SharedLayer::from));
        }
        out
    }

    /// Moves the packed weights of the linear layers into a read-only file in `dir` that
    /// every process loading the same weights maps, so N workers on one machine hold one
    /// copy instead of N ([`vitrs_kernels::shared`]: the file is named by its contents,
    /// written once, and used only where it equals this model's own weights bit for bit).
    /// Outputs are unchanged. With [`ComputeDtype::Int8`] the int8 layers' packed weights are
    /// shared too (what AVX2's 7-bit kernel takes out of them, a few weights in a thousand,
    /// stays in each process).
    pub fn share_weights(
        &mut self,
        dir: &Path,
    ) -> Result<vitrs_kernels::shared::Shared, ModelError> {
        vitrs_kernels::shared::share(&mut self.linears_mut(), dir).map_err(|source| {
            ModelError::Io {
                path: dir.to_path_buf(),
                source,
            }
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

    /// Width of `pooler_output`, when the model has one.
    pub fn pooler_width(&self) -> Option<usize> {
        self.pooler
            .as_ref()
            .map(|p| p.width(self.config.hidden_size))
    }

    /// Width of `image_embeds`, when the model has a projection (CLIP).
    pub fn projection_dim(&self) -> Option<usize> {
        self.projection.as_ref().map(|p| p.out_features())
    }

    /// What the family computes differently from `ViTModel`.
    pub fn variant(&self) -> &Variant {
        &self.config.variant
    }

    /// Tokens before the patches: CLS, DeiT's distillation token, DINOv2's registers (0 for
    /// SigLIP). What `last_hidden_state` holds with [`ForwardOptions::prefix_only`].
    pub fn prefix_tokens(&self) -> usize {
        self.config.variant.tokens.prefix()
    }

    /// Tokens per image (prefix and patches) of an input of `[h, w]` pixels.
    pub fn tokens_for_size(&self, size: [usize; 2]) -> usize {
        self.embeddings.tokens_for(self.embeddings.grid_for(size))
    }

    /// Whether [`ForwardOptions::prefix_only`] leaves `pooler_output`, `image_embeds` and
    /// `logits` as they are: every head reads prefix tokens only (not SigLIP's attention
    /// pooling, which reads them all, nor a model without prefix tokens).
    pub fn prefix_suffices(&self) -> bool {
        self.prefix_tokens() > 0 && !matches!(self.pooler, Some(Pooler::Probe(_)))
    }

    /// Class names when the model has a classifier.
    pub fn labels(&self) -> Option<&[String]> {
        self.classifier.as_ref().map(|c| c.labels.as_slice())
    }

    /// Multiply-accumulates of one image at `[h, w]` pixels (all matmuls, attention included).
    pub fn macs_per_image(&self, size: [usize; 2]) -> usize {
        self.macs_per_image_with(size, &ForwardOptions::default())
    }

    /// [`ViT::macs_per_image`] of a pass run with `opts` (fewer with `prefix_only`).
    pub fn macs_per_image_with(&self, size: [usize; 2], opts: &ForwardOptions) -> usize {
        let grid = self.embeddings.grid_for(size);
        let t = self.embeddings.tokens_for(grid);
        let d = self.config.hidden_size;
        let attention = 2 * t * t * d;
        let last = self.layers.len().saturating_sub(1);
        let layers: usize = self
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| match opts.prefix_only && i == last {
                true => l.prefix_linear_macs(t, self.prefix_tokens()) + attention,
                false => l.linear_macs(t) + attention,
            })
            .sum();
        let heads = self.pooler.as_ref().map_or(0, |p| p.macs(t))
            + self.projection.as_ref().map_or(0, |p| p.macs(1))
            + self.classifier.as_ref().map_or(0, |c| c.macs());
        self.embeddings.macs(grid[0] * grid[1]) + layers + heads
    }

    /// Number of parameters the forward pass uses (as `model.num_parameters()` counts them,
    /// without the unused `mask_token` and, for two-tower files, without the text tower).
    pub fn parameter_count(&self) -> usize {
        self.parameters
    }

    /// Checks that `pixel_values` of shape `dims` (`[B, C, H, W]`) can be run with `opts`
    /// (channels, size, token count) without running anything; `Ok` holds `[H, W]`. Callers
    /// that know an image's size before decoding it use this to refuse it early.
    pub fn check_input(
        &self,
        dims: &[usize],
        opts: &ForwardOptions,
    ) -> Result<[usize; 2], ModelError> {
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
        let resizes = opts.interpolate_pos_encoding || cfg.variant.positions.always_resize;
        if !resizes && [h, w] != cfg.image_size {
            return Err(ModelError::Input(format!(
                "input image size ({h}*{w}) doesn't match model ({}*{}); pass \
                 --interpolate-pos-encoding (ForwardOptions::interpolate_pos_encoding) to run \
                 at another size",
                cfg.image_size[0], cfg.image_size[1]
            )));
        }
        let tokens = cfg.variant.tokens.prefix()
            + (h / cfg.patch_size[0]).saturating_mul(w / cfg.patch_size[1]);
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
        if opts.prefix_only && !self.prefix_suffices() {
            return Err(ModelError::Input(
                "prefix_only: this model's outputs read every token (SigLIP's attention \
                 pooling), not the prefix tokens alone"
                    .into(),
            ));
        }
        if opts.prefix_only && (opts.output_hidden_states || opts.output_attentions) {
            return Err(ModelError::Input(
                "prefix_only cannot be combined with output_hidden_states or \
                 output_attentions (they need every token of the last layer)"
                    .into(),
            ));
        }
        let batch = pixels.dims()[0];
        let cfg = &self.config;
        let d = cfg.hidden_size;
        let grid = self.embeddings.grid_for(size);
        let t = self.embeddings.tokens_for(grid);
        let shape = AttentionShape {
            tokens: t,
            heads: cfg.num_attention_heads,
            head_dim: cfg.head_dim(),
        };
        let mut guard = self.scratch.lock().unwrap_or_else(|e| e.into_inner());
        let s = &mut *guard;
        let hidden_width = self
            .layers
            .iter()
            .map(Layer::hidden_width)
            .max()
            .unwrap_or(0);
        s.fit(cfg, hidden_width, batch, t);

        // embeddings: patches · W + b, [CLS, DIST] + positions, registers  [B, T, D]
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

        // pre_layrnorm (CLIP)                                              [B, T, D]
        if let Some(norm) = &self.pre_norm {
            let rows = batch * t * d;
            norm.forward(&x[..rows], &mut s.normed[..rows]);
            x[..rows].copy_from_slice(&s.normed[..rows]);
        }

        // encoder: L × (LN, attention, +, LN, MLP, +)                     [B, T, D]
        let mut hidden_states = Vec::new();
        let mut attentions = Vec::new();
        // With prefix_only the last layer keeps the prefix rows alone: from there on the
        // stream is [B, P, D] and `t` counts P tokens.
        let (last_layer, layers) = match (opts.prefix_only, self.layers.split_last()) {
            (true, Some((last, rest))) => (Some(last), rest),
            _ => (None, &self.layers[..]),
        };
        for layer in layers {
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
        let (x_kept, t) = match last_layer {
            Some(layer) => {
                let p = self.prefix_tokens();
                (
                    Some(layer.forward_prefix(shape, batch, p, &x[..batch * t * d], s)),
                    p,
                )
            }
            None => (None, t),
        };
        s.x = x;
        let x = x_kept.as_deref().unwrap_or(&s.x);

        // final norm over all tokens, or (CLIP) on the first token only  [B, T, D]
        let rows = batch * t * d;
        let (last, first) = match self.config.variant.final_norm {
            FinalNorm::AllTokens => {
                let mut last = vec![0.0f32; rows];
                self.final_norm.forward(&x[..rows], &mut last);
                let first = first_tokens(&last, t, d);
                (last, first)
            }
            FinalNorm::FirstToken => {
                let last = x[..rows].to_vec();
                let mut first = vec![0.0f32; batch * d];
                self.final_norm
                    .forward(&first_tokens(&last, t, d), &mut first);
                (last, first)
            }
        };

        // pooler_output                                                    [B, P]
        let pooler_output = self.pooler.as_ref().map(|p| {
            let n = p.width(d);
            let mut out = vec![0.0f32; batch * n];
            match p {
                Pooler::Dense { dense, act } => {
                    dense.forward(&first, batch, &mut out, Epilogue::Activate(*act))
                }
                Pooler::FirstToken => out.copy_from_slice(&first),
                Pooler::Probe(head) => head.forward(&last, batch, t, &mut out),
            }
            tensor(&[batch, n], out)
        });
        // image_embeds = projection(pooler_output)                         [B, E]
        let image_embeds = match (&self.projection, &pooler_output) {
            (Some(proj), Some(pooled)) => {
                let n = proj.out_features();
                let mut out = vec![0.0f32; batch * n];
                proj.forward(pooled.data(), batch, &mut out, Epilogue::Store);
                Some(tensor(&[batch, n], out))
            }
            _ => None,
        };
        // logits from token 0 (and DeiT's token 1)                        [B, L]
        let logits = self.classifier.as_ref().map(|c| {
            let n = c.labels.len();
            let mut out = vec![0.0f32; batch * n];
            c.forward(&last, batch, t, d, &mut out);
            tensor(&[batch, n], out)
        });
        Ok(ViTOutput {
            last_hidden_state: tensor(&[batch, t, d], last),
            pooler_output,
            image_embeds,
            logits,
            hidden_states,
            attentions,
        })
    }
}

/// Token 0 of each image in `x` `[B, T, D]`: `[B, D]`.
fn first_tokens(x: &[f32], t: usize, d: usize) -> Vec<f32> {
    crate::encoder::leading_tokens(x, t, d, 1)
}
