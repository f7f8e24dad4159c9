//! Image files to the exact `pixel_values` that transformers' PIL-backend
//! `ViTImageProcessor` (`ViTImageProcessorPil`) produces.
//!
//! ```text
//! file → decode → RGB (grey replicated, alpha composited onto white as Pillow does)
//!      → resize (Pillow's fixed-point filters) → center crop → rescale → normalize
//!      → [3, H, W] f32
//! ```
//!
//! - [`decode`]: reading any supported file into an [`RgbImage`], with a pixel limit checked
//!   before anything is allocated.
//! - [`resample`]: Pillow's NEAREST, BOX, BILINEAR, HAMMING, BICUBIC and LANCZOS, bit-exact.
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

mod composite;
mod config;
pub mod decode;
mod error;
#[cfg(feature = "libjpeg")]
mod libjpeg;
mod processor;
pub mod resample;
mod rgb;

pub use config::{ProcessorClass, ProcessorConfig, Size, PROCESSOR_CLASSES};
pub use decode::{Limits, DEFAULT_MAX_PIXELS};
pub use error::ImageError;
pub use processor::ImageProcessor;
pub use resample::Filter;
pub use rgb::RgbImage;
