//! timm / JAX checkpoints to the Hugging Face layout, and dtype changes.
