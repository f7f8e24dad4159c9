//! The model flags every command shares, mapped onto the library's [`PipelineBuilder`].

use vitrs::load::Loaded;
use vitrs::{LoadOptions, Pipeline, PipelineBuilder};
use vitrs_model::ComputeDtype;

use super::values::ComputeDtypeArg;

/// The model arguments every command shares.
#[derive(Debug, Clone, clap::Args)]
pub struct ModelArgs {
    /// A model folder in the Hugging Face layout, a Hub id (`org/name[@revision]`, from the
    /// Hugging Face cache or downloaded into it), or random:NAME (an architecture with seeded
    /// random weights).
    #[arg(long)]
    pub model: String,
    /// Seed of random: weights.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Load weights even if they hold NaN or infinities, and write (embed) or print
    /// (classify) results that are NaN or infinite instead of skipping their image.
    #[arg(long)]
    pub allow_nonfinite: bool,
    /// What the encoder's linear layers compute in: f32, or int8 (weights per output channel,
    /// activations per row; an f32 checkpoint is quantized while loading).
    #[arg(long, value_enum, default_value_t = ComputeDtypeArg::F32)]
    pub dtype: ComputeDtypeArg,
}

impl ModelArgs {
    /// The library options these flags set.
    pub fn builder(&self) -> PipelineBuilder {
        Pipeline::builder(&self.model)
            .seed(self.seed)
            .allow_nonfinite(self.allow_nonfinite)
            .dtype(self.compute_dtype())
    }

    /// What the encoder's linears compute in.
    pub fn compute_dtype(&self) -> ComputeDtype {
        self.dtype.into()
    }

    /// Loads the model with its image processor.
    pub fn pipeline(&self) -> vitrs::Result<Pipeline> {
        self.builder().build()
    }

    /// Loads the model alone.
    pub fn load(&self) -> vitrs::Result<Loaded> {
        let opts = LoadOptions {
            allow_nonfinite: self.allow_nonfinite,
            dtype: self.compute_dtype(),
        };
        vitrs::load::load(&self.model, self.seed, &opts)
    }
}
