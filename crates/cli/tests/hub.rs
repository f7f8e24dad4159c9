//! Model resolution against a server on 127.0.0.1 that answers like the Hugging Face Hub:
//! the real `hf-hub` download path (resolve URLs, CDN redirect, ranges, resume), the real
//! cache on disk, then the resolved folder loaded and run against the oracle's outputs.
#![cfg(feature = "hub")]

mod fake_hub;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use fake_hub::{sha256_hex, FakeHub, FakeRepo, Mode};
use vitrs::hub::{lookup_cached, resolve, CacheState, HubError, ModelSpec, ResolveOptions};
use vitrs_model::checkpoint::SafetensorsFile;
use vitrs_model::{ForwardOptions, ViT};
use vitrs_tensor::Tensor;

const COMMIT: &str = "3f1c2e0d9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e";
const PRIVATE_COMMIT: &str = "aaaabbbbccccddddeeeeffff0000111122223333";
const TOKEN: &str = "hf_secret";
const PREPROCESSOR: &[u8] = br#"{
  "do_normalize": true, "do_rescale": true, "do_resize": true,
  "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
  "image_processor_type": "ViTImageProcessor", "resample": 2,
  "rescale_factor": 0.00392156862745098, "size": {"height": 16, "width": 16}
}"#;

fn fixture(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/models")
        .join(case)
}

/// The checkpoint files of a fixture case (config, weights, index, shards) as a repo.
fn repo_of(case: &str, commit: &str, extra: &[(&str, &[u8])], token: Option<&str>) -> FakeRepo {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(fixture(case)).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if name == "config.json" || name.starts_with("model") {
            files.insert(name, std::fs::read(&path).unwrap());
        }
    }
    for (name, content) in extra {
        files.insert(name.to_string(), content.to_vec());
    }
    FakeRepo {
        commit: commit.to_string(),
        files,
        token: token.map(Into::into),
        weak_etags: false,
    }
}

