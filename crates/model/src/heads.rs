//! What sits on the tokens after the encoder: the pooler (`ViTPooler`, DINOv2's and CLIP's
//! normed first token, SigLIP's attention-pooling head), CLIP's projection, and the
//! classifiers (ViT's and DeiT's, including the teacher variant's two heads).

use vitrs_kernels::shared::Layer as SharedLayer;
use vitrs_kernels::softmax::softmax_rows_scaled;
use vitrs_kernels::{Activation, Epilogue, Linear};

use crate::encoder::{Mlp, Norm};
use crate::weights::Weights;
use crate::{ComputeDtype, ModelError, ViTConfig};

/// What produces `pooler_output`.
pub enum Pooler {
    /// `act(dense · token 0 + b)` (`pooler.dense`, `pooler_act`).
    Dense {
        /// `[P, D]`.
        dense: Linear,
        /// The activation (tanh by default).
        act: Activation,
    },
    /// The normed first token itself.
    FirstToken,
    /// SigLIP's multi-head attention pooling.
    Probe(Box<ProbeHead>),
}

impl Pooler {
    /// Its linear layers, as weight sharing takes them.
    pub fn linears_mut(&mut self) -> Vec<SharedLayer<'_>> {
        match self {
            Pooler::Dense { dense, .. } => vec![dense.into()],
            Pooler::FirstToken => Vec::new(),
            Pooler::Probe(h) => {
                let h = &mut **h;
                let mut out = vec![SharedLayer::from(&mut h.kv), SharedLayer::from(&mut h.out)];
                out.extend(h.mlp.linears_mut());
                out
            }
        }
    }

    /// Width of `pooler_output`.
    pub fn width(&self, d: usize) -> usize {
        match self {
            Pooler::Dense { dense, .. } => dense.out_features(),
            _ => d,
        }
    }

    /// Multiply-accumulates per image of `tokens` tokens.
    pub fn macs(&self, tokens: usize) -> usize {
        match self {
            Pooler::Dense { dense, .. } => dense.macs(1),
            Pooler::FirstToken => 0,
            Pooler::Probe(h) => {
                h.kv.macs(tokens) + 2 * tokens * h.dim + h.out.macs(1) + h.mlp.macs(1)
            }
        }
    }
}

/// SigLIP's `head` (`SiglipMultiheadAttentionPoolingHead`): a learned probe attends over all
/// tokens (`nn.MultiheadAttention`), then `h + mlp(layernorm(h))`.
pub struct ProbeHead {
    /// The probe's query `Wq·probe + bq`, `[D]`: it does not depend on the input, so it is
    /// projected once at load.
    query: Vec<f32>,
    /// Keys and values: rows `D..3D` of `in_proj`, `[2D, D]`.
    kv: Linear,
    /// `out_proj`: `[D, D]`.
    out: Linear,
    norm: Norm,
    mlp: Mlp,
    heads: usize,
    dim: usize,
}

impl ProbeHead {
    /// Loads `head.*` under `w`.
    pub fn load(w: &Weights, cfg: &ViTConfig) -> Result<Self, ModelError> {
        let d = cfg.hidden_size;
        let probe = w.get("probe", &[1, 1, d])?;
        let a = w.pp("attention");
        let in_w = a.get("in_proj_weight", &[3 * d, d])?;
        let in_b = a.get("in_proj_bias", &[3 * d])?;
        let query = (0..d)
            .map(|o| {
                let row = &in_w[o * d..(o + 1) * d];
                let dot = row.iter().zip(&probe).fold(0.0f32, |s, (w, p)| s + w * p);
                dot + in_b[o]
            })
            .collect();
        let kv = Linear::new(in_w[d * d..].to_vec(), Some(in_b[d..].to_vec()), 2 * d, d).map_err(
            |e| ModelError::Shape {
                name: "head.attention.in_proj_weight".into(),
                expected: vec![e.expected],
                found: vec![e.found],
            },
        )?;
        Ok(ProbeHead {
            query,
            kv,
            out: a.linear("out_proj", d, d, true)?,
            norm: Norm::load(w, "layernorm", d, cfg.layer_norm_eps)?,
            mlp: Mlp::load_plain(w, ["mlp.fc1", "mlp.fc2"], cfg, None, ComputeDtype::F32)?,
            heads: cfg.num_attention_heads,
            dim: d,
        })
    }

