//! Downloading a model repo into the hub cache through `hf-hub`'s blocking (ureq) client.
//!
//! `hf-hub` 0.5 does the transfer, the cache layout (blobs named by ETag, relative snapshot
//! symlinks, `refs/`), the resumable `.part` files and the lock per blob. What it does not
//! do, and this module adds:
//! - a 404 is a plain request error: here it becomes "no such model" for `config.json` and
//!   "not in this repo" for optional files, recorded in `.no_exist/` like `huggingface_hub`;
//! - it never checks what it received: every file is checked against the size the server
//!   announced, and LFS files (ETag = sha256) against their hash; a file that fails is
//!   removed from the cache before the error is returned, so nothing truncated is ever
//!   left looking complete;
//! - it can panic on odd server answers (a redirect without `Location`, a failed internal
//!   assertion): calls are wrapped so a panic becomes an error;
//! - it writes `refs/<revision>` even when the revision is a commit hash, which
//!   `huggingface_hub` never does: that stray ref is removed;
//! - it writes the blob under whatever the ETag says: an ETag that is not a plain token
//!   (bar a weak `W/` prefix) is refused before anything is written;
//! - its client has no timeouts (a silent server would hang a download forever): every call
//!   into it runs on a thread of its own and is given up on when a metadata answer takes
//!   longer than [`ResolveOptions::metadata_timeout`] or a download receives nothing for
//!   [`ResolveOptions::download_timeout`] (10 s each by default, `HF_HUB_ETAG_TIMEOUT` and
//!   `HF_HUB_DOWNLOAD_TIMEOUT` as in `huggingface_hub`). The abandoned thread stays blocked
//!   until the process exits; a `.part` file it leaves is resumed by the next download.

use std::io::Read;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use hf_hub::api::sync::{Api, ApiBuilder, ApiError, ApiRepo, Metadata};
use hf_hub::api::Progress;
use hf_hub::{Cache, Repo, RepoType};
use sha2::{Digest, Sha256};

use super::cache::{self, is_commit_hash};
use super::layout::{check_model_dir, shard_names, CONFIG, PREPROCESSOR, WEIGHTS, WEIGHTS_INDEX};
use super::progress::FileBar;
use super::{HubError, ResolveOptions};

/// Downloads what a model needs from `repo` at `revision` into the cache (files already in
/// the snapshot are kept) and returns the snapshot folder.
pub fn download_model(
    repo: &str,
    revision: &str,
    opts: &ResolveOptions,
) -> Result<PathBuf, HubError> {
    let mut f = Fetcher::new(repo, revision, opts)?;
    let result = f.fetch_model();
    f.remove_stray_ref();
    result
}

/// Completes a cached snapshot with `preprocessor_config.json` (or the marker saying the repo
/// has none). Best effort: the model is usable without it, so failures are ignored.
///
/// A short probe of our own asks first: an unreachable Hub costs at most
/// [`ResolveOptions::metadata_timeout`] before the cached model is used as it is.
pub fn complete_preprocessor(repo: &str, commit: &str, opts: &ResolveOptions) {
    let Ok(mut f) = Fetcher::new(repo, commit, opts) else {
        return;
    };
    f.commit = Some(commit.to_string());
    match probe(
        &f.api_repo.url(PREPROCESSOR),
        opts.token.as_deref(),
        opts.metadata_timeout,
    ) {
        Some(404) => {
            let _ = cache::mark_missing(&opts.cache_dir, repo, commit, PREPROCESSOR);
        }
        Some(200 | 206 | 301 | 302 | 303 | 307 | 308) => {
            let _ = f.fetch_optional(PREPROCESSOR);
        }
        // Unreachable, refused, or an error page: the model is usable without it.
        _ => {}
    }
    f.remove_stray_ref();
}

/// The status of a `Range: bytes=0-0` GET of `url` (redirects not followed), or `None` if no
/// answer came within `timeout`.
fn probe(url: &str, token: Option<&str>, timeout: Duration) -> Option<u16> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .into();
    let mut request = agent.get(url).header("Range", "bytes=0-0");
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    request.call().ok().map(|r| r.status().as_u16())
}

/// One repo at one revision, and the commit its files must all come from.
struct Fetcher<'a> {
    repo: &'a str,
    revision: &'a str,
    opts: &'a ResolveOptions,
    api: Api,
    api_repo: ApiRepo,
    /// The commit of the first file fetched; every later file must match it.
    commit: Option<String>,
    /// Whether `refs/<revision>` existed before we started.
    had_ref: bool,
}

/// What a metadata request found.
enum Found {
    File(Metadata),
    /// HTTP 401, 403 or 404.
    Absent(u16),
}