/// org/pooler (with a preprocessor config), org/sharded (7 shards, none), org/private
/// (needs the token), org/pytorch-only (no safetensors), org/weak-etags (`W/` ETags), and
/// old/pooler renamed to org/pooler.
fn start_hub() -> FakeHub {
    let mut repos = HashMap::new();
    repos.insert(
        "org/pooler".to_string(),
        repo_of(
            "pooler",
            COMMIT,
            &[("preprocessor_config.json", PREPROCESSOR)],
            None,
        ),
    );
    repos.insert(
        "org/sharded".to_string(),
        repo_of("sharded", COMMIT, &[], None),
    );
    repos.insert(
        "org/private".to_string(),
        repo_of("pooler", PRIVATE_COMMIT, &[], Some(TOKEN)),
    );
    let mut files = BTreeMap::new();
    files.insert(
        "config.json".into(),
        std::fs::read(fixture("pooler/config.json")).unwrap(),
    );
    files.insert("pytorch_model.bin".into(), vec![0u8; 64]);
    repos.insert(
        "org/pytorch-only".to_string(),
        FakeRepo {
            commit: COMMIT.into(),
            files,
            token: None,
            weak_etags: false,
        },
    );
    repos.insert(
        "org/swin".to_string(),
        repo_of(
            "pooler",
            COMMIT,
            &[("config.json", br#"{"model_type": "swin"}"#)],
            None,
        ),
    );
    let mut weak = repo_of("pooler", COMMIT, &[], None);
    weak.weak_etags = true;
    repos.insert("org/weak-etags".to_string(), weak);
    let renamed = HashMap::from([("old/pooler".to_string(), "org/pooler".to_string())]);
    FakeHub::start(repos, renamed)
}

fn options(cache: &Path, hub: &FakeHub) -> ResolveOptions {
    let mut o = ResolveOptions::new(cache);
    o.endpoint = hub.endpoint();
    o
}

fn spec(s: &str) -> ModelSpec {
    s.parse().unwrap()
}

fn read(file: &SafetensorsFile, name: &str) -> Tensor {
    Tensor::new(&file.dims(name).unwrap(), file.load(name).unwrap()).unwrap()
}

/// Loads the resolved folder and checks its outputs against what transformers computed for
/// the fixture case (tolerance from the case, 5e-5).
fn runs_like_the_oracle(dir: &Path, case: &str) {
    let vit = ViT::load(dir).unwrap();
    let input = SafetensorsFile::open(&fixture(case).join("input.safetensors")).unwrap();
    let out = vit
        .forward(&read(&input, "pixel_values"), &ForwardOptions::default())
        .unwrap();
    let want = SafetensorsFile::open(&fixture(case).join("expected.safetensors")).unwrap();
    let diff = out
        .last_hidden_state
        .max_abs_diff(&read(&want, "last_hidden_state"))
        .unwrap();
    assert!(diff < 5e-5, "{case} last_hidden_state differs by {diff}");
    let pooled = out.pooler_output.as_ref().unwrap();
    let diff = pooled.max_abs_diff(&read(&want, "pooler_output")).unwrap();
    assert!(diff < 5e-5, "{case} pooler_output differs by {diff}");
}

fn repo_dir(cache: &Path, id: &str) -> PathBuf {
    cache.join(format!("models--{}", id.replace('/', "--")))
}

fn blob_of(case_file: &Path) -> String {
    sha256_hex(&std::fs::read(case_file).unwrap())
}

#[test]
fn downloads_through_the_cdn_redirect_then_serves_from_the_cache() {
    let hub = start_hub();
    let tmp = tempfile::tempdir().unwrap();
    let opts = options(tmp.path(), &hub);
    let dir = resolve(&spec("org/pooler"), &opts).unwrap();

    let repo = repo_dir(tmp.path(), "org/pooler");
    assert_eq!(dir, repo.join("snapshots").join(COMMIT));
    assert_eq!(
        std::fs::read_to_string(repo.join("refs/main")).unwrap(),
        COMMIT
    );
    for f in [
        "config.json",
        "model.safetensors",
        "preprocessor_config.json",
    ] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    assert_eq!(
        std::fs::read(dir.join("preprocessor_config.json")).unwrap(),
        PREPROCESSOR
    );
    // The weights are a blob named by their sha256, reached through the snapshot symlink.
    let sha = blob_of(&fixture("pooler/model.safetensors"));
    assert!(repo.join("blobs").join(&sha).is_file());
    #[cfg(unix)]
    assert!(std::fs::symlink_metadata(dir.join("model.safetensors"))
        .unwrap()
        .file_type()
        .is_symlink());
    // The CDN redirect was followed.
    assert!(hub
        .seen()
        .iter()
        .any(|r| r.path.starts_with(&format!("/cdn/{sha}"))));
    runs_like_the_oracle(&dir, "pooler");

    // Cached now: no request at all, online or offline.
    let before = hub.seen().len();
    assert_eq!(resolve(&spec("org/pooler"), &opts).unwrap(), dir);
    assert_eq!(
        resolve(&spec(&format!("org/pooler@{COMMIT}")), &opts).unwrap(),
        dir
    );
    let offline = ResolveOptions {
        offline: true,
        ..opts.clone()
    };
    assert_eq!(resolve(&spec("org/pooler"), &offline).unwrap(), dir);
    assert_eq!(hub.seen().len(), before);

    // A cache filled by a tool that took only the model (no processor info): one trip fetches
    // the preprocessor config and nothing else.
    std::fs::remove_file(dir.join("preprocessor_config.json")).unwrap();
    assert!(matches!(
        lookup_cached("org/pooler", None, &opts).unwrap(),
        CacheState::NoPreprocessorInfo(_)
    ));
    assert_eq!(resolve(&spec("org/pooler"), &offline).unwrap(), dir);
    assert_eq!(resolve(&spec("org/pooler"), &opts).unwrap(), dir);
    assert!(dir.join("preprocessor_config.json").is_file());
    let new: Vec<_> = hub.seen()[before..].to_vec();
    assert!(!new.is_empty());
    assert!(
        new.iter()
            .all(|r| r.path.ends_with("preprocessor_config.json")),
        "{new:?}"
    );
    // ...asked at the snapshot's commit, leaving no ref named after a commit behind.
    assert!(new.iter().all(|r| r.path.contains(COMMIT)), "{new:?}");
    assert!(!repo.join("refs").join(COMMIT).exists());
}

#[test]
fn sharded_model_every_shard_and_no_preprocessor() {
    let hub = start_hub();
    let tmp = tempfile::tempdir().unwrap();
    // With the progress bar on (hidden here, stderr is not a terminal).
    let opts = ResolveOptions {
        progress: true,
        ..options(tmp.path(), &hub)
    };
    let dir = resolve(&spec("org/sharded"), &opts).unwrap();
    for i in 1..=7 {
        assert!(dir
            .join(format!("model-0000{i}-of-00007.safetensors"))
            .is_file());
    }
    assert!(!dir.join("preprocessor_config.json").exists());
    // The 404 is remembered the way huggingface_hub remembers it, so the cache is complete.
    let repo = repo_dir(tmp.path(), "org/sharded");
    assert!(repo
        .join(".no_exist")
        .join(COMMIT)
        .join("preprocessor_config.json")
        .exists());
    assert_eq!(
        lookup_cached("org/sharded", None, &opts).unwrap(),
        CacheState::Complete(dir.clone())
    );
    let before = hub.seen().len();
    assert_eq!(resolve(&spec("org/sharded"), &opts).unwrap(), dir);
    assert_eq!(hub.seen().len(), before);
    runs_like_the_oracle(&dir, "sharded");

    // Without the marker (a cache filled by another tool), one probe learns it again.
    let marker = repo
        .join(".no_exist")
        .join(COMMIT)
        .join("preprocessor_config.json");
    std::fs::remove_file(&marker).unwrap();
    assert_eq!(resolve(&spec("org/sharded"), &opts).unwrap(), dir);
    assert!(marker.exists());
    let new = &hub.seen()[before..];
    assert_eq!(new.len(), 1, "{new:?}");
    assert!(new[0]
        .path
        .ends_with(&format!("{COMMIT}/preprocessor_config.json")));
}

#[test]
fn unknown_repo_or_revision_is_a_one_line_error_naming_it() {
    let hub = start_hub();
    let tmp = tempfile::tempdir().unwrap();
    let opts = options(tmp.path(), &hub);
    for (id, needle) in [
        ("org/missing", "org/missing"),
        ("org/pooler@v9", "revision v9"),
    ] {
        let err = resolve(&spec(id), &opts).unwrap_err();
        assert!(
            matches!(err, HubError::RepoNotFound { status: 404, .. }),
            "{err}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains(needle) && msg.contains("404") && !msg.contains('\n'),
            "{msg}"
        );
    }
    assert!(!repo_dir(tmp.path(), "org/missing")
        .join("snapshots")
        .exists());
}

#[test]
fn private_repo_needs_the_token_and_gets_it() {
    let hub = start_hub();
    let tmp = tempfile::tempdir().unwrap();
    let mut opts = options(tmp.path(), &hub);
    let err = resolve(&spec("org/private"), &opts)
        .unwrap_err()
        .to_string();
    assert!(err.contains("401") && err.contains("HF_TOKEN"), "{err}");
    opts.token = Some(TOKEN.into());
    let dir = resolve(&spec("org/private"), &opts).unwrap();
    assert!(dir.ends_with(PRIVATE_COMMIT));
    let to_hub: Vec<_> = hub
        .seen()
        .into_iter()
        .filter(|r| r.path.starts_with("/org/private/"))
        .collect();
    assert!(to_hub
        .iter()
        .any(|r| r.auth.as_deref() == Some("Bearer hf_secret")));
    runs_like_the_oracle(&dir, "pooler");
}

#[test]
fn renamed_repo_follows_the_relative_redirect() {
    let hub = start_hub();
    let tmp = tempfile::tempdir().unwrap();
    let dir = resolve(&spec("old/pooler"), &options(tmp.path(), &hub)).unwrap();
    // Cached under the name that was asked for, as huggingface_hub does.
    assert_eq!(
        dir,
        repo_dir(tmp.path(), "old/pooler")
            .join("snapshots")
            .join(COMMIT)
    );
    runs_like_the_oracle(&dir, "pooler");
}

#[test]
fn an_unsupported_model_type_is_refused_before_the_weights() {
    let hub = start_hub();
    let tmp = tempfile::tempdir().unwrap();
    let err = resolve(&spec("org/swin"), &options(tmp.path(), &hub)).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, HubError::Unsupported { .. }), "{msg}");
    for part in [
        "org/swin",
        "\"swin\"",
        "\"dinov2\"",
        "\"clip\"",
        "not downloaded",
    ] {
        assert!(msg.contains(part), "{msg:?} should contain {part:?}");
    }
    assert!(
        !hub.seen()
            .iter()
            .any(|r| r.path.contains("model.safetensors")),
        "the weights were asked for"
    );
}

