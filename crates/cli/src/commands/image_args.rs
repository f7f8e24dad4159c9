//! Preprocessing flags shared by `preprocess`, `embed` and `classify`.

use anyhow::Result;
use vitrs_image::{Backend, ImageProcessor};

use super::values::BackendArg;

/// Which of transformers' image-processor backends to reproduce.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ImageArgs {
    /// transformers' image-processor backend to reproduce: torchvision (the default, as
    /// AutoImageProcessor and pipeline() when torchvision is installed) or pil
    /// (ViTImageProcessorPil). Configs with BOX or HAMMING resampling default to pil, the only
    /// backend that has them.
    #[arg(long, value_enum)]
    backend: Option<BackendArg>,
    /// Turn images upright by their EXIF orientation before preprocessing (the default, as
    /// transformers' pipelines do with load_image).
    #[arg(long, overrides_with = "no_exif")]
    exif: bool,
    /// Use the stored pixels as they are, ignoring EXIF orientation (as the image processor
    /// called on PIL.Image.open(path)).
    #[arg(long, overrides_with = "exif")]
    no_exif: bool,
    /// Decode large JPEGs already shrunk (libjpeg's DCT scaling, as Pillow's Image.draft) to
    /// the smallest 1/8, 1/4 or 1/2 scale that keeps twice the model's input size: several
    /// times faster on camera photos, but NOT exact to transformers (embeddings differ
    /// slightly). Off by default.
    #[arg(long)]
    jpeg_draft: bool,
}

impl ImageArgs {
    /// The backend asked for, if any.
    pub fn backend(&self) -> Option<Backend> {
        self.backend.map(Backend::from)
    }

    /// Applies the flags to `processor`.
    pub fn apply(&self, processor: &mut ImageProcessor) -> Result<()> {
        if let Some(b) = self.backend() {
            processor.set_backend(b)?;
        }
        processor.set_exif(!self.no_exif);
        processor.set_jpeg_draft(self.jpeg_draft);
        Ok(())
    }
}
