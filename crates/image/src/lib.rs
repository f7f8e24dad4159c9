//! Image files to the exact `pixel_values` that transformers' `ViTImageProcessor` produces,
//! in either of its backends ([`Backend`]): torchvision (the default, as `AutoImageProcessor`)
//! or PIL (`ViTImageProcessorPil`).
//!
//! ```text
//! file → decode → RGB (grey replicated, alpha composited onto white as Pillow does)
//!      → resize (Pillow's fixed-point filters) → center crop → rescale → normalize
//!      → [3, H, W] f32
//! ```
//!
//! - [`decode`]: reading any supported file into an [`RgbImage`], with a pixel limit checked
//!   before anything is allocated.
//! - [`resample`]: Pillow's NEAREST, BOX, BILINEAR, HAMMING, BICUBIC and LANCZOS, bit-exact;
//!   [`resample::torch`]: torch's uint8 antialiased BILINEAR, BICUBIC, LANCZOS and
//!   nearest-exact, bit-exact.
//! - [`ProcessorConfig`]: `preprocessor_config.json` in all its forms, with HF's defaults.
//! - [`ImageProcessor`]: the whole pipeline.
//!
//! ```
//! use vitrs_image::ImageProcessor;
//! let processor = ImageProcessor::default(); // 224×224, bilinear, mean = std = 0.5
//! let pixels = processor.preprocess_path("../../fixtures/images/chelsea.png".as_ref())?;
//! assert_eq!(pixels.dims(), &[3, 224, 224]);
//! # Ok::<(), vitrs_image::ImageError>(())
//! ```

mod backend;
mod composite;
mod config;
pub mod decode;
mod error;
pub mod exif;
mod jpeg_header;
#[cfg(feature = "libjpeg")]
mod libjpeg;
mod processor;
pub mod resample;
mod rgb;

/// The `image` crate this one decodes with, for callers that hold an `image::DynamicImage`.
pub use image;

pub use backend::Backend;
pub use config::{ProcessorClass, ProcessorConfig, Size, PROCESSOR_CLASSES};
pub use decode::{Limits, DEFAULT_MAX_PIXELS};
pub use error::ImageError;
pub use processor::ImageProcessor;
pub use resample::Filter;
pub use rgb::RgbImage;
