//! Where the cache is, which endpoint to ask, with which token: the settings
//! `huggingface_hub` reads from the environment, read the same way.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The public Hub.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// How [`resolve`](super::resolve) finds and fetches Hub models.
///
/// Build it with [`ResolveOptions::from_env`] in a program, or field by field (starting from
/// [`ResolveOptions::new`]) in tests and libraries that should not depend on the environment.
#[derive(Clone, PartialEq, Eq)]
pub struct ResolveOptions {
    /// Never touch the network: only the cache is consulted (`HF_HUB_OFFLINE=1`).
    pub offline: bool,
    /// Base URL of the Hub, without a trailing slash (`HF_ENDPOINT`).
    pub endpoint: String,
    /// Bearer token for private and gated repos (`HF_TOKEN`, or the token file
    /// `hf auth login` (formerly `huggingface-cli login`) writes).
    pub token: Option<String>,
    /// The hub cache folder that holds `models--org--name/` (`HF_HUB_CACHE`, else
    /// `$HF_HOME/hub`, else `~/.cache/huggingface/hub`).
    pub cache_dir: PathBuf,
    /// Draw a progress bar on stderr while downloading (it stays hidden when stderr is not a
    /// terminal; `HF_HUB_DISABLE_PROGRESS_BARS=1` turns it off).
    pub progress: bool,
    /// How many times an interrupted transfer is resumed (with a `Range` request) before
    /// giving up.
    pub retries: usize,
    /// The longest wait for the answer to a metadata request (connecting included) before it
    /// fails (`HF_HUB_ETAG_TIMEOUT`, seconds; 10 by default, as in `huggingface_hub`).
    pub metadata_timeout: Duration,
    /// The longest a download may go without receiving a byte before it fails
    /// (`HF_HUB_DOWNLOAD_TIMEOUT`, seconds; 10 by default, as in `huggingface_hub`).
    pub download_timeout: Duration,
}

/// `huggingface_hub`'s default for both timeouts.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

impl ResolveOptions {
    /// Online, the public Hub, no token, no progress bar, no retries, the given cache folder.
    pub fn new(cache_dir: impl Into<PathBuf>) -> Self {
        ResolveOptions {
            offline: false,
            endpoint: DEFAULT_ENDPOINT.to_string(),
            token: None,
            cache_dir: cache_dir.into(),
            progress: false,
            retries: 0,
            metadata_timeout: DEFAULT_TIMEOUT,
            download_timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Reads the process environment as `huggingface_hub` does: `HF_HUB_CACHE`, `HF_HOME`,
    /// `HF_ENDPOINT`, `HF_TOKEN`, `HF_TOKEN_PATH`, `HF_HUB_OFFLINE`,
    /// `HF_HUB_DISABLE_PROGRESS_BARS`, `HF_HUB_ETAG_TIMEOUT`, `HF_HUB_DOWNLOAD_TIMEOUT` (and
    /// their older names). Two retries.
    pub fn from_env() -> Self {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) with the variables read through `var`, so the rules can be
    /// used (and tested) without touching the process environment. The token file, when no
    /// token variable is set, is still read from disk.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let hf_home = var("HF_HOME").map(PathBuf::from).unwrap_or_else(|| {
            let cache = var("XDG_CACHE_HOME").map(PathBuf::from).unwrap_or_else(|| {
                var("HOME")
                    .or_else(|| var("USERPROFILE"))
                    .map_or_else(PathBuf::new, PathBuf::from)
                    .join(".cache")
            });
            cache.join("huggingface")
        });
        let cache_dir = var("HF_HUB_CACHE")
            .or_else(|| var("HUGGINGFACE_HUB_CACHE"))
            .map(PathBuf::from)
            .unwrap_or_else(|| hf_home.join("hub"));
        let token = var("HF_TOKEN")
            .or_else(|| var("HUGGING_FACE_HUB_TOKEN"))
            .map(|t| t.trim().to_string())
            .or_else(|| {
                let path = var("HF_TOKEN_PATH")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| hf_home.join("token"));
                read_token_file(&path)
            });
        let offline = ["HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"]
            .iter()
            .any(|name| var(name).is_some_and(|v| is_true(&v)));
        let progress = !var("HF_HUB_DISABLE_PROGRESS_BARS").is_some_and(|v| is_true(&v));
        let endpoint = var("HF_ENDPOINT")
            .map(|e| e.trim().trim_end_matches('/').to_string())
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
        let seconds = |name: &str| {
            var(name)
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s > 0.0 && *s <= 86_400.0)
                .map_or(DEFAULT_TIMEOUT, Duration::from_secs_f64)
        };
        ResolveOptions {
            offline,
            endpoint,
            token,
            cache_dir,
            progress,
            retries: 2,
            metadata_timeout: seconds("HF_HUB_ETAG_TIMEOUT"),
            download_timeout: seconds("HF_HUB_DOWNLOAD_TIMEOUT"),
        }
    }
}

/// The token stored by `hf auth login`, if the file exists and is not blank.
fn read_token_file(path: &Path) -> Option<String> {
    let token = vitrs_tensor::file::read_capped_string(
        path,
        vitrs_tensor::file::caps::SMALL_TEXT,
        "a token file",
    )
    .ok()?;
    let token = token.trim();
    (!token.is_empty()).then(|| token.to_string())
}

