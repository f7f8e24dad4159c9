//! `vitrs run`, driven as other tools drive it: the binary, files in, files out.
#![cfg(feature = "cli")]

use std::path::Path;

use vitrs_model::checkpoint::SafetensorsFile;

mod common;
use common::{model_fixture as fixture, vitrs};

fn max_diff(got: &SafetensorsFile, want: &SafetensorsFile, name: &str) -> f32 {
    assert_eq!(got.dims(name), want.dims(name), "{name} shape");
    let (g, w) = (got.load(name).unwrap(), want.load(name).unwrap());
    g.iter()
        .zip(&w)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max)
}

fn run_case(case: &str, extra: &[&str]) -> (tempfile::TempDir, SafetensorsFile) {
    let dir = fixture(case);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out.safetensors");
    let mut args = vec![
        "run",
        "--model",
        dir.to_str().unwrap(),
        "--input",
        dir.join("input.safetensors")
            .to_str()
            .unwrap()
            .to_owned()
            .leak(),
        "--output",
        out.to_str().unwrap().to_owned().leak(),
        "--threads",
        "2",
    ];
    args.extend_from_slice(extra);
    let o = vitrs(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let file = SafetensorsFile::open(&out).unwrap();
    (tmp, file)
}

#[test]
fn writes_exactly_the_outputs_the_checkpoint_has_within_tolerance() {
    for (case, names, extra) in [
        (
            "pooler",
            &["last_hidden_state", "pooler_output"][..],
            &[][..],
        ),
        ("no_pooler", &["last_hidden_state"][..], &[][..]),
        ("classifier", &["last_hidden_state", "logits"][..], &[][..]),
        (
            "interp_nonsquare",
            &["last_hidden_state", "pooler_output"][..],
            &["--interpolate-pos-encoding"][..],
        ),
        (
            "clip_full",
            &["last_hidden_state", "pooler_output", "image_embeds"][..],
            &[][..],
        ),
        (
            "siglip_vision",
            &["last_hidden_state", "pooler_output"][..],
            &[][..],
        ),
        (
            "dinov2_registers_down",
            &["last_hidden_state", "pooler_output"][..],
            &[][..],
        ),
        (
            "deit_teacher",
            &["last_hidden_state", "logits"][..],
            &[][..],
        ),
    ] {
        let (_tmp, got) = run_case(case, extra);
        let want = SafetensorsFile::open(&fixture(case).join("expected.safetensors")).unwrap();
        let mut present = got.names();
        present.sort();
        let mut expected: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        expected.sort();
        assert_eq!(present, expected, "{case}");
        for name in names {
            let d = max_diff(&got, &want, name);
            assert!(d <= 5e-5, "{case} {name}: max |diff| {d}");
        }
    }
}

#[test]
fn hidden_states_and_attentions_on_request() {
    let case = "hidden_and_attentions";
    let (_tmp, got) = run_case(case, &["--output-hidden-states", "--output-attentions"]);
    let want = SafetensorsFile::open(&fixture(case).join("expected.safetensors")).unwrap();
    for name in ["hidden_states.0", "hidden_states.2", "attentions.1"] {
        assert!(max_diff(&got, &want, name) <= 5e-5, "{name}");
    }
}

#[test]
fn bad_input_fails_with_one_line_naming_the_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("o.safetensors");
    let out = out.to_str().unwrap();
    let model = fixture("pooler");
    let model = model.to_str().unwrap();
    let wrong_size = fixture("interp_square").join("input.safetensors");
    let not_input = fixture("pooler").join("expected.safetensors");
    for (args, needle) in [
        (
            vec![
                "--model",
                "/nonexistent",
                "--input",
                wrong_size.to_str().unwrap(),
            ],
            "model folder /nonexistent does not exist",
        ),
        (
            vec!["--model", model, "--input", wrong_size.to_str().unwrap()],
            "input image size (24*24) doesn't match model (16*16)",
        ),
        (
            vec!["--model", model, "--input", not_input.to_str().unwrap()],
            "no tensor `pixel_values`; found [last_hidden_state, pooler_output]",
        ),
        (
            vec!["--model", model, "--input", "/nonexistent.safetensors"],
            "/nonexistent.safetensors",
        ),
    ] {
        let mut full = vec!["run"];
        full.extend(args);
        full.extend(["--output", out]);
        let o = vitrs(&full);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success());
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("error: ") && err.contains(needle), "{err}");
        assert!(!Path::new(out).exists(), "no output on failure");
    }
}