impl<'a> Fetcher<'a> {
    fn new(repo: &'a str, revision: &'a str, opts: &'a ResolveOptions) -> Result<Self, HubError> {
        let api = ApiBuilder::from_cache(Cache::new(opts.cache_dir.clone()))
            .with_endpoint(opts.endpoint.clone())
            .with_token(opts.token.clone())
            .with_progress(false)
            .with_retries(opts.retries)
            .with_user_agent("vitrs", env!("CARGO_PKG_VERSION"))
            .build()
            .map_err(|e| HubError::Download {
                repo: repo.to_string(),
                file: CONFIG.to_string(),
                url: opts.endpoint.clone(),
                message: e.to_string(),
            })?;
        let api_repo = api.repo(Repo::with_revision(
            repo.to_string(),
            RepoType::Model,
            revision.to_string(),
        ));
        let had_ref = cache::repo_folder(&opts.cache_dir, repo)
            .join("refs")
            .join(revision)
            .exists();
        Ok(Fetcher {
            repo,
            revision,
            opts,
            api,
            api_repo,
            commit: None,
            had_ref,
        })
    }

    /// Config, weights (single or every shard), and the preprocessor config when the repo
    /// has one.
    fn fetch_model(&mut self) -> Result<PathBuf, HubError> {
        let config = match self.metadata(CONFIG)? {
            Found::File(meta) => self.fetch_file(CONFIG, meta)?,
            Found::Absent(status) => return Err(self.not_found(status)),
        };
        // Refuse an unsupported model_type (or an unusable config) before the weights.
        if let Err(e) = vitrs_model::ViTConfig::from_file(&config) {
            return Err(HubError::Unsupported {
                repo: self.repo.to_string(),
                message: e.to_string(),
            });
        }
        if self.fetch_optional(WEIGHTS)?.is_none() {
            let Some(index) = self.fetch_optional(WEIGHTS_INDEX)? else {
                return Err(HubError::NoSafetensorsOnHub {
                    repo: self.repo.to_string(),
                    revision: self.revision.to_string(),
                });
            };
            for shard in shard_names(&index)? {
                if self.fetch_optional(&shard)?.is_none() {
                    return Err(self.error(
                        &shard,
                        format!("{WEIGHTS_INDEX} lists it but the server has no such file"),
                    ));
                }
            }
        }
        self.fetch_optional(PREPROCESSOR)?;
        let snapshot = cache::snapshot_dir(&self.opts.cache_dir, self.repo, self.commit()?);
        check_model_dir(&snapshot)?;
        Ok(snapshot)
    }

    /// Fetches `file`; `None` when the repo does not have it (recorded in `.no_exist/`).
    fn fetch_optional(&mut self, file: &str) -> Result<Option<PathBuf>, HubError> {
        match self.metadata(file)? {
            Found::File(meta) => self.fetch_file(file, meta).map(Some),
            Found::Absent(_) => {
                if let Some(commit) = &self.commit {
                    // Only a cache hint: failing to write it changes nothing else.
                    let _ = cache::mark_missing(&self.opts.cache_dir, self.repo, commit, file);
                }
                Ok(None)
            }
        }
    }

    /// Asks the server for the file's commit, ETag and size (a `Range: bytes=0-0` GET that
    /// follows the Hub's redirects).
    fn metadata(&self, file: &str) -> Result<Found, HubError> {
        let url = self.api_repo.url(file);
        let api = self.api.clone();
        let asked = url.clone();
        let timeout = self.opts.metadata_timeout;
        let answer = bounded(timeout, Activity::new(), move || {
            guard(|| api.metadata(&asked))
        })
        .map_err(|()| {
            self.error(
                file,
                format!(
                    "no answer from {} within {timeout:?} (HF_HUB_ETAG_TIMEOUT); set \
                     HF_HUB_OFFLINE=1 to use only models already in the cache",
                    self.opts.endpoint
                ),
            )
        })?;
        match answer {
            Ok(Ok(meta)) => Ok(Found::File(meta)),
            Ok(Err(e)) => match status_of(&e) {
                Some(status @ (401 | 403 | 404)) => Ok(Found::Absent(status)),
                Some(_) => Err(self.error(file, e.to_string())),
                None if matches!(e, ApiError::RequestError(_)) => Err(self.error(
                    file,
                    format!(
                        "{e}; is {} reachable? Check the network or HF_ENDPOINT, or set \
                         HF_HUB_OFFLINE=1 to use only models already in the cache",
                        self.opts.endpoint
                    ),
                )),
                None => Err(self.error(file, e.to_string())),
            },
            Err(panic) => Err(self.error(file, panic)),
        }
    }

