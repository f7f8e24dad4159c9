//! The encoder: L pre-norm layers of self-attention and MLP (`ViTLayer`).

use vitrs_kernels::attention::{attention_batch, AttentionShape};
use vitrs_kernels::layer_norm::layer_norm;
use vitrs_kernels::qgemm::{AnyLinear, QLinear, QuantizedWeight};
use vitrs_kernels::{Activation, Epilogue, Linear};

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

/// One `encoder.layer.{i}`.
pub struct Layer {
    layernorm_before: Norm,
    /// `attention.attention.{query,key,value}` fused: `[3D, D]`.
    qkv: AnyLinear,
    /// `attention.output.dense`: `[D, D]`.
    attn_out: AnyLinear,
    layernorm_after: Norm,
    /// `intermediate.dense`: `[I, D]`.
    fc1: AnyLinear,
    act: Activation,
    /// `output.dense`: `[D, I]`.
    fc2: AnyLinear,
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
    pub fn fit(&mut self, cfg: &ViTConfig, batch: usize, tokens: usize) {
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
        grow(&mut self.hidden, rows * cfg.intermediate_size);
    }
}

impl Layer {
    /// Loads `encoder.layer.{i}.*`, its linears computing in `dtype`.
    pub fn load(w: &Weights, cfg: &ViTConfig, dtype: ComputeDtype) -> Result<Self, ModelError> {
        let (d, i) = (cfg.hidden_size, cfg.intermediate_size);
        let eps = cfg.layer_norm_eps;
        let sa = w.pp("attention.attention");
        let fused = |e: vitrs_kernels::gemm::LinearError| ModelError::Shape {
            name: "attention.attention.{query,key,value}".into(),
            expected: vec![e.expected],
            found: vec![e.found],
        };
        let qkv = match dtype {
            ComputeDtype::F32 => {
                let q = sa.linear("query", d, d, cfg.qkv_bias)?;
                let k = sa.linear("key", d, d, cfg.qkv_bias)?;
                let v = sa.linear("value", d, d, cfg.qkv_bias)?;
                AnyLinear::F32(Linear::concat(&[q, k, v]).map_err(fused)?)
            }
            ComputeDtype::Int8 => {
                let parts = ["query", "key", "value"]
                    .map(|n| sa.quantized(n, d, d, cfg.qkv_bias))
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
        Ok(Layer {
            layernorm_before: Norm::load(w, "layernorm_before", d, eps)?,
            qkv,
            attn_out: w.linear_as("attention.output.dense", d, d, true, dtype)?,
            layernorm_after: Norm::load(w, "layernorm_after", d, eps)?,
            fc1: w.linear_as("intermediate.dense", i, d, true, dtype)?,
            act: cfg.hidden_act,
            fc2: w.linear_as("output.dense", d, i, true, dtype)?,
        })
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
        let t = shape.tokens;
        let d = shape.dim();
        let rows = batch * t;
        let hh = shape.heads * t * t;
        // x += Wo·Attn(LN_before(x)) + bo                                  [B, T, D]
        self.layernorm_before.forward(x, &mut s.normed[..rows * d]);
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
        self.attn_out
            .forward(&s.ctx[..rows * d], rows, x, Epilogue::Accumulate);
        // x += FC2(act(FC1(LN_after(x))))                                  [B, T, D]
        let i = self.fc1.out_features();
        self.layernorm_after.forward(x, &mut s.normed[..rows * d]);
        self.fc1.forward(
            &s.normed[..rows * d],
            rows,
            &mut s.hidden[..rows * i],
            Epilogue::Activate(self.act),
        );
        self.fc2
            .forward(&s.hidden[..rows * i], rows, x, Epilogue::Accumulate);
    }

    /// Multiply-accumulates of the four linears for `rows` tokens.
    pub fn linear_macs(&self, rows: usize) -> usize {
        self.qkv.macs(rows) + self.attn_out.macs(rows) + self.fc1.macs(rows) + self.fc2.macs(rows)
    }
}
