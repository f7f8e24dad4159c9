//! What can go wrong resolving a model. Every message is one line that names the folder, file
//! or Hub id concerned and says what to do about it.

use std::path::PathBuf;

use thiserror::Error;

/// An error from parsing a model spec or resolving it to a folder.
#[derive(Debug, Error)]
pub enum HubError {
    /// The `--model` value is neither a folder, a Hub id nor `random:NAME`.
    #[error(
        "`{spec}` is not a model: {reason}; pass a folder in Hugging Face layout, a Hub id \
         such as `google/vit-base-patch16-224` (optionally `@revision`), or `random:NAME`"
    )]
    InvalidSpec {
        /// What was given.
        spec: String,
        /// Why it does not parse.
        reason: String,
    },

    /// `random:NAME` models are built in memory by the caller, never resolved to a folder.
    #[error("`random:{name}` is built in memory with random weights; it has no folder to resolve")]
    Random {
        /// The architecture name.
        name: String,
    },

    /// A path-like spec that does not exist.
    #[error("model folder {} does not exist", path.display())]
    NoSuchFolder {
        /// The path given.
        path: PathBuf,
    },

    /// The spec names a file where a folder is expected.
    #[error(
        "{} is a file; pass the folder that holds config.json and model.safetensors",
        path.display()
    )]
    NotAFolder {
        /// The path given.
        path: PathBuf,
    },

    /// The folder has no `config.json`.
    #[error(
        "{} has no config.json, so it is not a model folder in Hugging Face layout; download \
         one with `hf download ORG/NAME --local-dir {}` or convert a timm/JAX \
         checkpoint with `vitrs convert`",
        dir.display(),
        dir.display()
    )]
    MissingConfig {
        /// The folder.
        dir: PathBuf,
    },

    /// The folder has a config but no safetensors weights.
    #[error(
        "{} has config.json but no model.safetensors or model.safetensors.index.json{hint}",
        dir.display()
    )]
    MissingWeights {
        /// The folder.
        dir: PathBuf,
        /// What to do, depending on what else is there (e.g. `pytorch_model.bin`).
        hint: String,
    },

    /// The shard index lists a shard that is not in the folder.
    #[error(
        "{} lists shard `{shard}`, which is not in {}; the download is incomplete, fetch it again",
        index.display(),
        dir.display()
    )]
    MissingShard {
        /// The folder.
        dir: PathBuf,
        /// The index file.
        index: PathBuf,
        /// The shard file name.
        shard: String,
    },

    /// `model.safetensors.index.json` cannot be used.
    #[error("{}: not a usable shard index: {reason}", path.display())]
    BadIndex {
        /// The index file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// A revision (after `@`, or read from a cache `refs/` file) that is neither a commit
    /// hash nor a plain branch or tag name: it could name a path outside the cache.
    #[error("`{repo}`: revision {revision:?} is refused: {reason}")]
    BadRevision {
        /// The Hub id.
        repo: String,
        /// The revision (or ref file content) as found.
        revision: String,
        /// Which rule it breaks.
        reason: String,
    },

    /// Offline (`HF_HUB_OFFLINE=1`) and the model is not in the cache.
    #[error(
        "`{repo}` (revision {revision}) is not in the Hugging Face cache at {} and \
         HF_HUB_OFFLINE=1 forbids downloading it: run the command again without \
         HF_HUB_OFFLINE, or fetch it with `{command}`",
        cache.display()
    )]
    NotCached {
        /// The Hub id.
        repo: String,
        /// The revision asked for.
        revision: String,
        /// The cache folder searched.
        cache: PathBuf,
        /// A command that downloads it into that cache.
        command: String,
    },

    /// The model is not in the cache and this build cannot download (the `hub` feature is
    /// off).
    #[error(
        "`{repo}` (revision {revision}) is not in the Hugging Face cache at {}, and this build \
         of vitrs cannot download (its `hub` feature is off): fetch it with `{command}`, or \
         pass a model folder",
        cache.display()
    )]
    NoDownloads {
        /// The Hub id.
        repo: String,
        /// The revision asked for.
        revision: String,
        /// The cache folder searched.
        cache: PathBuf,
        /// A command that downloads it into that cache.
        command: String,
    },

    /// The Hub answered 404 (or 401: no such repo, or a private or gated one) for `config.json`.
    #[error(
        "no model `{repo}` at revision {revision} on {endpoint} (HTTP {status}): check the id \
         and revision{hint}"
    )]
    RepoNotFound {
        /// The Hub id.
        repo: String,
        /// The revision asked for.
        revision: String,
        /// The endpoint asked.
        endpoint: String,
        /// The HTTP status.
        status: u16,
        /// What else to try (a token, a local folder of that name).
        hint: String,
    },

    /// The repo exists but holds no safetensors weights at that revision.
    #[error(
        "`{repo}` (revision {revision}) has no model.safetensors or \
         model.safetensors.index.json; vitrs reads safetensors only: try a revision that has \
         them (e.g. a conversion pull request, `{repo}@refs/pr/N`)"
    )]
    NoSafetensorsOnHub {
        /// The Hub id.
        repo: String,
        /// The revision asked for.
        revision: String,
    },

    /// The repo's `config.json` describes a model vitrs does not run (an unsupported
    /// `model_type`, say); found before any weights were downloaded.
    #[error("`{repo}` is not a model vitrs runs ({message}); its weights were not downloaded")]
    Unsupported {
        /// The Hub id.
        repo: String,
        /// What the config says, and what vitrs accepts.
        message: String,
    },

    /// A request or a transfer failed.
    #[error("downloading `{file}` of `{repo}` from {url}: {message}")]
    Download {
        /// The Hub id.
        repo: String,
        /// The file in the repo.
        file: String,
        /// The URL asked.
        url: String,
        /// What failed.
        message: String,
    },

    /// A downloaded file does not have the size the Hub announced (truncated transfer).
    #[error(
        "downloaded `{file}` of `{repo}` has {found} bytes, the Hub announced {expected}; \
         the partial file was removed, run the command again"
    )]
    SizeMismatch {
        /// The Hub id.
        repo: String,
        /// The file in the repo.
        file: String,
        /// Bytes announced.
        expected: u64,
        /// Bytes received.
        found: u64,
    },

    /// A downloaded LFS file does not hash to the sha256 the Hub announced.
    #[error(
        "downloaded `{file}` of `{repo}` has sha256 {found}, the Hub announced {expected}; \
         the corrupt file was removed, run the command again"
    )]
    ChecksumMismatch {
        /// The Hub id.
        repo: String,
        /// The file in the repo.
        file: String,
        /// The announced sha256.
        expected: String,
        /// The sha256 of what was received.
        found: String,
    },

    /// The files of one model came from different commits (the branch moved mid-download).
    #[error(
        "`{repo}` changed while downloading (`{file}` is at commit {found}, the rest at \
         {expected}); run the command again"
    )]
    CommitChanged {
        /// The Hub id.
        repo: String,
        /// The file whose commit differs.
        file: String,
        /// The commit of the first file.
        expected: String,
        /// The commit of this file.
        found: String,
    },

    /// A file or folder could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl HubError {
    /// Wraps an I/O error with the path it concerns.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        HubError::Io {
            path: path.into(),
            source,
        }
    }
}
