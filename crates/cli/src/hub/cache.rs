//! Reading the Hugging Face hub cache, laid out as `huggingface_hub` lays it out:
//!
//! ```text
//! <cache>/models--org--name/
//!     refs/<branch or tag>            the commit hash it points to
//!     snapshots/<commit>/<file>       relative symlinks into blobs/ (or plain files)
//!     blobs/<etag>                    file contents, named by ETag (sha256 for LFS files)
//!     .no_exist/<commit>/<file>       empty markers: the file is known not to exist there
//! ```

use std::path::{Path, PathBuf};

use super::layout::{check_model_dir, PREPROCESSOR};
use super::HubError;

/// What the cache holds for one repo at one revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheState {
    /// A snapshot with config and weights, and `preprocessor_config.json` either present or
    /// known not to exist in the repo.
    Complete(PathBuf),
    /// A snapshot with config and weights, but nothing is known about
    /// `preprocessor_config.json` (only the model was fetched): usable, worth completing.
    NoPreprocessorInfo(PathBuf),
    /// No usable snapshot.
    Missing,
}

/// `<cache>/models--org--name`.
pub fn repo_folder(cache_dir: &Path, repo: &str) -> PathBuf {
    cache_dir.join(format!("models--{}", repo.replace('/', "--")))
}

