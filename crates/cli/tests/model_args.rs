//! Every way `--model` can be wrong gives a one-line error that says what to do, and a
//! non-zero exit code. No network: the Hub is switched off with HF_HUB_OFFLINE.
#![cfg(feature = "cli")]

use std::process::Command;

fn info(model: &str) -> (bool, String) {
    let home = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_vitrs"))
        .args(["info", "--model", model])
        .env("HF_HOME", home.path())
        .env_remove("HF_HUB_CACHE")
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn assert_one_line_error(model: &str, needles: &[&str]) {
    let (ok, err) = info(model);
    assert!(!ok, "{model} should fail");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: "), "{err}");
    for n in needles {
        assert!(err.contains(n), "{n:?} not in {err}");
    }
}

#[test]
fn unknown_hub_id_offline_says_how_to_get_it() {
    assert_one_line_error(
        "google/vit-does-not-exist",
        &["google/vit-does-not-exist", "HF_HUB_OFFLINE"],
    );
}

#[test]
fn nonexistent_folder() {
    assert_one_line_error("./no/such/model", &["no/such/model", "does not exist"]);
}

#[test]
fn folder_without_config() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("model.safetensors"), b"").unwrap();
    assert_one_line_error(dir.path().to_str().unwrap(), &["has no config.json"]);
}

#[test]
fn random_name_that_does_not_exist() {
    assert_one_line_error(
        "random:vit-gigantic",
        &["random:vit-gigantic", "vit-base-patch16-224"],
    );
}

#[test]
fn not_a_model_spec_at_all() {
    assert_one_line_error("two words", &["`two words` is not a model"]);
}
