//! The command's conventions: value lists and examples in `--help`, completions, `-q`/`-v`,
//! distinct exit codes, `RAYON_NUM_THREADS` as the default of `--threads`.
#![cfg(feature = "cli")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn vitrs(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vitrs"))
        .args(args)
        .env_remove("RAYON_NUM_THREADS")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn help_lists_values_examples_and_exit_codes() {
    let o = vitrs(&["--help"]);
    assert!(o.status.success());
    let help = text(&o.stdout);
    for want in [
        "Examples:",
        "Exit codes:",
        "completions",
        "--quiet",
        "--verbose",
        "RAYON_NUM_THREADS",
        "hf download",
    ] {
        assert!(help.contains(want), "{want}: {help}");
    }
    // -h: one line per flag with its values; --help: each value explained.
    let long = text(&vitrs(&["embed", "--help"]).stdout);
    assert!(
        long.contains("- image_embeds: CLIP's image_embeds"),
        "{long}"
    );
    let help = text(&vitrs(&["embed", "-h"]).stdout);
    for want in [
        "[possible values: cls, mean, pooler, image_embeds, none]",
        "[possible values: npy, safetensors, jsonl]",
        "[possible values: pil, torchvision]",
    ] {
        assert!(help.contains(want), "{want}: {help}");
    }
    assert!(
        long.contains("Examples:") && long.contains("Exit codes:"),
        "{long}"
    );
    let help = text(&vitrs(&["convert", "-h"]).stdout);
    assert!(help.contains("[possible values: timm, jax, hf]"), "{help}");
    assert!(
        help.contains("[default: f32] [possible values: f32, f16, bf16, int8]"),
        "{help}"
    );
    // The alias of pooler still parses.
    let o = vitrs(&["embed", "x.png", "--model", "random:x", "--pool", "map"]);
    assert_ne!(o.status.code(), Some(2), "{}", text(&o.stderr));
}

#[test]
fn completions_for_each_shell() {
    for (shell, marker) in [
        ("bash", "_vitrs()"),
        ("zsh", "#compdef vitrs"),
        ("fish", "complete -c vitrs"),
    ] {
        let o = vitrs(&["completions", shell]);
        assert!(o.status.success(), "{shell}: {}", text(&o.stderr));
        let script = text(&o.stdout);
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(
            script.contains("embed") && script.contains("image_embeds"),
            "{shell}"
        );
    }
    let o = vitrs(&["completions", "tcsh"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn exit_codes_tell_usage_from_failure() {
    let chelsea = root().join("fixtures/images/chelsea.png");
    let chelsea = chelsea.to_str().unwrap();
    // Usage: clap's own errors, and values refused for this model.
    assert_eq!(vitrs(&["embed", "--no-such-flag"]).status.code(), Some(2));
    assert_eq!(
        vitrs(&["embed", chelsea]).status.code(),
        Some(2),
        "--model is required"
    );
    let pooler = root().join("fixtures/models/pooler");
    let o = vitrs(&[
        "embed",
        chelsea,
        "--model",
        pooler.to_str().unwrap(),
        "--size",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("--size 1:"), "{}", text(&o.stderr));
    let o = vitrs(&[
        "embed",
        chelsea,
        "--model",
        "random:siglip-base-patch16-224",
        "--pool",
        "cls",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    // Failure: a model that does not exist.
    let o = vitrs(&["embed", chelsea, "--model", "/no/such/model"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).starts_with("error: "),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn quiet_and_verbose() {
    let chelsea = root().join("fixtures/images/chelsea.png");
    let pooler = root().join("fixtures/models/pooler");
    let model = format!("--model={}", pooler.display());
    let args = ["info", "--model", "random:deit-tiny-patch16-224"];
    let o = vitrs(&args);
    assert!(
        text(&o.stderr).contains("vitrs: using random:deit-tiny"),
        "{}",
        text(&o.stderr)
    );
    let o = vitrs(&[&args[..], &["-q"]].concat());
    assert!(o.status.success());
    assert_eq!(text(&o.stderr), "", "-q hides the notice");
    // -q drops the summary; errors remain.
    let image = chelsea.to_str().unwrap();
    let o = vitrs(&["embed", "-q", &model, image, "--size", "16"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stderr), "");
    let o = vitrs(&["embed", &model, image, "--size", "16"]);
    assert!(
        text(&o.stderr).contains("embedded 1 image"),
        "{}",
        text(&o.stderr)
    );
    let o = vitrs(&["embed", "-qq", &model, "/no/such/dir/x.png"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).starts_with("error: "),
        "{}",
        text(&o.stderr)
    );
    let o = vitrs(&["-v", "info", "--model", "random:deit-tiny-patch16-224"]);
    assert!(o.status.success());
    assert!(vitrs(&["-q", "-v", "info"]).status.code() == Some(2));
}

#[test]
fn rayon_num_threads_is_the_default_of_threads() {
    let pooler = root().join("fixtures/models/pooler");
    let bench = |env: Option<&str>, flag: Option<&str>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_vitrs"));
        c.args([
            "bench",
            "--model",
            pooler.to_str().unwrap(),
            "--runs",
            "1",
            "--warmup",
            "0",
        ]);
        if let Some(n) = flag {
            c.args(["--threads", n]);
        }
        c.env_remove("RAYON_NUM_THREADS");
        if let Some(v) = env {
            c.env("RAYON_NUM_THREADS", v);
        }
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", text(&o.stderr));
        let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        json["threads"].as_u64().unwrap()
    };
    assert_eq!(bench(Some("1"), None), 1);
    assert_eq!(bench(Some("1"), Some("2")), 2);
    assert_eq!(bench(Some("3"), None), 3);
}