/// True for a full 40-character lowercase hex commit hash.
pub fn is_commit_hash(revision: &str) -> bool {
    revision.len() == 40
        && revision
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The longest revision name accepted.
const MAX_REVISION_LEN: usize = 255;

/// Checks that `revision` is a name, never a path: a commit hash, or a branch or tag name
/// made of `/`-separated components of ASCII letters, digits, `-`, `_`, `.` and `+`, none
/// empty or starting with `.` (so no `..`, no leading, trailing or doubled `/`), and no
/// component ending in `.lock` (git's rules, narrowed). `refs/pr/3` passes; `../x`,
/// `/etc`, `a\\b` and anything with NUL or spaces do not. The error says which rule fails.
pub fn check_revision(revision: &str) -> Result<(), String> {
    if is_commit_hash(revision) {
        return Ok(());
    }
    if revision.is_empty() {
        return Err("it is empty".into());
    }
    if revision.len() > MAX_REVISION_LEN {
        return Err(format!("it is longer than {MAX_REVISION_LEN} bytes"));
    }
    if let Some(c) = revision
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+' | '/')))
    {
        return Err(format!(
            "it contains {c:?} (a revision is a commit hash or a branch or tag name of \
             letters, digits, `-`, `_`, `.`, `+` and `/`)"
        ));
    }
    for part in revision.split('/') {
        if part.is_empty() {
            return Err(
                "it has an empty `/`-separated part (a leading, trailing or doubled `/`)".into(),
            );
        }
        if part.starts_with('.') {
            return Err(format!("its part {part:?} starts with `.`"));
        }
        if part.ends_with(".lock") {
            return Err(format!("its part {part:?} ends with `.lock`"));
        }
    }
    if revision.contains("..") {
        return Err("it contains `..`".into());
    }
    Ok(())
}

/// The commit a revision names in the cache: what `refs/<revision>` holds, or the revision
/// itself when it is a commit hash. `Err` when the revision is not a plain name (see
/// [`check_revision`]) or the ref file holds anything but a commit hash, so neither can lead
/// outside the cache.
pub fn cached_commit(
    cache_dir: &Path,
    repo: &str,
    revision: &str,
) -> Result<Option<String>, HubError> {
    let refused = |revision: &str, reason: String| HubError::BadRevision {
        repo: repo.to_string(),
        revision: revision.to_string(),
        reason,
    };
    check_revision(revision).map_err(|reason| refused(revision, reason))?;
    let ref_file = repo_folder(cache_dir, repo).join("refs").join(revision);
    match vitrs_tensor::file::read_capped_string(
        &ref_file,
        vitrs_tensor::file::caps::SMALL_TEXT,
        "a refs/ file",
    ) {
        Ok(commit) => {
            let commit = commit.trim();
            if !commit.is_empty() {
                if !is_commit_hash(commit) {
                    return Err(refused(
                        commit,
                        format!(
                            "{} should hold a 40-character commit hash",
                            ref_file.display()
                        ),
                    ));
                }
                return Ok(Some(commit.to_string()));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        // Unreadable, a FIFO, too long: as if absent (a download rewrites it), unless the
        // revision is itself a commit.
        Err(_) => {}
    }
    Ok(is_commit_hash(revision).then(|| revision.to_string()))
}

/// `<cache>/models--org--name/snapshots/<commit>`.
pub fn snapshot_dir(cache_dir: &Path, repo: &str, commit: &str) -> PathBuf {
    repo_folder(cache_dir, repo).join("snapshots").join(commit)
}

/// `<cache>/models--org--name/.no_exist/<commit>/<file>`.
pub fn no_exist_marker(cache_dir: &Path, repo: &str, commit: &str, file: &str) -> PathBuf {
    repo_folder(cache_dir, repo)
        .join(".no_exist")
        .join(commit)
        .join(file)
}

/// Records that `file` does not exist in the repo at `commit`, as `huggingface_hub` does, so
/// later runs neither ask again nor wait for it.
#[cfg_attr(not(feature = "hub"), allow(dead_code))]
pub fn mark_missing(cache_dir: &Path, repo: &str, commit: &str, file: &str) -> std::io::Result<()> {
    let marker = no_exist_marker(cache_dir, repo, commit, file);
    if let Some(parent) = marker.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::File::create(marker).map(drop)
}

/// Looks `repo` at `revision` up in the cache without touching the network. A revision or
/// ref that is not a plain name is an error (see [`cached_commit`]).
pub fn lookup(cache_dir: &Path, repo: &str, revision: &str) -> Result<CacheState, HubError> {
    let Some(commit) = cached_commit(cache_dir, repo, revision)? else {
        return Ok(CacheState::Missing);
    };
    let snapshot = snapshot_dir(cache_dir, repo, &commit);
    if check_model_dir(&snapshot).is_err() {
        return Ok(CacheState::Missing);
    }
    Ok(
        if snapshot.join(PREPROCESSOR).is_file()
            || no_exist_marker(cache_dir, repo, &commit, PREPROCESSOR).exists()
        {
            CacheState::Complete(snapshot)
        } else {
            CacheState::NoPreprocessorInfo(snapshot)
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

    /// Lays out a cache entry the way `huggingface_hub` does: blobs plus relative symlinks.
    fn cache_with(files: &[&str], refname: Option<&str>) -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        let folder = repo_folder(tmp.path(), "org/m");
        let snap = folder.join("snapshots").join(COMMIT);
        fs::create_dir_all(&snap).unwrap();
        fs::create_dir_all(folder.join("blobs")).unwrap();
        for (i, f) in files.iter().enumerate() {
            let blob = folder.join("blobs").join(format!("etag{i}"));
            fs::write(&blob, "{}").unwrap();
            #[cfg(unix)]
            std::os::unix::fs::symlink(format!("../../blobs/etag{i}"), snap.join(f)).unwrap();
            #[cfg(not(unix))]
            fs::copy(&blob, snap.join(f)).unwrap();
        }
        if let Some(r) = refname {
            fs::create_dir_all(folder.join("refs")).unwrap();
            fs::write(folder.join("refs").join(r), COMMIT).unwrap();
        }
        tmp
    }

    #[test]
    fn folder_names() {
        let p = repo_folder(Path::new("/c"), "google/vit-base-patch16-224");
        assert_eq!(p, PathBuf::from("/c/models--google--vit-base-patch16-224"));
        assert_eq!(
            repo_folder(Path::new("/c"), "gpt2"),
            PathBuf::from("/c/models--gpt2")
        );
    }

    #[test]
    fn found_through_a_branch_ref_or_a_commit() {
        let tmp = cache_with(&["config.json", "model.safetensors"], Some("main"));
        let snap = snapshot_dir(tmp.path(), "org/m", COMMIT);
        assert_eq!(
            lookup(tmp.path(), "org/m", "main").unwrap(),
            CacheState::NoPreprocessorInfo(snap.clone())
        );
        assert_eq!(
            lookup(tmp.path(), "org/m", COMMIT).unwrap(),
            CacheState::NoPreprocessorInfo(snap.clone())
        );
        assert_eq!(
            lookup(tmp.path(), "org/m", "v2").unwrap(),
            CacheState::Missing
        );
        assert_eq!(
            lookup(tmp.path(), "org/other", "main").unwrap(),
            CacheState::Missing
        );
        mark_missing(tmp.path(), "org/m", COMMIT, PREPROCESSOR).unwrap();
        assert_eq!(
            lookup(tmp.path(), "org/m", "main").unwrap(),
            CacheState::Complete(snap)
        );
    }

    #[test]
    fn complete_with_a_preprocessor_config() {
        let tmp = cache_with(
            &["config.json", "model.safetensors", PREPROCESSOR],
            Some("main"),
        );
        assert!(matches!(
            lookup(tmp.path(), "org/m", "main").unwrap(),
            CacheState::Complete(_)
        ));
    }

    #[test]
    fn a_partial_snapshot_is_missing() {
        let tmp = cache_with(&["config.json"], Some("main"));
        assert_eq!(
            lookup(tmp.path(), "org/m", "main").unwrap(),
            CacheState::Missing
        );
        let tmp = cache_with(
            &["config.json", "model.safetensors.index.json"],
            Some("main"),
        );
        assert_eq!(
            lookup(tmp.path(), "org/m", "main").unwrap(),
            CacheState::Missing
        );
    }

    #[test]
    fn revisions_are_names_not_paths() {
        for ok in ["main", "v1.0", "refs/pr/3", "release-2024_01+build", COMMIT] {
            assert_eq!(check_revision(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("../../../etc", "starts with `.`"),
            ("a/../b", "starts with `.`"),
            ("a..b", "`..`"),
            ("/etc/passwd", "empty"),
            ("main/", "empty"),
            ("a//b", "empty"),
            ("a\\b", "contains '\\\\'"),
            ("a\0b", "contains '\\0'"),
            ("a b", "contains ' '"),
            ("", "empty"),
            ("x.lock", ".lock"),
        ] {
            let e = check_revision(bad).unwrap_err();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
    }

    #[test]
    fn a_ref_file_must_hold_a_commit_hash() {
        let tmp = cache_with(&["config.json", "model.safetensors"], None);
        let refs = repo_folder(tmp.path(), "org/m").join("refs");
        fs::create_dir_all(&refs).unwrap();
        fs::write(refs.join("main"), "../../../../tmp\n").unwrap();
        let e = lookup(tmp.path(), "org/m", "main").unwrap_err().to_string();
        assert!(e.contains("should hold a 40-character commit hash"), "{e}");
        let e = lookup(tmp.path(), "org/m", "../refs/main")
            .unwrap_err()
            .to_string();
        assert!(e.contains("refused"), "{e}");
    }

    #[test]
    fn commit_hashes() {
        assert!(is_commit_hash(COMMIT));
        assert!(!is_commit_hash("main"));
        assert!(!is_commit_hash(&COMMIT.to_uppercase()));
        assert!(!is_commit_hash(&COMMIT[..39]));
    }
}
