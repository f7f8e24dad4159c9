//! The encoder: L pre-norm layers of self-attention and MLP (`ViTLayer`, and the same layer
//! in every family: names from [`Names`], LayerScale and SwiGLU from the [`crate::family::Variant`]).

use vitrs_kernels::attention::{attention_batch, AttentionShape};
use vitrs_kernels::layer_norm::layer_norm;
use vitrs_kernels::qgemm::{AnyLinear, QLinear, QuantizedWeight};
use vitrs_kernels::shared::Layer as SharedLayer;
use vitrs_kernels::{Activation, Epilogue, Linear};

use crate::family::{MlpKind, Names};
use crate::weights::Weights;
use crate::{ComputeDtype, ModelError, ViTConfig};

/// A LayerNorm's parameters.
pub struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
    eps: f32,
}

impl Norm {
    /// Loads `name.{weight,bias}` of width `dim`.
    pub fn load(w: &Weights, name: &str, dim: usize, eps: f64) -> Result<Self, ModelError> {
        let (gamma, beta) = w.layer_norm(name, dim)?;
        Ok(Norm {
            gamma,
            beta,
            eps: eps as f32,
        })
    }

    /// `out = LayerNorm(x)` row by row.
    pub fn forward(&self, x: &[f32], out: &mut [f32]) {
        layer_norm(x, &self.gamma, &self.beta, self.eps, out);
    }
}

/// The MLP of a layer (or of SigLIP's pooling head).
pub enum Mlp {
    /// `fc2(act(fc1 x))`: `fc1 [I, D]`, `fc2 [D, I]`.
    Plain {
        /// `[I, D]`.
        fc1: AnyLinear,
        /// The activation.
        act: Activation,
        /// `[D, I]`.
        fc2: AnyLinear,
    },
    /// `w_out(silu(gate) ⊙ up)`: `w_in = [gate; up]` `[2F, D]`, `w_out [D, F]`.
    SwiGlu {
        /// `[2F, D]`.
        w_in: AnyLinear,
        /// `[D, F]`.
        w_out: AnyLinear,
    },
}

impl Mlp {
    /// Its linear layers, f32 or int8, as weight sharing takes them.
    pub fn linears_mut(&mut self) -> Vec<SharedLayer<'_>> {
        let both = match self {
            Mlp::Plain { fc1, fc2, .. } => [fc1, fc2],
            Mlp::SwiGlu { w_in, w_out } => [w_in, w_out],
        };
        both.into_iter().map(SharedLayer::from).collect()
    }

    /// Loads a plain MLP from `names[0]`, `names[1]` computing in `dtype`, the second
    /// linear's rows scaled by `scale` when given (before quantizing).
    pub fn load_plain(
        w: &Weights,
        names: [&str; 2],
        cfg: &ViTConfig,
        scale: Option<&[f32]>,
        dtype: ComputeDtype,
    ) -> Result<Self, ModelError> {
        let (d, i) = (cfg.hidden_size, cfg.intermediate_size);
        Ok(Mlp::Plain {
            fc1: w.linear_as(names[0], i, d, true, dtype)?,
            act: cfg.hidden_act,
            fc2: w.linear_scaled_as(names[1], d, i, scale, dtype)?,
        })
    }

    /// Values per row of the hidden buffer.
    pub fn hidden_width(&self) -> usize {
        match self {
            Mlp::Plain { fc1, .. } => fc1.out_features(),
            Mlp::SwiGlu { w_in, .. } => w_in.out_features(),
        }
    }

    /// `x += mlp(normed)` for `rows` rows; `hidden` holds `rows · hidden_width()` values.
    pub fn forward(&self, normed: &[f32], rows: usize, hidden: &mut [f32], x: &mut [f32]) {
        match self {
            Mlp::Plain { fc1, act, fc2 } => {
                let i = fc1.out_features();
                fc1.forward(
                    normed,
                    rows,
                    &mut hidden[..rows * i],
                    Epilogue::Activate(*act),
                );
                fc2.forward(&hidden[..rows * i], rows, x, Epilogue::Accumulate);
            }
            Mlp::SwiGlu { w_in, w_out } => {
                let f = w_out.in_features();
                // [B·T, 2F] = normed · [gate; up]ᵀ + b
                w_in.forward(normed, rows, &mut hidden[..rows * 2 * f], Epilogue::Store);
                // [B·T, F] = silu(gate) ⊙ up, compacted in place: row r's output starts at
                // r·F, never after where its inputs start (r·2F), so nothing is read after
                // it is overwritten.
                for r in 0..rows {
                    let (gate, up) = hidden[r * 2 * f..(r + 1) * 2 * f].split_at_mut(f);
                    Activation::Silu.apply_slice(gate);
                    gate.iter_mut().zip(up.iter()).for_each(|(g, u)| *g *= u);
                    hidden.copy_within(r * 2 * f..r * 2 * f + f, r * f);
                }
                w_out.forward(&hidden[..rows * f], rows, x, Epilogue::Accumulate);
            }
        }
    }

    /// Multiply-accumulates for `rows` rows.
    pub fn macs(&self, rows: usize) -> usize {
        match self {
            Mlp::Plain { fc1, fc2, .. } => fc1.macs(rows) + fc2.macs(rows),
            Mlp::SwiGlu { w_in, w_out } => w_in.macs(rows) + w_out.macs(rows),
        }
    }
}