/// `huggingface_hub`'s notion of a true environment value.
fn is_true(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_uppercase().as_str(),
        "1" | "ON" | "YES" | "TRUE"
    )
}

impl fmt::Debug for ResolveOptions {
    /// Like a derived `Debug`, but never prints the token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResolveOptions")
            .field("offline", &self.offline)
            .field("endpoint", &self.endpoint)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("cache_dir", &self.cache_dir)
            .field("progress", &self.progress)
            .field("retries", &self.retries)
            .field("metadata_timeout", &self.metadata_timeout)
            .field("download_timeout", &self.download_timeout)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn with(vars: &[(&str, &str)]) -> ResolveOptions {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ResolveOptions::from_vars(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_follow_home() {
        let o = with(&[("HOME", "/home/u")]);
        assert_eq!(o.cache_dir, PathBuf::from("/home/u/.cache/huggingface/hub"));
        assert_eq!(o.endpoint, DEFAULT_ENDPOINT);
        assert!(!o.offline);
        assert!(o.progress);
        assert_eq!(o.token, None);
        let o = with(&[("HOME", "/home/u"), ("XDG_CACHE_HOME", "/xdg")]);
        assert_eq!(o.cache_dir, PathBuf::from("/xdg/huggingface/hub"));
    }

    #[test]
    fn hf_home_and_hub_cache() {
        let o = with(&[("HOME", "/home/u"), ("HF_HOME", "/hf")]);
        assert_eq!(o.cache_dir, PathBuf::from("/hf/hub"));
        let o = with(&[("HF_HOME", "/hf"), ("HF_HUB_CACHE", "/cache")]);
        assert_eq!(o.cache_dir, PathBuf::from("/cache"));
        let o = with(&[("HF_HOME", "/hf"), ("HUGGINGFACE_HUB_CACHE", "/old")]);
        assert_eq!(o.cache_dir, PathBuf::from("/old"));
        // An empty variable counts as unset.
        let o = with(&[("HF_HOME", "/hf"), ("HF_HUB_CACHE", "")]);
        assert_eq!(o.cache_dir, PathBuf::from("/hf/hub"));
    }

    #[test]
    fn endpoint_offline_progress() {
        let o = with(&[
            ("HF_ENDPOINT", "http://127.0.0.1:9/"),
            ("HF_HUB_OFFLINE", "1"),
        ]);
        assert_eq!(o.endpoint, "http://127.0.0.1:9");
        assert!(o.offline);
        for v in ["1", "true", "YES", "on"] {
            assert!(with(&[("HF_HUB_OFFLINE", v)]).offline, "{v}");
        }
        for v in ["0", "false", "no", ""] {
            assert!(!with(&[("HF_HUB_OFFLINE", v)]).offline, "{v}");
        }
        assert!(with(&[("TRANSFORMERS_OFFLINE", "1")]).offline);
        assert!(!with(&[("HF_HUB_DISABLE_PROGRESS_BARS", "1")]).progress);
        assert_eq!(with(&[]).metadata_timeout, DEFAULT_TIMEOUT);
        let o = with(&[
            ("HF_HUB_ETAG_TIMEOUT", "0.5"),
            ("HF_HUB_DOWNLOAD_TIMEOUT", "30"),
        ]);
        assert_eq!(o.metadata_timeout, Duration::from_millis(500));
        assert_eq!(o.download_timeout, Duration::from_secs(30));
        for junk in ["0", "-1", "NaN", "inf", "x", "1e9"] {
            assert_eq!(
                with(&[("HF_HUB_ETAG_TIMEOUT", junk)]).metadata_timeout,
                DEFAULT_TIMEOUT
            );
        }
    }

    #[test]
    fn token_from_variable_then_file() {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().to_str().unwrap();
        assert_eq!(with(&[("HF_HOME", home)]).token, None);
        std::fs::write(tmp.path().join("token"), "hf_file\n").unwrap();
        assert_eq!(with(&[("HF_HOME", home)]).token.as_deref(), Some("hf_file"));
        let o = with(&[("HF_HOME", home), ("HF_TOKEN", "hf_env")]);
        assert_eq!(o.token.as_deref(), Some("hf_env"));
        let o = with(&[("HF_HOME", home), ("HUGGING_FACE_HUB_TOKEN", "hf_old")]);
        assert_eq!(o.token.as_deref(), Some("hf_old"));
        let other = tmp.path().join("elsewhere");
        std::fs::write(&other, "hf_path").unwrap();
        let o = with(&[
            ("HF_HOME", home),
            ("HF_TOKEN_PATH", other.to_str().unwrap()),
        ]);
        assert_eq!(o.token.as_deref(), Some("hf_path"));
        // Debug output never shows it.
        assert!(!format!("{o:?}").contains("hf_path"));
    }

    #[test]
    fn from_env_reads_the_process_environment() {
        // Only reads; whatever the environment holds, the result is well formed.
        let o = ResolveOptions::from_env();
        assert!(!o.endpoint.ends_with('/'));
        let custom = ["HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"]
            .iter()
            .any(|v| std::env::var_os(v).is_some());
        assert!(o.cache_dir.ends_with("hub") || custom, "{o:?}");
    }
}
