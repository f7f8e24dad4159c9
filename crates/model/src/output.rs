//! What a forward pass is asked for and what it returns.

use vitrs_tensor::Tensor;

/// Options of [`crate::ViT::forward`], named as transformers names them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ForwardOptions {
    /// Accept any input size by resizing the position table (PyTorch bicubic).
    pub interpolate_pos_encoding: bool,
    /// Also return the embedding output and every layer's output.
    pub output_hidden_states: bool,
    /// Also return every layer's post-softmax attention probabilities.
    pub output_attentions: bool,
    /// Run the last layer for the tokens before the patches only (CLS, DeiT's distillation
    /// token, DINOv2's registers: [`crate::ViT::prefix_tokens`]), for callers that read
    /// nothing else: `pooler_output`, `image_embeds` and `logits` are the same, while
    /// `last_hidden_state` holds just those tokens, `[B, P, D]`. Saves most of a layer's
    /// work (about 1/L of the pass). Refused when an output needs every token
    /// ([`crate::ViT::prefix_suffices`] is false) or with `output_hidden_states` /
    /// `output_attentions`.
    pub prefix_only: bool,
}

/// The outputs of a forward pass, all `f32`.
#[derive(Debug, Clone)]
pub struct ViTOutput {
    /// The last layer's tokens `[B, T, D]`, final-normed (raw for CLIP, as transformers).
    pub last_hidden_state: Tensor,
    /// `[B, P]` when the model has a pooler: ViT/DeiT `pooler_act(W·token 0 + b)`, DINOv2 the
    /// normed CLS, CLIP `post_layernorm(CLS)`, SigLIP the attention-pooling head.
    pub pooler_output: Option<Tensor>,
    /// CLIP's `visual_projection(pooler_output)`, `[B, E]`, when the checkpoint has the
    /// projection (`CLIPVisionModelWithProjection` or a two-tower `clip` file).
    pub image_embeds: Option<Tensor>,
    /// `classifier(last_hidden_state[:, 0])`, `[B, num_labels]`, when it has a classifier.
    pub logits: Option<Tensor>,
    /// With `output_hidden_states`: L+1 tensors `[B, T, D]`, the embeddings then each layer's
    /// output (the last one before the final LayerNorm). Empty otherwise.
    pub hidden_states: Vec<Tensor>,
    /// With `output_attentions`: L tensors `[B, heads, T, T]`. Empty otherwise.
    pub attentions: Vec<Tensor>,
}
