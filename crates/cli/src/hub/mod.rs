//! Model resolution: from what `--model` says to a folder holding `config.json`,
//! `model.safetensors` (or `model.safetensors.index.json` and its shards) and, when the repo
//! has one, `preprocessor_config.json`.
//!
//! - [`ModelSpec`]: parses `--model` (a folder, `org/name[@revision]`, or `random:NAME`);
//! - [`ResolveOptions`]: cache folder, endpoint, token, offline mode, read from the
//!   environment as `huggingface_hub` reads it;
//! - [`resolve`]: checks a folder, or finds a Hub id in the standard Hugging Face cache, or
//!   downloads it there through the `hf-hub` crate (with a progress bar), checking every file.
//!   Downloading needs the `hub` feature (on by default); without it a Hub id is found in the
//!   cache or is an error saying how to fetch it (`hf download ...`).
//!
//! ```no_run
//! use vitrs::hub::{resolve, ModelSpec, ResolveOptions};
//!
//! let spec: ModelSpec = "google/vit-base-patch16-224-in21k".parse()?;
//! let dir = resolve(&spec, &ResolveOptions::from_env())?;
//! assert!(dir.join("config.json").is_file());
//! # Ok::<(), vitrs::hub::HubError>(())
//! ```

mod cache;
#[cfg(feature = "hub")]
mod download;
mod error;
mod layout;
mod options;
#[cfg(feature = "hub")]
mod progress;
mod spec;

use std::path::PathBuf;

pub use cache::{check_revision, CacheState};
pub use error::HubError;
pub use options::{ResolveOptions, DEFAULT_ENDPOINT};
pub use spec::ModelSpec;

/// Resolves `spec` to a model folder.
///
/// - [`ModelSpec::Dir`]: the folder must hold `config.json` and safetensors weights;
/// - [`ModelSpec::Hub`]: the snapshot in `opts.cache_dir` if the revision (default `main`)
///   is cached with its config and weights — no network is used then, except one request to
///   learn whether the repo has a `preprocessor_config.json` when the cache does not say;
///   otherwise, unless `opts.offline`, the files are downloaded into the cache and the new
///   snapshot folder is returned;
/// - [`ModelSpec::Random`]: [`HubError::Random`]; random models are built in memory by the
///   caller.
///
/// A returned folder has passed the same check as a local one. `preprocessor_config.json`
/// is in it when the repo has one (and, offline, when it was cached).
pub fn resolve(spec: &ModelSpec, opts: &ResolveOptions) -> Result<PathBuf, HubError> {
    match spec {
        ModelSpec::Dir(dir) => resolve_dir(dir.clone()),
        ModelSpec::Hub { repo, revision } => {
            resolve_hub(repo, revision.as_deref().unwrap_or("main"), opts)
        }
        ModelSpec::Random { name } => Err(HubError::Random { name: name.clone() }),
    }
}

/// Looks a Hub model up in the cache only; never touches the network.
/// A revision that is not a plain name (see [`check_revision`]) is an error.
pub fn lookup_cached(
    repo: &str,
    revision: Option<&str>,
    opts: &ResolveOptions,
) -> Result<CacheState, HubError> {
    cache::lookup(&opts.cache_dir, repo, revision.unwrap_or("main"))
}

fn resolve_dir(dir: PathBuf) -> Result<PathBuf, HubError> {
    match std::fs::metadata(&dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(HubError::NoSuchFolder { path: dir })
        }
        Err(e) => Err(HubError::io(dir, e)),
        Ok(m) if !m.is_dir() => Err(HubError::NotAFolder { path: dir }),
        Ok(_) => {
            layout::check_model_dir(&dir)?;
            Ok(dir)
        }
    }
}

fn resolve_hub(repo: &str, revision: &str, opts: &ResolveOptions) -> Result<PathBuf, HubError> {
    cache::check_revision(revision).map_err(|reason| HubError::BadRevision {
        repo: repo.to_string(),
        revision: revision.to_string(),
        reason,
    })?;
    match cache::lookup(&opts.cache_dir, repo, revision)? {
        CacheState::Complete(dir) => Ok(dir),
        CacheState::NoPreprocessorInfo(dir) => {
            #[cfg(feature = "hub")]
            if !opts.offline {
                let commit = dir
                    .file_name()
                    .map(|c| c.to_string_lossy().into_owned())
                    .unwrap_or_default();
                download::complete_preprocessor(repo, &commit, opts);
            }
            Ok(dir)
        }
        CacheState::Missing if opts.offline => Err(HubError::NotCached {
            repo: repo.to_string(),
            revision: revision.to_string(),
            cache: opts.cache_dir.clone(),
            command: download_command(repo, revision),
        }),
        #[cfg(feature = "hub")]
        CacheState::Missing => download::download_model(repo, revision, opts),
        #[cfg(not(feature = "hub"))]
        CacheState::Missing => Err(HubError::NoDownloads {
            repo: repo.to_string(),
            revision: revision.to_string(),
            cache: opts.cache_dir.clone(),
            command: download_command(repo, revision),
        }),
    }
}

/// The `hf` command (huggingface_hub's CLI) that fetches what vitrs needs into the default
/// cache.
fn download_command(repo: &str, revision: &str) -> String {
    let mut cmd = format!("hf download {repo}");
    if revision != "main" {
        cmd.push_str(&format!(" --revision {revision}"));
    }
    cmd.push_str(" --include '*.json' '*.safetensors'");
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/models")
            .join(name)
    }

    #[test]
    fn local_folders() {
        let dir = fixture("pooler");
        assert_eq!(
            resolve(
                &ModelSpec::Dir(dir.clone()),
                &ResolveOptions::new("/nonexistent")
            )
            .unwrap(),
            dir
        );
        let err = resolve(
            &ModelSpec::Dir(fixture("no-such-case")),
            &ResolveOptions::new("/x"),
        )
        .unwrap_err();
        assert!(matches!(err, HubError::NoSuchFolder { .. }), "{err}");
        let err = resolve(
            &ModelSpec::Dir(dir.join("config.json")),
            &ResolveOptions::new("/x"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("is a file"), "{err}");
        let tmp = tempfile::tempdir().unwrap();
        let err = resolve(
            &ModelSpec::Dir(tmp.path().into()),
            &ResolveOptions::new("/x"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("no config.json"), "{err}");
    }

    #[test]
    fn random_is_not_a_folder() {
        let spec = ModelSpec::Random {
            name: "dino-vitb16".into(),
        };
        let err = resolve(&spec, &ResolveOptions::new("/x")).unwrap_err();
        assert!(matches!(err, HubError::Random { .. }));
    }

    #[test]
    fn offline_and_not_cached_says_how_to_get_it() {
        let tmp = tempfile::tempdir().unwrap();
        let mut opts = ResolveOptions::new(tmp.path());
        opts.offline = true;
        opts.endpoint = "http://127.0.0.1:1".into(); // would fail loudly if it were asked
        let spec: ModelSpec = "google/vit-base-patch16-224@v1".parse().unwrap();
        let err = resolve(&spec, &opts).unwrap_err().to_string();
        assert!(err.contains("HF_HUB_OFFLINE"), "{err}");
        assert!(
            err.contains("hf download google/vit-base-patch16-224 --revision v1"),
            "{err}"
        );
        assert!(!err.contains('\n'));
    }
}
