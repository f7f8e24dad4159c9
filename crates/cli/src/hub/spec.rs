//! What `--model` names: a local folder, a Hub id with an optional revision, or a random
//! architecture.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::HubError;

/// The longest repo or organisation name the Hub accepts.
const MAX_NAME_LEN: usize = 96;

/// A model as the user names it with `--model`.
///
/// Parsing follows what `transformers`' `from_pretrained` does: a path that exists is a folder,
/// whatever it looks like; otherwise anything that looks like a path is a (missing) folder, and
/// `name` or `org/name`, optionally followed by `@revision`, is a Hub id.
///
/// ```
/// use vitrs::hub::ModelSpec;
///
/// let spec: ModelSpec = "google/vit-base-patch16-224@main".parse().unwrap();
/// assert_eq!(
///     spec,
///     ModelSpec::Hub { repo: "google/vit-base-patch16-224".into(), revision: Some("main".into()) }
/// );
/// assert_eq!(
///     "random:deit-tiny-patch16-224".parse::<ModelSpec>().unwrap(),
///     ModelSpec::Random { name: "deit-tiny-patch16-224".into() }
/// );
/// assert!(matches!("./no/such/model".parse::<ModelSpec>().unwrap(), ModelSpec::Dir(_)));
/// assert!("two words".parse::<ModelSpec>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSpec {
    /// A local folder in Hugging Face layout (`config.json`, `model.safetensors` or an index
    /// and its shards, and usually `preprocessor_config.json`).
    Dir(PathBuf),
    /// A model repo on the Hugging Face Hub.
    Hub {
        /// `org/name` (or a bare `name` for the few un-namespaced repos).
        repo: String,
        /// A branch, tag or commit hash; `None` means `main`.
        revision: Option<String>,
    },
    /// `random:NAME`: a known architecture with seeded random weights, built in memory.
    Random {
        /// The architecture name after `random:`.
        name: String,
    },
}

impl FromStr for ModelSpec {
    type Err = HubError;

    fn from_str(s: &str) -> Result<Self, HubError> {
        let invalid = |reason: &str| HubError::InvalidSpec {
            spec: s.to_string(),
            reason: reason.to_string(),
        };
        if s.trim().is_empty() {
            return Err(invalid("it is empty"));
        }
        if let Some(name) = s.strip_prefix("random:") {
            if name.is_empty() {
                return Err(invalid("`random:` needs an architecture name after it"));
            }
            return Ok(ModelSpec::Random {
                name: name.to_string(),
            });
        }
        // An existing path wins over everything, as in transformers.
        if Path::new(s).exists() || looks_like_path(s) {
            return Ok(ModelSpec::Dir(PathBuf::from(s)));
        }
        let (repo, revision) = match s.split_once('@') {
            Some((repo, revision)) => {
                if revision.is_empty() {
                    return Err(invalid("nothing follows `@`; give a branch, tag or commit"));
                }
                super::cache::check_revision(revision)
                    .map_err(|reason| invalid(&format!("revision {revision:?}: {reason}")))?;
                (repo, Some(revision.to_string()))
            }
            None => (s, None),
        };
        check_repo_id(repo).map_err(|reason| {
            invalid(&format!(
                "no such folder, and not a Hub id because {reason}"
            ))
        })?;
        Ok(ModelSpec::Hub {
            repo: repo.to_string(),
            revision,
        })
    }
}

impl fmt::Display for ModelSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelSpec::Dir(path) => write!(f, "{}", path.display()),
            ModelSpec::Hub {
                repo,
                revision: Some(revision),
            } => write!(f, "{repo}@{revision}"),
            ModelSpec::Hub {
                repo,
                revision: None,
            } => write!(f, "{repo}"),
            ModelSpec::Random { name } => write!(f, "random:{name}"),
        }
    }
}

/// True for strings only a path would look like: relative or absolute path markers, a
/// Windows separator or drive, a trailing slash, or more than one `/` before any `@`.
fn looks_like_path(s: &str) -> bool {
    let id = s.split_once('@').map_or(s, |(id, _)| id);
    s.starts_with('.')
        || s.starts_with('/')
        || s.starts_with('~')
        || s.contains('\\')
        || s.ends_with('/')
        || id.matches('/').count() > 1
        || (s.len() >= 2 && s.as_bytes()[1] == b':' && s.as_bytes()[0].is_ascii_alphabetic())
}

