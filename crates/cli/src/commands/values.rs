//! The values of every enum flag, as clap `ValueEnum`s (so `--help` lists them and completions
//! offer them), mapped onto the library's types.

use clap::ValueEnum;

/// `--format` of `vitrs embed`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatArg {
    /// NumPy .npy: one f32 array [N, D] (or [N, T, D]), rows in input order.
    Npy,
    /// safetensors: tensor `embeddings`, the paths as JSON in the metadata key `paths`.
    Safetensors,
    /// One JSON object per line: {"path": ..., "embedding": [...]}.
    Jsonl,
}

impl From<FormatArg> for vitrs::embed::write::Format {
    fn from(f: FormatArg) -> Self {
        use vitrs::embed::write::Format;
        match f {
            FormatArg::Npy => Format::Npy,
            FormatArg::Safetensors => Format::Safetensors,
            FormatArg::Jsonl => Format::Jsonl,
        }
    }
}

/// `--pool` of `vitrs embed`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolArg {
    /// Token 0 of last_hidden_state: the final-normed CLS.
    Cls,
    /// The mean of the patch tokens.
    Mean,
    /// pooler_output (SigLIP: its attention-pooling MAP head).
    #[value(alias = "map")]
    Pooler,
    /// CLIP's image_embeds (visual_projection of the pooled CLS).
    #[value(name = "image_embeds", alias = "image-embeds")]
    ImageEmbeds,
    /// Every token, [T, D] per image.
    None,
}

impl From<PoolArg> for vitrs::Pool {
    fn from(p: PoolArg) -> Self {
        use vitrs::Pool;
        match p {
            PoolArg::Cls => Pool::Cls,
            PoolArg::Mean => Pool::Mean,
            PoolArg::Pooler => Pool::Pooler,
            PoolArg::ImageEmbeds => Pool::ImageEmbeds,
            PoolArg::None => Pool::None,
        }
    }
}

/// `--from` of `vitrs convert`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormatArg {
    /// timm VisionTransformer weights (safetensors).
    Timm,
    /// The original JAX .npz of google-research/vision_transformer.
    Jax,
    /// Already Hugging Face (re-encode only, to change the dtype).
    Hf,
}

impl From<SourceFormatArg> for vitrs_convert::Format {
    fn from(f: SourceFormatArg) -> Self {
        use vitrs_convert::Format;
        match f {
            SourceFormatArg::Timm => Format::Timm,
            SourceFormatArg::Jax => Format::Jax,
            SourceFormatArg::Hf => Format::Hf,
        }
    }
}

/// `--dtype` of `vitrs convert`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DTypeArg {
    /// 32-bit float.
    F32,
    /// 16-bit float (IEEE half).
    F16,
    /// bfloat16.
    Bf16,
    /// The encoder's linear weights as I8 per output channel with F32 scales (the rest f32).
    Int8,
}

impl DTypeArg {
    /// The float dtype, or `None` for int8.
    pub fn float(self) -> Option<vitrs_convert::DType> {
        use vitrs_convert::DType;
        match self {
            DTypeArg::F32 => Some(DType::F32),
            DTypeArg::F16 => Some(DType::F16),
            DTypeArg::Bf16 => Some(DType::BF16),
            DTypeArg::Int8 => None,
        }
    }

    /// The name on the command line.
    pub fn name(self) -> String {
        self.to_possible_value()
            .map_or_else(String::new, |v| v.get_name().to_string())
    }
}

/// `--dtype` of the commands that run a model: what the encoder's linear layers compute in.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ComputeDtypeArg {
    /// 32-bit float (the default).
    #[default]
    F32,
    /// int8 weights per output channel, activations per row (an f32 checkpoint is quantized
    /// while loading).
    Int8,
}

impl From<ComputeDtypeArg> for vitrs_model::ComputeDtype {
    fn from(d: ComputeDtypeArg) -> Self {
        match d {
            ComputeDtypeArg::F32 => vitrs_model::ComputeDtype::F32,
            ComputeDtypeArg::Int8 => vitrs_model::ComputeDtype::Int8,
        }
    }
}

/// `--backend` of `preprocess`, `embed` and `classify`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendArg {
    /// ViTImageProcessorPil: Pillow resize.
    Pil,
    /// ViTImageProcessor (torchvision backend): torch's uint8 antialiased resize.
    Torchvision,
}

impl From<BackendArg> for vitrs::Backend {
    fn from(b: BackendArg) -> Self {
        match b {
            BackendArg::Pil => vitrs::Backend::Pil,
            BackendArg::Torchvision => vitrs::Backend::Torchvision,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every value clap offers parses to the library's own spelling of it.
    #[test]
    fn values_match_the_library_names() {
        for p in PoolArg::value_variants() {
            let name = p.to_possible_value().unwrap().get_name().to_string();
            assert_eq!(vitrs::Pool::from(*p).to_string(), name);
        }
        for f in FormatArg::value_variants() {
            let name = f.to_possible_value().unwrap().get_name().to_string();
            assert_eq!(vitrs::embed::write::Format::from(*f).to_string(), name);
        }
        for d in DTypeArg::value_variants() {
            let name = d.to_possible_value().unwrap().get_name().to_string();
            match d.float() {
                Some(float) => assert_eq!(name.parse::<vitrs_tensor::DType>().unwrap(), float),
                None => assert_eq!(name, "int8"),
            }
        }
        for d in ComputeDtypeArg::value_variants() {
            let name = d.to_possible_value().unwrap().get_name().to_string();
            assert_eq!(vitrs_model::ComputeDtype::from(*d).to_string(), name);
        }
        for f in SourceFormatArg::value_variants() {
            let name = f.to_possible_value().unwrap().get_name().to_string();
            assert_eq!(name.parse::<vitrs_convert::Format>().unwrap(), (*f).into());
        }
    }
}
