//! What sits on the CLS token after the final LayerNorm: the pooler (`ViTPooler`) and the
//! classifier of `ViTForImageClassification`.

use vitrs_kernels::{Activation, Epilogue, Linear};

/// `pooler.dense` followed by `pooler_act`.
pub struct Pooler {
    /// `[P, D]`.
    pub dense: Linear,
    /// The activation (`pooler_act`, tanh by default).
    pub act: Activation,
}

impl Pooler {
    /// `out [B, P] = act(cls [B, D] · Wᵀ + b)`.
    pub fn forward(&self, cls: &[f32], batch: usize, out: &mut [f32]) {
        self.dense
            .forward(cls, batch, out, Epilogue::Activate(self.act));
    }
}

/// `classifier`: `logits [B, L] = cls [B, D] · Wᵀ + b`, with the label names.
pub struct Classifier {
    /// `[L, D]`.
    pub linear: Linear,
    /// `id2label`, one name per output.
    pub labels: Vec<String>,
}

impl Classifier {
    /// `out [B, L] = cls · Wᵀ + b`.
    pub fn forward(&self, cls: &[f32], batch: usize, out: &mut [f32]) {
        self.linear.forward(cls, batch, out, Epilogue::Store);
    }
}