/// Checks `org/name` or `name` against the Hub's rules for repo ids; the error says which
/// rule is broken.
fn check_repo_id(id: &str) -> Result<(), String> {
    let parts: Vec<&str> = id.split('/').collect();
    if parts.len() > 2 {
        return Err(format!("`{id}` has more than one `/`"));
    }
    for part in parts {
        if part.is_empty() {
            return Err(format!("`{id}` has an empty name"));
        }
        if part.len() > MAX_NAME_LEN {
            return Err(format!("`{part}` is longer than {MAX_NAME_LEN} characters"));
        }
        if let Some(c) = part
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            return Err(format!(
                "`{part}` contains `{c}` (ids use letters, digits, `-`, `_` and `.`)"
            ));
        }
        if part.contains("--") || part.contains("..") {
            return Err(format!("`{part}` contains `--` or `..`"));
        }
        if part.starts_with(['-', '.']) || part.ends_with(['-', '.']) {
            return Err(format!("`{part}` starts or ends with `-` or `.`"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> ModelSpec {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn hub(repo: &str, revision: Option<&str>) -> ModelSpec {
        ModelSpec::Hub {
            repo: repo.into(),
            revision: revision.map(Into::into),
        }
    }

    #[test]
    fn hub_ids_with_and_without_revision() {
        assert_eq!(
            parse("google/vit-base-patch16-224-in21k"),
            hub("google/vit-base-patch16-224-in21k", None)
        );
        assert_eq!(
            parse("facebook/dino-vitb16@main"),
            hub("facebook/dino-vitb16", Some("main"))
        );
        assert_eq!(parse("gpt2"), hub("gpt2", None));
        // Revisions may hold slashes (pull-request refs).
        assert_eq!(parse("org/m@refs/pr/3"), hub("org/m", Some("refs/pr/3")));
        let sha = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(parse(&format!("org/m@{sha}")), hub("org/m", Some(sha)));
    }

    #[test]
    fn random_names() {
        assert_eq!(
            parse("random:vit-base-patch16-224"),
            ModelSpec::Random {
                name: "vit-base-patch16-224".into()
            }
        );
        assert!("random:".parse::<ModelSpec>().is_err());
    }

    #[test]
    fn paths_are_folders() {
        for s in [
            "./model",
            "../m",
            "/abs/model",
            "~/m",
            "a/b/c",
            "model/",
            "C:\\m",
            "dir\\m",
        ] {
            assert_eq!(parse(s), ModelSpec::Dir(PathBuf::from(s)), "{s}");
        }
    }

    #[test]
    fn an_existing_folder_wins_over_a_hub_id() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("org");
        std::fs::create_dir_all(dir.join("name")).unwrap();
        // A relative `org/name` that exists is a folder; test with the absolute form since the
        // working directory is shared by parallel tests.
        let abs = dir.join("name");
        assert_eq!(parse(abs.to_str().unwrap()), ModelSpec::Dir(abs.clone()));
    }

    #[test]
    fn bad_ids_say_why() {
        for (s, why) in [
            ("two words", "contains ` `"),
            ("org/", "folder"), // trailing slash: a path, so it parses as a folder
            ("org/-name", "starts or ends"),
            ("org/na--me", "`--`"),
            ("org/m@", "nothing follows `@`"),
            ("org/m@../../x", "starts with `.`"),
            ("org/m@a b", "contains ' '"),
            ("org/m@x.lock", ".lock"),
            ("", "empty"),
        ] {
            match s.parse::<ModelSpec>() {
                Ok(ModelSpec::Dir(_)) if why == "folder" => {}
                Ok(spec) => panic!("{s:?} parsed as {spec:?}"),
                Err(e) => assert!(e.to_string().contains(why), "{s:?}: {e}"),
            }
        }
    }

    #[test]
    fn display_round_trips() {
        for s in ["org/m", "org/m@v1.0", "random:dino-vitb16", "./local"] {
            assert_eq!(parse(s).to_string(), s);
        }
    }
}
