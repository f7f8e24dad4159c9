use std::path::PathBuf;

use thiserror::Error;

/// Everything that can go wrong loading or running a model. Each variant names the file,
/// tensor or field concerned and, where it applies, what was expected and what was found.
#[derive(Debug, Error)]
pub enum ModelError {
    /// A file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// `config.json` (or the shard index) is not valid JSON or has a field of the wrong type.
    #[error("{}: {message}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// serde's description (field, line and column).
        message: String,
    },
    /// A config field has a value vitrs cannot use.
    #[error("{}: field `{field}`: expected {expected}, found {found}", path.display())]
    Config {
        /// The file.
        path: PathBuf,
        /// The field.
        field: String,
        /// What would be valid.
        expected: String,
        /// What the file holds.
        found: String,
    },
    /// A safetensors file is malformed (truncated, bad header, offsets out of range).
    #[error("{}: not a valid safetensors file: {message}", path.display())]
    Safetensors {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A tensor the architecture needs is not in the checkpoint.
    #[error("{checkpoint}: missing tensor `{name}`")]
    MissingTensor {
        /// The checkpoint (file or folder).
        checkpoint: String,
        /// The tensor name.
        name: String,
    },
    /// Tensors in the checkpoint that the architecture does not use.
    #[error("{checkpoint}: unexpected tensors the config does not account for: {}", names.join(", "))]
    UnexpectedTensors {
        /// The checkpoint (file or folder).
        checkpoint: String,
        /// Their names.
        names: Vec<String>,
    },
    /// A tensor has the wrong shape for the config.
    #[error("tensor `{name}`: expected shape {expected:?}, found {found:?}")]
    Shape {
        /// The tensor name.
        name: String,
        /// The shape the config implies.
        expected: Vec<usize>,
        /// The shape in the file.
        found: Vec<usize>,
    },
    /// A tensor is stored in a dtype vitrs does not read.
    #[error("{}: tensor `{name}` has dtype {found}; expected F32, F16 or BF16", path.display())]
    DType {
        /// The file.
        path: PathBuf,
        /// The tensor name.
        name: String,
        /// The dtype found.
        found: String,
    },
    /// The checkpoint is not a ViT of a known layout.
    #[error("{checkpoint}: {message}")]
    Layout {
        /// The checkpoint (file or folder).
        checkpoint: String,
        /// What was found and what was expected.
        message: String,
    },
    /// A tensor holds NaN or infinite values.
    #[error(
        "{checkpoint}: tensor `{name}` holds {count} non-finite values (first at index {first}); \
         the checkpoint is corrupt (load with allow_nonfinite / --allow-nonfinite to run it anyway)"
    )]
    NonFinite {
        /// The checkpoint (file or folder).
        checkpoint: String,
        /// The tensor name.
        name: String,
        /// How many values are NaN or infinite.
        count: usize,
        /// Index of the first one.
        first: usize,
    },
    /// `pixel_values` does not fit the model.
    #[error("pixel_values: {0}")]
    Input(String),
    /// The kernels asked for (`VITRS_ISA`) cannot run here.
    #[error(transparent)]
    Isa(#[from] vitrs_kernels::gemm::IsaError),
}

impl ModelError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ModelError::Io {
            path: path.into(),
            source,
        }
    }
}