    /// Downloads `file` (unless the snapshot already has it at the announced size) and checks
    /// what arrived.
    fn fetch_file(&mut self, file: &str, meta: Metadata) -> Result<PathBuf, HubError> {
        match &self.commit {
            None => self.commit = Some(meta.commit_hash().to_string()),
            Some(commit) if commit != meta.commit_hash() => {
                return Err(HubError::CommitChanged {
                    repo: self.repo.to_string(),
                    file: file.to_string(),
                    expected: commit.clone(),
                    found: meta.commit_hash().to_string(),
                })
            }
            Some(_) => {}
        }
        // hf-hub strips the quotes but not a weak `W/` prefix (which some servers send); it
        // then files the blob under `blobs/W/`: harmless, so it is let through.
        let etag = meta.etag().strip_prefix("W/").unwrap_or(meta.etag());
        if !is_token(etag) || !is_token(meta.commit_hash()) {
            return Err(self.error(
                file,
                format!(
                    "the server sent an unusable ETag `{}` or commit `{}`",
                    meta.etag(),
                    meta.commit_hash()
                ),
            ));
        }
        let target =
            cache::snapshot_dir(&self.opts.cache_dir, self.repo, meta.commit_hash()).join(file);
        if std::fs::metadata(&target).is_ok_and(|m| m.len() == meta.size() as u64) {
            return Ok(target);
        }
        // A symlink whose blob is gone would make hf-hub's symlink step fail.
        if std::fs::symlink_metadata(&target).is_ok() {
            std::fs::remove_file(&target).map_err(|e| HubError::io(&target, e))?;
        }
        let activity = Activity::new();
        let watched = Watched {
            bar: self
                .opts
                .progress
                .then(|| FileBar::new(format!("{} {file}", self.repo))),
            activity: activity.clone(),
        };
        let api_repo = self.api.repo(Repo::with_revision(
            self.repo.to_string(),
            RepoType::Model,
            self.revision.to_string(),
        ));
        let name = file.to_string();
        let timeout = self.opts.download_timeout;
        let outcome = bounded(timeout, activity, move || {
            guard(|| api_repo.download_with_progress(&name, watched))
        })
        .map_err(|()| {
            self.error(
                file,
                format!(
                    "nothing received for {timeout:?} (HF_HUB_DOWNLOAD_TIMEOUT); the partial \
                     file stays in the cache as a .part and is resumed next time"
                ),
            )
        })?;
        let path = match outcome {
            Ok(Ok(path)) => path,
            Ok(Err(e)) => {
                let mut message = e.to_string();
                if matches!(e, ApiError::IoError(_) | ApiError::TooManyRetries(_)) {
                    message.push_str(
                        " (the partial file stays in the cache as a .part and is resumed next time)",
                    );
                }
                return Err(self.error(file, message));
            }
            Err(panic) => return Err(self.error(file, panic)),
        };
        self.verify(file, &path, &meta)?;
        Ok(path)
    }

    /// Checks size and, for LFS files, sha256; removes the file from the cache if it fails.
    fn verify(&self, file: &str, path: &Path, meta: &Metadata) -> Result<(), HubError> {
        let etag = meta.etag().strip_prefix("W/").unwrap_or(meta.etag());
        let expected = meta.size() as u64;
        let found = std::fs::metadata(path)
            .map_err(|e| HubError::io(path, e))?
            .len();
        let failure = if found != expected {
            Some(HubError::SizeMismatch {
                repo: self.repo.to_string(),
                file: file.to_string(),
                expected,
                found,
            })
        } else if is_sha256(etag) {
            let digest = sha256_hex(path)?;
            (digest != etag).then(|| HubError::ChecksumMismatch {
                repo: self.repo.to_string(),
                file: file.to_string(),
                expected: etag.to_string(),
                found: digest,
            })
        } else {
            None
        };
        match failure {
            None => Ok(()),
            Some(err) => {
                remove_from_cache(path);
                Err(err)
            }
        }
    }

    /// The error for a 401/403/404 on `config.json`.
    fn not_found(&self, status: u16) -> HubError {
        let mut hint = String::new();
        if status != 404 {
            hint.push_str(match self.opts.token {
                None => "; if it is private or gated, set HF_TOKEN (or run `hf auth login`)",
                Some(_) => "; if it is private or gated, check that your token has access",
            });
        }
        if self.revision == "main" {
            hint.push_str(&format!("; no local folder `{}` exists either", self.repo));
        }
        HubError::RepoNotFound {
            repo: self.repo.to_string(),
            revision: self.revision.to_string(),
            endpoint: self.opts.endpoint.clone(),
            status,
            hint,
        }
    }