    /// `out [B, D]` from the normed tokens `h [B, T, D]`.
    pub fn forward(&self, h: &[f32], batch: usize, tokens: usize, out: &mut [f32]) {
        let (d, t) = (self.dim, tokens);
        let hd = d / self.heads;
        // k | v  [B·T, 2D]
        let mut kv = vec![0.0f32; batch * t * 2 * d];
        self.kv.forward(h, batch * t, &mut kv, Epilogue::Store);
        // per image and head: softmax(q_h·k_hᵀ/√hd) · v_h                 [B, D]
        let mut ctx = vec![0.0f32; batch * d];
        let mut scores = vec![0.0f32; self.heads * t];
        for b in 0..batch {
            let kv = &kv[b * t * 2 * d..(b + 1) * t * 2 * d];
            for head in 0..self.heads {
                let q = &self.query[head * hd..(head + 1) * hd];
                for (j, s) in scores[head * t..(head + 1) * t].iter_mut().enumerate() {
                    let k = &kv[j * 2 * d + head * hd..][..hd];
                    *s = q.iter().zip(k).fold(0.0f32, |a, (q, k)| a + q * k);
                }
            }
            softmax_rows_scaled(&mut scores, t, 1.0 / (hd as f32).sqrt());
            let c = &mut ctx[b * d..(b + 1) * d];
            for head in 0..self.heads {
                let c = &mut c[head * hd..(head + 1) * hd];
                for (j, p) in scores[head * t..(head + 1) * t].iter().enumerate() {
                    let v = &kv[j * 2 * d + d + head * hd..][..hd];
                    c.iter_mut().zip(v).for_each(|(c, v)| *c += p * v);
                }
            }
        }
        // h = out_proj(ctx); h += mlp(layernorm(h))                        [B, D]
        self.out.forward(&ctx, batch, out, Epilogue::Store);
        let mut normed = vec![0.0f32; batch * d];
        self.norm.forward(out, &mut normed);
        let mut hidden = vec![0.0f32; batch * self.mlp.hidden_width()];
        self.mlp.forward(&normed, batch, &mut hidden, out);
    }
}

/// The classifier on token 0 (`classifier`), or DeiT's teacher pair (`cls_classifier` on
/// token 0, `distillation_classifier` on token 1, logits their mean), with the label names.
pub struct Classifier {
    /// One linear per head, `[L, D]`; head `i` reads token `i`.
    pub heads: Vec<Linear>,
    /// `id2label`, one name per output.
    pub labels: Vec<String>,
}

impl Classifier {
    /// `out [B, L]` from the normed tokens `x [B, T, D]`.
    pub fn forward(&self, x: &[f32], batch: usize, tokens: usize, d: usize, out: &mut [f32]) {
        let n = self.labels.len();
        let mut logits = vec![0.0f32; batch * n];
        for (i, head) in self.heads.iter().enumerate() {
            let token: Vec<f32> = x
                .chunks_exact(tokens * d)
                .flat_map(|img| img[i * d..(i + 1) * d].iter().copied())
                .collect();
            let o = if i == 0 { &mut *out } else { &mut logits };
            head.forward(&token, batch, o, Epilogue::Store);
            if i > 0 {
                out.iter_mut().zip(&logits).for_each(|(o, l)| *o += l);
            }
        }
        if self.heads.len() > 1 {
            let k = self.heads.len() as f32;
            out.iter_mut().for_each(|o| *o /= k);
        }
    }

    /// Multiply-accumulates per image.
    pub fn macs(&self) -> usize {
        self.heads.iter().map(|h| h.macs(1)).sum()
    }
}
