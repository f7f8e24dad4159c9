use std::path::PathBuf;

use thiserror::Error;

/// What can go wrong turning a file into `pixel_values`. Every variant names the file.
#[derive(Debug, Error)]
pub enum ImageError {
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is empty.
    #[error("{}: the file is empty", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The bytes are not an image format vitrs reads.
    #[error("{}: not an image vitrs can read (expected PNG, JPEG, GIF, BMP, WebP or TIFF)", path.display())]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// The image is larger than the pixel limit; refused before decoding.
    #[error(
        "{}: {width}x{height} is {} pixels, more than the limit of {limit} (raise it with \
         Limits::max_pixels / --max-pixels if the image is genuine)",
        path.display(),
        (*width as u64) * (*height as u64)
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
        /// The limit in pixels.
        limit: u64,
    },
    /// The config would resize or crop this image to more pixels than the limit.
    #[error(
        "{}: preprocessing would make a {height}x{width} image, more than the limit of {limit} \
         pixels; check size / crop_size in preprocessor_config.json",
        path.display()
    )]
    OutputTooLarge {
        /// The file.
        path: PathBuf,
        /// Height the config asks for.
        height: usize,
        /// Width the config asks for.
        width: usize,
        /// The limit in pixels.
        limit: u64,
    },
    /// The config would resize or crop this image to zero rows or columns (transformers
    /// raises an error there too).
    #[error(
        "{}: a {in_width}x{in_height} image would be resized to {height}x{width} (height x width) \
         pixels; an image needs at least one row and one column",
        path.display()
    )]
    ZeroSize {
        /// The file.
        path: PathBuf,
        /// Width in the file header.
        in_width: u32,
        /// Height in the file header.
        in_height: u32,
        /// Height the config asks for.
        height: usize,
        /// Width the config asks for.
        width: usize,
    },
    /// The caller refused the size this image would preprocess to (a model that cannot take
    /// it); nothing was decoded.
    #[error(
        "{}: a {in_width}x{in_height} image preprocesses to {height}x{width} (height x width), \
         which the model cannot take: {reason}",
        path.display()
    )]
    Refused {
        /// The file.
        path: PathBuf,
        /// Width in the file header.
        in_width: u32,
        /// Height in the file header.
        in_height: u32,
        /// Height it would preprocess to.
        height: usize,
        /// Width it would preprocess to.
        width: usize,
        /// Why it cannot be used.
        reason: String,
    },
    /// The decoder failed (truncated or corrupt data, unsupported variant of a format).
    #[error("{}: cannot decode: {message}", path.display())]
    Decode {
        /// The file.
        path: PathBuf,
        /// The decoder's message.
        message: String,
    },
    /// `preprocessor_config.json` is not valid JSON.
    #[error("{}: {message}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// serde's description.
        message: String,
    },
    /// A config field has a value that cannot be used.
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
    /// The backend has no kernel for the config's resample filter.
    #[error(
        "the {backend} backend cannot resample with {filter} (torch has no such kernel); \
         use the PIL backend (--backend pil) for this preprocessor_config.json"
    )]
    UnsupportedFilter {
        /// The config's filter.
        filter: crate::Filter,
        /// The backend asked for.
        backend: crate::Backend,
    },
}
