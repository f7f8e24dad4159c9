//! Turning a model name (`--model`: a folder, a Hub id, `random:NAME`) into a loaded model.

use std::path::PathBuf;
use std::time::Instant;

use vitrs_image::ImageProcessor;
use vitrs_model::{Checkpoint, LoadOptions, ViT};

use crate::hub::{self, ModelSpec, ResolveOptions};
use crate::zoo::{self, Architecture};
use crate::{Error, Result};

/// Where a loaded model came from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A folder in the Hugging Face layout.
    Dir(PathBuf),
    /// `random:NAME` with a seed.
    Random(&'static Architecture, u64),
}

/// A model ready to run, with what is known about its origin.
pub struct Loaded {
    /// The model.
    pub vit: ViT,
    /// Where it came from.
    pub source: Source,
    /// Milliseconds spent loading.
    pub load_ms: f64,
}

impl Loaded {
    /// The image processor that belongs with the model: its `preprocessor_config.json`,
    /// transformers' defaults when it has none. A file that exists but cannot be read or
    /// parsed is an error, never a silent fall-back to defaults.
    pub fn image_processor(&self) -> Result<ImageProcessor> {
        match &self.source {
            Source::Dir(dir) => Ok(ImageProcessor::from_dir(dir)?),
            Source::Random(arch, _) => random_processor(arch),
        }
    }

    /// Dtypes and bytes of the weight files (`None` for in-memory models).
    pub fn files(&self) -> Option<(Vec<String>, u64)> {
        let Source::Dir(dir) = &self.source else {
            return None;
        };
        let checkpoint = Checkpoint::open_dir(dir).ok()?;
        let bytes = std::fs::read_dir(dir)
            .ok()?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".safetensors"))
            .filter_map(|e| e.metadata().ok().map(|m| m.len()))
            .sum();
        Some((checkpoint.dtypes(), bytes))
    }
}

fn random_processor(arch: &Architecture) -> Result<ImageProcessor> {
    let origin = PathBuf::from(format!("random:{}/preprocessor_config.json", arch.name));
    Ok(ImageProcessor::from_json_str(arch.preprocessor, &origin)?)
}

fn find_architecture(name: &str) -> Result<&'static Architecture> {
    zoo::find(name).ok_or_else(|| Error::UnknownArchitecture {
        name: name.to_string(),
        known: zoo::names(),
    })
}

/// The image processor of the model `spec` names (as `--model` takes it: a folder, a Hub id,
/// `random:NAME`) without loading its weights. A folder needs only its
/// `preprocessor_config.json` (transformers' defaults when it has none) but must exist; a
/// Hub id is resolved (from the cache, or downloaded) as for `embed`.
pub fn image_processor(spec: &str) -> Result<ImageProcessor> {
    match spec.parse::<ModelSpec>()? {
        ModelSpec::Random { name } => random_processor(find_architecture(&name)?),
        ModelSpec::Dir(dir) => match std::fs::metadata(&dir) {
            Ok(m) if m.is_dir() => Ok(ImageProcessor::from_dir(&dir)?),
            Ok(_) => Err(hub::HubError::NotAFolder { path: dir }.into()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(hub::HubError::NoSuchFolder { path: dir }.into())
            }
            Err(e) => Err(Error::io(dir.display().to_string(), dir, e)),
        },
        hub_spec => {
            let dir = hub::resolve(&hub_spec, &ResolveOptions::from_env())?;
            Ok(ImageProcessor::from_dir(&dir)?)
        }
    }
}

/// Loads `spec`: `random:NAME` (built in memory from `seed`, announced by an info-level log
/// message), a model
/// folder, or a Hub id (`org/name[@revision]`) found in the Hugging Face cache or downloaded
/// into it (see [`crate::hub`]).
pub fn load(spec: &str, seed: u64, opts: &LoadOptions) -> Result<Loaded> {
    let start = Instant::now();
    let (vit, source) = match spec.parse::<ModelSpec>()? {
        ModelSpec::Random { name } => {
            let arch = find_architecture(&name)?;
            log::info!(
                "using random:{name} — the {} architecture with random weights (seed {seed}), \
                 not the trained model",
                arch.repo
            );
            (arch.build_with(seed, opts)?, Source::Random(arch, seed))
        }
        other => {
            let dir = hub::resolve(&other, &ResolveOptions::from_env())?;
            let vit = ViT::load_with(&dir, opts)?;
            (vit, Source::Dir(dir))
        }
    };
    Ok(Loaded {
        vit,
        source,
        load_ms: start.elapsed().as_secs_f64() * 1e3,
    })
}