/// One encoder layer (`encoder.layer.{i}` / `encoder.layers.{i}`).
pub struct Layer {
    norm1: Norm,
    /// Query, key and value fused: `[3D, D]`.
    qkv: AnyLinear,
    /// The attention output projection `[D, D]` (LayerScale folded in).
    attn_out: AnyLinear,
    norm2: Norm,
    /// The MLP (LayerScale folded into its last linear).
    mlp: Mlp,
}

/// Buffers one forward pass needs, sized for `rows = B·T` tokens.
#[derive(Default)]
pub struct Scratch {
    /// `[B·T, D]`: the residual stream.
    pub x: Vec<f32>,
    /// `[B·N, C·ph·pw]`: flattened patches.
    pub patches: Vec<f32>,
    /// `[B·N, D]`: projected patches.
    pub projected: Vec<f32>,
    /// `[B·T, D]`: normed tokens, then reused for the attention context.
    pub normed: Vec<f32>,
    /// `[B·T, 3D]`.
    pub qkv: Vec<f32>,
    /// `[B·T, D]`.
    pub ctx: Vec<f32>,
    /// `[B·T, I]`.
    pub hidden: Vec<f32>,
}

impl Scratch {
    /// Grows every buffer to fit `batch` images of `tokens` tokens (never shrinks them:
    /// callers use the leading part, and a smaller batch then costs nothing).
    pub fn fit(&mut self, cfg: &ViTConfig, hidden_width: usize, batch: usize, tokens: usize) {
        let rows = batch * tokens;
        let d = cfg.hidden_size;
        let grow = |v: &mut Vec<f32>, n: usize| {
            if v.len() < n {
                v.resize(n, 0.0);
            }
        };
        grow(&mut self.x, rows * d);
        grow(&mut self.normed, rows * d);
        grow(&mut self.qkv, rows * 3 * d);
        grow(&mut self.ctx, rows * d);
        grow(&mut self.hidden, rows * hidden_width);
    }
}

