//! The one error type of the `vitrs` library: the lower crates' errors, the Hub's, and what
//! this crate checks itself. Every message names the file, tensor, option or model concerned,
//! what was expected and what was found.
//!
//! The message of an error is its own [`Display`](std::fmt::Display); the cause, when there
//! is one (an I/O error), is its [`source`](std::error::Error::source), as the Rust API
//! guidelines ask. [`Error::chain`] prints both on one line.

use std::fmt;
use std::path::{Path, PathBuf};

pub use crate::hub::HubError;
pub use vitrs_convert::ConvertError;
pub use vitrs_image::ImageError;
pub use vitrs_model::ModelError;
pub use vitrs_tensor::TensorError;

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong in the `vitrs` library.
///
/// The lower crates' errors are boxed, so that a `Result` (and a [`crate::Skipped`] per bad
/// image) stays small; match them as `Error::Image(e)` and use `e` (or `*e`) as the error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Decoding or preprocessing an image (names the file).
    #[error(transparent)]
    Image(Box<ImageError>),
    /// Loading or running the model (names the file, tensor or config field).
    #[error(transparent)]
    Model(Box<ModelError>),
    /// A tensor of the wrong shape or dtype.
    #[error(transparent)]
    Tensor(Box<TensorError>),
    /// Converting a timm or JAX checkpoint.
    #[error(transparent)]
    Convert(Box<ConvertError>),
    /// Finding the model: a folder, the Hugging Face cache, or a download.
    #[error(transparent)]
    Hub(Box<HubError>),
    /// Reading or writing a file failed; `action` says what was being done (`writing
    /// out.npy`), `source` why.
    #[error("{action}")]
    Io {
        /// What was being done, naming the file.
        action: String,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An output cannot be written where asked: refused before any work (a folder, a FIFO,
    /// one of the command's inputs, a read-only file...), or found changed at the end.
    #[error("{message}")]
    Output {
        /// The output as given.
        path: PathBuf,
        /// What is wrong, naming the path.
        message: String,
    },
    /// An input path (a file, folder or glob pattern to read images from) cannot be used.
    #[error("{message}")]
    Input {
        /// The path or pattern as given.
        path: PathBuf,
        /// What is wrong, naming the path.
        message: String,
    },
    /// A setting (a command-line option, or the library setting behind it) whose value cannot
    /// be used with this model or on this machine.
    #[error("{message}")]
    Option {
        /// The option (`--batch`, `--size`, `--pool`, ...).
        option: &'static str,
        /// What was given, what would be accepted.
        message: String,
    },
    /// A safetensors file lacks the tensor asked for.
    #[error("{}: no tensor `{name}`; found [{}]", path.display(), found.join(", "))]
    MissingTensor {
        /// The file.
        path: PathBuf,
        /// The tensor asked for.
        name: String,
        /// The tensors it holds.
        found: Vec<String>,
    },
    /// `random:NAME` with a name the zoo does not know.
    #[error("unknown architecture `random:{name}`; choose one of: {known}")]
    UnknownArchitecture {
        /// The name after `random:`.
        name: String,
        /// The names known, comma-separated.
        known: String,
    },
    /// Classification asked of a model without a classifier.
    #[error(
        "{model}: this model has no classifier (a ViTModel checkpoint); use `vitrs embed` (or \
         Pipeline::embed) for embeddings, or a ViTForImageClassification checkpoint"
    )]
    NoClassifier {
        /// The model as named.
        model: String,
    },
    /// Images of different sizes in one forward pass.
    #[error(
        "images in one batch must share a size: {first:?} and {found:?} (a processor that \
         keeps the aspect ratio; embed them one at a time or set a fixed size)"
    )]
    BatchSizes {
        /// `[3, H, W]` of the first image.
        first: Vec<usize>,
        /// `[3, H, W]` of the one that differs.
        found: Vec<usize>,
    },
    /// Serialising an output (safetensors, JSON) failed.
    #[error("{action}")]
    Serialize {
        /// What was being written.
        action: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

macro_rules! boxed_from {
    ($($variant:ident($ty:ty)),*) => {$(
        impl From<$ty> for Error {
            fn from(e: $ty) -> Self {
                Error::$variant(Box::new(e))
            }
        }
    )*};
}

boxed_from!(
    Image(ImageError),
    Model(ModelError),
    Tensor(TensorError),
    Convert(ConvertError),
    Hub(HubError)
);

impl Error {
    /// An I/O error while `action` (which names `path`).
    pub fn io(action: impl Into<String>, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action: action.into(),
            path: path.into(),
            source,
        }
    }

    /// An output that cannot be written.
    pub fn output(path: &Path, message: impl Into<String>) -> Self {
        Error::Output {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }

    /// An input that cannot be read.
    pub fn input(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Input {
            path: path.into(),
            message: message.into(),
        }
    }

    /// An option whose value cannot be used.
    pub fn option(option: &'static str, message: impl Into<String>) -> Self {
        Error::Option {
            option,
            message: message.into(),
        }
    }

    /// The message and every cause after it, on one line (`writing out.npy: No space left
    /// on device`).
    pub fn chain(&self) -> Chain<'_> {
        Chain(self)
    }
}

/// An error and its causes, `: `-separated; see [`Error::chain`].
pub struct Chain<'a>(&'a (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&chain_of(self.0))
    }
}

/// `err` and its causes, `: `-separated; a cause whose text the message already ends with
/// (an error that shows its source itself) is not repeated.
pub fn chain_of(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.ends_with(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

/// `.io_err(|| "writing x")` on `std::io::Result`.
pub(crate) trait IoContext<T> {
    /// Wraps the I/O error with what was being done to `path`.
    fn io_err(self, path: &Path, action: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn io_err(self, path: &Path, action: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::io(action(), path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_names_the_file_and_the_cause_once() {
        let e = Error::io(
            "writing out.npy",
            "out.npy",
            std::io::Error::other("disk full"),
        );
        assert_eq!(e.to_string(), "writing out.npy");
        assert_eq!(e.chain().to_string(), "writing out.npy: disk full");
        let e: Error = ImageError::Empty {
            path: "a.png".into(),
        }
        .into();
        assert_eq!(e.chain().to_string(), "a.png: the file is empty");
        let e: Error = ImageError::Io {
            path: "a.png".into(),
            source: std::io::Error::other("gone"),
        }
        .into();
        assert_eq!(e.chain().to_string(), "a.png: gone");
        // Small enough to return by value everywhere (clippy's result_large_err).
        assert!(
            std::mem::size_of::<Error>() <= 80,
            "{}",
            std::mem::size_of::<Error>()
        );
    }
}