#[test]
fn a_repo_without_safetensors_says_so() {
    let hub = start_hub();
    let tmp = tempfile::tempdir().unwrap();
    let err = resolve(&spec("org/pytorch-only"), &options(tmp.path(), &hub)).unwrap_err();
    assert!(matches!(err, HubError::NoSafetensorsOnHub { .. }), "{err}");
    assert!(err.to_string().contains("org/pytorch-only"));
}

#[test]
fn pinned_commit_leaves_no_stray_ref() {
    let hub = start_hub();
    let tmp = tempfile::tempdir().unwrap();
    let dir = resolve(
        &spec(&format!("org/pooler@{COMMIT}")),
        &options(tmp.path(), &hub),
    )
    .unwrap();
    assert!(dir.ends_with(COMMIT));
    let repo = repo_dir(tmp.path(), "org/pooler");
    assert!(!repo.join("refs").join(COMMIT).exists());
}

/// The truncated-body, short-body and corrupt-body cases: an error each time, nothing in the
/// cache that looks complete, and a later good download that works.
fn bad_transfer_then_recovery(mode: Mode) -> (FakeHub, tempfile::TempDir, HubError) {
    let hub = start_hub();
    let tmp = tempfile::tempdir().unwrap();
    let opts = options(tmp.path(), &hub);
    hub.set_mode(mode);
    let err = resolve(&spec("org/pooler"), &opts).unwrap_err();
    assert!(err.to_string().contains("model.safetensors"), "{err}");
    assert!(!err.to_string().contains('\n'), "{err}");

    let repo = repo_dir(tmp.path(), "org/pooler");
    let snapshot = repo.join("snapshots").join(COMMIT);
    let sha = blob_of(&fixture("pooler/model.safetensors"));
    assert!(std::fs::symlink_metadata(snapshot.join("model.safetensors")).is_err());
    assert!(!repo.join("blobs").join(&sha).exists());
    assert_eq!(
        lookup_cached("org/pooler", None, &opts).unwrap(),
        CacheState::Missing
    );
    let offline = ResolveOptions {
        offline: true,
        ..opts.clone()
    };
    assert!(matches!(
        resolve(&spec("org/pooler"), &offline),
        Err(HubError::NotCached { .. })
    ));

    hub.set_mode(Mode::Normal);
    let dir = resolve(&spec("org/pooler"), &opts).unwrap();
    assert_eq!(blob_of(&dir.join("model.safetensors")), sha);
    runs_like_the_oracle(&dir, "pooler");
    (hub, tmp, err)
}