impl Layer {
    /// Its linear layers, f32 or int8, as weight sharing takes them.
    pub fn linears_mut(&mut self) -> Vec<SharedLayer<'_>> {
        let mut out = vec![
            SharedLayer::from(&mut self.qkv),
            SharedLayer::from(&mut self.attn_out),
        ];
        out.extend(self.mlp.linears_mut());
        out
    }

    /// Loads one layer under `w` with the family's `names`, its linears (fused q/k/v,
    /// attention output, the MLP's two) computing in `dtype`. LayerScale is folded into the
    /// f32 weights before they are quantized.
    pub fn load(
        w: &Weights,
        cfg: &ViTConfig,
        names: &Names,
        dtype: ComputeDtype,
    ) -> Result<Self, ModelError> {
        let d = cfg.hidden_size;
        let eps = cfg.layer_norm_eps;
        let [q, k, v] = names.qkv;
        let fused = |e: vitrs_kernels::gemm::LinearError| ModelError::Shape {
            name: format!("{q}, {k}, {v}"),
            expected: vec![e.expected],
            found: vec![e.found],
        };
        let qkv = match dtype {
            ComputeDtype::F32 => AnyLinear::F32(
                Linear::concat(&[
                    w.linear(q, d, d, cfg.qkv_bias)?,
                    w.linear(k, d, d, cfg.qkv_bias)?,
                    w.linear(v, d, d, cfg.qkv_bias)?,
                ])
                .map_err(fused)?,
            ),
            ComputeDtype::Int8 => {
                let parts = [q, k, v]
                    .map(|n| w.quantized(n, d, d, cfg.qkv_bias))
                    .into_iter()
                    .collect::<Result<Vec<_>, _>>()?;
                let bias = cfg.qkv_bias.then(|| {
                    parts
                        .iter()
                        .flat_map(|(_, b)| b.clone().unwrap_or_default())
                        .collect()
                });
                let weights: Vec<QuantizedWeight> = parts.into_iter().map(|(q, _)| q).collect();
                let q = QuantizedWeight::concat(&weights).map_err(fused)?;
                // 8-bit activations: 7-bit ones here cost the most accuracy (measured).
                AnyLinear::Int8(QLinear::new(q, bias).map_err(fused)?)
            }
        };
        let (lambda1, lambda2) = match cfg.variant.layer_scale {
            true => (
                Some(w.get(names.layer_scale1, &[d])?),
                Some(w.get(names.layer_scale2, &[d])?),
            ),
            false => (None, None),
        };
        let mlp = match cfg.variant.mlp {
            MlpKind::Plain => Mlp::load_plain(w, names.mlp, cfg, lambda2.as_deref(), dtype)?,
            MlpKind::SwiGlu => {
                let f = cfg.intermediate_size;
                Mlp::SwiGlu {
                    w_in: w.linear_as(names.swiglu[0], 2 * f, d, true, dtype)?,
                    w_out: w.linear_scaled_as(names.swiglu[1], d, f, lambda2.as_deref(), dtype)?,
                }
            }
        };
        Ok(Layer {
            norm1: Norm::load(w, names.norm1, d, eps)?,
            qkv,
            attn_out: w.linear_scaled_as(names.attn_out, d, d, lambda1.as_deref(), dtype)?,
            norm2: Norm::load(w, names.norm2, d, eps)?,
            mlp,
        })
    }

    /// Values per row the MLP's hidden buffer needs.
    pub fn hidden_width(&self) -> usize {
        self.mlp.hidden_width()
    }

    /// Runs the layer in place on `x` (`[B, T, D]`). If `probs` is given it receives the
    /// attention probabilities `[B, heads, T, T]`.
    pub fn forward(
        &self,
        shape: AttentionShape,
        batch: usize,
        x: &mut [f32],
        s: &mut Scratch,
        probs: Option<&mut [f32]>,
    ) {
        let rows = batch * shape.tokens;
        let d = shape.dim();
        self.attend(shape, batch, x, s, probs);
        self.project_and_mlp(&s.ctx[..rows * d], rows, x, &mut s.normed, &mut s.hidden);
    }

    /// [`Layer::forward`] for a last layer of which only the first `prefix` tokens of each
    /// image are wanted (CLS, DeiT's distillation token, registers): attention runs over all
    /// `T` tokens as before, then the attention output, the MLP and both residual adds run on
    /// those `prefix` rows alone — the same values for them, without the `T − prefix` rows
    /// nobody reads. Returns them, `[B, prefix, D]`.
    pub fn forward_prefix(
        &self,
        shape: AttentionShape,
        batch: usize,
        prefix: usize,
        x: &[f32],
        s: &mut Scratch,
    ) -> Vec<f32> {
        let (t, d) = (shape.tokens, shape.dim());
        self.attend(shape, batch, x, s, None);
        // the prefix rows of the context and of the residual stream      [B, P, D]
        let ctx = leading_tokens(&s.ctx[..batch * t * d], t, d, prefix);
        let mut out = leading_tokens(x, t, d, prefix);
        self.project_and_mlp(&ctx, batch * prefix, &mut out, &mut s.normed, &mut s.hidden);
        out
    }

    /// `s.ctx = Attn(LN1(x))` over every token of `x` `[B, T, D]`.
    fn attend(
        &self,
        shape: AttentionShape,
        batch: usize,
        x: &[f32],
        s: &mut Scratch,
        probs: Option<&mut [f32]>,
    ) {
        let t = shape.tokens;
        let d = shape.dim();
        let rows = batch * t;
        let hh = shape.heads * t * t;
        // Attn(LN1(x))                                                     [B, T, D]
        self.norm1.forward(x, &mut s.normed[..rows * d]);
        self.qkv.forward(
            &s.normed[..rows * d],
            rows,
            &mut s.qkv[..rows * 3 * d],
            Epilogue::Store,
        );
        attention_batch(
            shape,
            batch,
            &s.qkv[..rows * 3 * d],
            &mut s.ctx[..rows * d],
            probs.map(|p| &mut p[..batch * hh]),
        );
    }

    /// The rest of the layer on `rows` rows of `x`, given their attention context `ctx`;
    /// `normed` and `hidden` are scratch.
    fn project_and_mlp(
        &self,
        ctx: &[f32],
        rows: usize,
        x: &mut [f32],
        normed: &mut [f32],
        hidden: &mut [f32],
    ) {
        let d = self.norm2.gamma.len();
        // x += [λ1 ⊙] (Wo·ctx + bo)                                        [rows, D]
        self.attn_out.forward(ctx, rows, x, Epilogue::Accumulate);
        // x += [λ2 ⊙] MLP(LN2(x))                                           [rows, D]
        self.norm2.forward(x, &mut normed[..rows * d]);
        self.mlp.forward(&normed[..rows * d], rows, hidden, x);
    }

    /// Multiply-accumulates of the four linears in [`Layer::forward_prefix`]: q/k/v for all
    /// `tokens` rows, the rest for `prefix` rows.
    pub fn prefix_linear_macs(&self, tokens: usize, prefix: usize) -> usize {
        self.qkv.macs(tokens) + self.attn_out.macs(prefix) + self.mlp.macs(prefix)
    }

    /// Multiply-accumulates of the four linears for `rows` tokens.
    pub fn linear_macs(&self, rows: usize) -> usize {
        self.qkv.macs(rows) + self.attn_out.macs(rows) + self.mlp.macs(rows)
    }
}

/// The first `p` of every `t` tokens of `x` `[B, T, D]`: `[B, P, D]`.
pub(crate) fn leading_tokens(x: &[f32], t: usize, d: usize, p: usize) -> Vec<f32> {
    x.chunks_exact(t * d)
        .flat_map(|img| img[..p * d].iter().copied())
        .collect()
}
