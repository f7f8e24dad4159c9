use std::path::{Path, PathBuf};

use thiserror::Error;

/// What can go wrong converting. Every variant names the file or tensor.
#[derive(Debug, Error)]
pub enum ConvertError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file is malformed (bad header, truncated, sizes that do not add up).
    #[error("{}: {message}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Not a layout vitrs knows.
    #[error("{}: not a timm, JAX or Hugging Face ViT checkpoint: found {found}; expected timm names (cls_token, blocks.N.attn.qkv...), JAX names (Transformer/encoderblock_N/...) or HF names (embeddings.cls_token...)", path.display())]
    Unknown {
        /// The file.
        path: PathBuf,
        /// What it holds.
        found: String,
    },
    /// A model that is not a plain ViT and would convert into a wrong one.
    #[error("{}: this is a different model than ViT ({found}); vitrs converts plain ViTs: CLS token, no fc_norm, no LayerScale, no register tokens, token pooling", path.display())]
    Refused {
        /// The file.
        path: PathBuf,
        /// What gives it away.
        found: String,
    },
    /// A tensor has an unexpected shape or is missing.
    #[error("tensor `{name}`: expected {expected}, found {found}")]
    Tensor {
        /// The tensor.
        name: String,
        /// What the layout requires.
        expected: String,
        /// What the file holds.
        found: String,
    },
}

impl ConvertError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        ConvertError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