#[test]
fn truncated_body_is_an_error_then_the_download_resumes() {
    let (hub, _tmp, err) = bad_transfer_then_recovery(Mode::Truncate);
    assert!(matches!(err, HubError::Download { .. }), "{err}");
    // The second attempt asked only for the missing tail of the .part file.
    let size = std::fs::metadata(fixture("pooler/model.safetensors"))
        .unwrap()
        .len();
    let resumed = hub.seen().into_iter().any(|r| {
        r.path.starts_with("/cdn/")
            && r.range.as_deref().is_some_and(|range| {
                let start: u64 = range["bytes=".len()..]
                    .trim_end_matches('-')
                    .parse()
                    .unwrap_or(0);
                start > 0 && start < size && range.ends_with('-')
            })
    });
    assert!(resumed, "{:?}", hub.seen());
}

#[test]
fn short_body_is_caught_by_the_size_check() {
    let (_hub, _tmp, err) = bad_transfer_then_recovery(Mode::Short);
    assert!(matches!(err, HubError::SizeMismatch { .. }), "{err}");
}

#[test]
fn corrupt_body_is_caught_by_the_sha256_check() {
    let (_hub, _tmp, err) = bad_transfer_then_recovery(Mode::Corrupt);
    assert!(matches!(err, HubError::ChecksumMismatch { .. }), "{err}");
}

#[test]
fn offline_and_not_cached_asks_nothing_and_says_how() {
    let hub = start_hub();
    let tmp = tempfile::tempdir().unwrap();
    let opts = ResolveOptions {
        offline: true,
        ..options(tmp.path(), &hub)
    };
    let err = resolve(&spec("org/pooler"), &opts).unwrap_err().to_string();
    assert!(err.contains("hf download org/pooler"), "{err}");
    assert!(err.contains("without HF_HUB_OFFLINE"), "{err}");
    assert!(hub.seen().is_empty());
}