    fn error(&self, file: &str, message: String) -> HubError {
        HubError::Download {
            repo: self.repo.to_string(),
            file: file.to_string(),
            url: self.api_repo.url(file),
            message,
        }
    }

    fn commit(&self) -> Result<&str, HubError> {
        self.commit
            .as_deref()
            .ok_or_else(|| self.error(CONFIG, "no commit hash was received".into()))
    }

    /// hf-hub writes `refs/<revision>` for every revision; a ref named after a commit hash is
    /// not something `huggingface_hub` writes, so it goes if we made it.
    fn remove_stray_ref(&self) {
        if is_commit_hash(self.revision) && !self.had_ref {
            let path = cache::repo_folder(&self.opts.cache_dir, self.repo)
                .join("refs")
                .join(self.revision);
            let _ = std::fs::remove_file(path);
        }
    }
}

/// When a transfer last showed a sign of life, shared with the thread doing it.
#[derive(Clone)]
struct Activity(Arc<Mutex<Instant>>);

impl Activity {
    fn new() -> Self {
        Activity(Arc::new(Mutex::new(Instant::now())))
    }

    fn touch(&self) {
        if let Ok(mut last) = self.0.lock() {
            *last = Instant::now();
        }
    }

    fn last(&self) -> Instant {
        self.0.lock().map_or_else(|p| *p.into_inner(), |last| *last)
    }
}

/// hf-hub's progress calls, passed on to the bar (if any) and counted as activity.
struct Watched {
    bar: Option<FileBar>,
    activity: Activity,
}

impl Progress for Watched {
    fn init(&mut self, size: usize, filename: &str) {
        self.activity.touch();
        if let Some(bar) = &mut self.bar {
            bar.init(size, filename);
        }
    }

    fn update(&mut self, size: usize) {
        self.activity.touch();
        if let Some(bar) = &mut self.bar {
            bar.update(size);
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = &mut self.bar {
            bar.finish();
        }
    }
}

/// Runs `work` on a thread of its own and waits for it as long as it shows life: `Err` once
/// `activity` has not moved for `idle` (a call that never touches it gets `idle` in all).
/// The thread given up on is left blocked; hf-hub's client cannot be interrupted.
fn bounded<T: Send + 'static>(
    idle: Duration,
    activity: Activity,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ()> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("vitrs-hub".into())
        .spawn(move || {
            let _ = tx.send(work());
        })
        .map_err(drop)?;
    loop {
        let deadline = activity.last() + idle;
        let wait = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(wait) {
            Ok(value) => return Ok(value),
            Err(mpsc::RecvTimeoutError::Disconnected) => return Err(()),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if activity.last() + idle <= Instant::now() {
                    return Err(());
                }
            }
        }
    }
}

/// Runs `f`, turning a panic inside hf-hub into an error message.
fn guard<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        format!("the Hub client failed on the server's answer ({what})")
    })
}

/// The HTTP status of a request error, if it is one.
fn status_of(err: &ApiError) -> Option<u16> {
    match err {
        ApiError::RequestError(e) => match e.as_ref() {
            ureq::Error::StatusCode(status) => Some(*status),
            _ => None,
        },
        _ => None,
    }
}

/// A non-empty run of `[A-Za-z0-9_.-]` not starting with `.`: safe as a file name.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('.')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// LFS files' ETag is the sha256 of their content, 64 lowercase hex digits.
fn is_sha256(etag: &str) -> bool {
    etag.len() == 64
        && etag
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn sha256_hex(path: &Path) -> Result<String, HubError> {
    let mut file = std::fs::File::open(path).map_err(|e| HubError::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(|e| HubError::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Removes a snapshot entry and the blob it points to.
fn remove_from_cache(snapshot_file: &Path) {
    if let Ok(blob) = std::fs::canonicalize(snapshot_file) {
        let _ = std::fs::remove_file(blob);
    }
    let _ = std::fs::remove_file(snapshot_file);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_hashes() {
        assert!(is_token("a1b2-c_d.e"));
        for bad in ["", "../x", ".hidden", "a/b", "W/\"x\"", "a b"] {
            assert!(!is_token(bad), "{bad}");
        }
        let sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert!(is_sha256(sha));
        assert!(!is_sha256(&sha[..40]));
        assert!(!is_sha256(&sha.to_uppercase()));
    }

    #[test]
    fn sha256_of_a_file() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("f");
        std::fs::write(&p, b"abc").unwrap();
        assert_eq!(
            sha256_hex(&p).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_panic_becomes_an_error() {
        let r: Result<(), String> = guard(|| panic!("location header in redirect"));
        assert!(r.unwrap_err().contains("location header"));
    }
}
