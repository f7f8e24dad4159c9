//! `vitrs info` and `vitrs bench` on committed fixtures and random: architectures.
#![cfg(feature = "cli")]

use std::path::Path;
use std::process::Command;

fn vitrs(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_vitrs"))
        .args(args)
        .output()
        .unwrap()
}

fn fixture(case: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/models")
        .join(case)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn info_prints_the_tree_and_the_figures() {
    let o = vitrs(&["info", "--model", &fixture("classifier")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    for needle in [
        "ViTForImageClassification(",
        "(query): Linear(in_features=64, out_features=64, bias=True)",
        "(classifier): Linear(in_features=64, out_features=5, bias=True)",
        "tokens per image  17 (1 CLS + 16 patches)",
        "weights           F32 in",
        "labels            5 (class 0, class 1, class 2, ...)",
    ] {
        assert!(out.contains(needle), "{needle:?} not in\n{out}");
    }
    // transformers counts 29,957 parameters for this checkpoint (model.num_parameters()).
    assert!(out.contains("parameters        29957 "), "{out}");
}

#[test]
fn info_of_the_reference_architecture_matches_the_hub_figures() {
    let o = vitrs(&["info", "--model", "random:vit-base-patch16-224-in21k"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("(pooler): ViTPooler("), "{out}");
    // google/vit-base-patch16-224-in21k: 86,389,248 parameters, 197 tokens, 17.56 G MACs.
    assert!(out.contains("parameters        86389248 "), "{out}");
    assert!(out.contains("GFLOP per image   35.13"), "{out}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("random weights"));
}

#[test]
fn bench_prints_one_json_object_with_the_contract_keys() {
    let o = vitrs(&[
        "bench",
        "--model",
        &fixture("pooler"),
        "--runs",
        "3",
        "--batch",
        "2",
        "--threads",
        "1",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for key in [
        "min_ms",
        "median_ms",
        "images_per_s",
        "gflops",
        "peak_rss_mb",
        "load_ms",
    ] {
        assert!(v[key].is_number(), "{key} in {v}");
    }
    assert_eq!(v["batch"], 2);
    assert_eq!(v["threads"], 1);
    assert!(v["peak_gflops"].as_f64().is_some_and(|p| p > 0.0), "{v}");
    let isa = v["isa"].as_str().unwrap_or_default();
    assert!(
        ["avx512", "avx2", "portable"].contains(&isa),
        "isa {isa:?} in {v}"
    );
}

fn vitrs_with_isa(isa: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_vitrs"))
        .args(args)
        .env("VITRS_ISA", isa)
        .output()
        .unwrap()
}

/// `VITRS_ISA` picks the kernels `info` and `bench` name; a name that is not an ISA, or an
/// ISA this CPU lacks, is one line of error and a failing exit code, not a panic.
#[test]
fn vitrs_isa_is_named_and_bad_requests_are_errors() {
    let o = vitrs_with_isa("portable", &["info", "--model", &fixture("classifier")]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("kernels           portable"), "{out}");
    let o = vitrs_with_isa("emu16", &["info", "--model", &fixture("classifier")]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("kernels           emu16 (16 f32 lanes)"));

    let o = vitrs_with_isa("avx513", &["info", "--model", &fixture("classifier")]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.starts_with("error: VITRS_ISA=\"avx513\" is not an ISA"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");

    for isa in vitrs_kernels::gemm::Isa::ALL {
        if isa.supported() {
            continue;
        }
        let o = vitrs_with_isa(isa.name(), &["info", "--model", &fixture("classifier")]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success());
        assert!(err.contains("this CPU lacks"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        eprintln!("VITRS_ISA={isa} refused as expected: {}", err.trim());
    }
}

#[test]
fn unknown_random_name_lists_the_choices() {
    let o = vitrs(&["info", "--model", "random:vit-gigantic"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("unknown architecture `random:vit-gigantic`") && err.contains("dino-vitb16"),
        "{err}"
    );
}