#[test]
fn weak_etags_are_accepted() {
    let hub = start_hub();
    let tmp = tempfile::tempdir().unwrap();
    let opts = options(tmp.path(), &hub);
    let dir = resolve(&spec("org/weak-etags"), &opts).unwrap();
    runs_like_the_oracle(&dir, "pooler");
    // hf-hub keeps the `W/` in the blob name (a `W` folder); the cache still reads back.
    assert!(repo_dir(tmp.path(), "org/weak-etags")
        .join("blobs/W")
        .is_dir());
    assert_eq!(
        lookup_cached("org/weak-etags", None, &opts).unwrap(),
        CacheState::Complete(dir)
    );
}

#[test]
fn unreachable_endpoint_says_what_to_check() {
    // Bind then drop a listener: nothing answers on that port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let tmp = tempfile::tempdir().unwrap();
    let mut opts = ResolveOptions::new(tmp.path());
    opts.endpoint = format!("http://127.0.0.1:{port}");
    let err = resolve(&spec("org/pooler"), &opts).unwrap_err().to_string();
    assert!(
        err.contains("reachable") && err.contains("HF_HUB_OFFLINE=1"),
        "{err}"
    );
    assert!(!err.contains('\n'), "{err}");

    // A cached model stays usable when the optional processor probe cannot get through.
    let hub = start_hub();
    let online = options(tmp.path(), &hub);
    let dir = resolve(&spec("org/pooler"), &online).unwrap();
    drop(hub);
    std::fs::remove_file(dir.join("preprocessor_config.json")).unwrap();
    assert_eq!(resolve(&spec("org/pooler"), &opts).unwrap(), dir);
}

#[test]
fn a_server_that_accepts_and_stays_silent_gives_an_error_within_the_timeout() {
    let hub = start_hub();
    hub.set_mode(Mode::Silent);
    let tmp = tempfile::tempdir().unwrap();
    let mut opts = options(tmp.path(), &hub);
    opts.metadata_timeout = std::time::Duration::from_millis(300);
    let err = resolve(&spec("org/pooler"), &opts).unwrap_err().to_string();
    assert!(
        err.contains("config.json")
            && err.contains("no answer")
            && err.contains("HF_HUB_ETAG_TIMEOUT"),
        "{err}"
    );
}

#[test]
fn a_download_that_stalls_gives_an_error_then_completes_later() {
    let hub = start_hub();
    hub.set_mode(Mode::Stall);
    let tmp = tempfile::tempdir().unwrap();
    let mut opts = options(tmp.path(), &hub);
    opts.download_timeout = std::time::Duration::from_millis(300);
    let err = resolve(&spec("org/pooler"), &opts).unwrap_err().to_string();
    assert!(
        err.contains("model.safetensors")
            && err.contains("nothing received")
            && err.contains("HF_HUB_DOWNLOAD_TIMEOUT"),
        "{err}"
    );
    // The abandoned transfer holds hf-hub's lock on the blob until its connection ends (in
    // the CLI, until the process exits); once the server closes it, the next run completes.
    drop(hub);
    let hub = start_hub();
    let opts = options(tmp.path(), &hub);
    let dir = resolve(&spec("org/pooler"), &opts).unwrap();
    runs_like_the_oracle(&dir, "pooler");
}

#[test]
fn revisions_that_are_paths_are_refused_online_and_offline() {
    let hub = start_hub();
    let tmp = tempfile::tempdir().unwrap();
    let opts = options(tmp.path(), &hub);
    for bad in [
        "../../../../etc",
        "main/../../x",
        "/etc/passwd",
        "a\\b",
        "a\0b",
    ] {
        // Through the spec parser and through a spec built directly.
        // (A backslash makes it a folder path instead: never a Hub id either way.)
        assert!(
            !matches!(
                format!("org/pooler@{bad}").parse::<ModelSpec>(),
                Ok(ModelSpec::Hub { .. })
            ),
            "{bad:?}"
        );
        let direct = ModelSpec::Hub {
            repo: "org/pooler".into(),
            revision: Some(bad.into()),
        };
        for offline in [false, true] {
            let o = ResolveOptions {
                offline,
                ..opts.clone()
            };
            match resolve(&direct, &o) {
                Err(HubError::BadRevision { .. }) => {}
                other => panic!("{bad:?} offline={offline}: {other:?}"),
            }
        }
    }
    // No request reached the server.
    assert!(hub.seen().is_empty(), "{:?}", hub.seen());
}
