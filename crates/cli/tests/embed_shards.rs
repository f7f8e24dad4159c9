//! `vitrs embed` at scale, driven as a user drives it: a folder of shards with a manifest,
//! interrupted runs resumed, `--shard-of` parts, `--files-from`, progress in logs, and the
//! destination checked before anything else.
//!
//! Interruptions are reproducible to the image: `VITRS_TEST_SIGNAL_AFTER="K SIGNAL"` makes the
//! binary send itself SIGNAL after K images, so no test waits on a timer.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod common;
use common::{root, s, stderr, vitrs_env as vitrs};

/// The `pooler` fixture model with a preprocessor config for its 16x16 inputs.
fn model_dir(tmp: &Path) -> PathBuf {
    let dir = tmp.join("model");
    std::fs::create_dir(&dir).unwrap();
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(root().join("fixtures/models/pooler").join(f), dir.join(f)).unwrap();
    }
    std::fs::write(
        dir.join("preprocessor_config.json"),
        r#"{"size": 16, "resample": 3}"#,
    )
    .unwrap();
    dir
}

/// The fixture images twice over (13 files, sizes known) and one broken file.
fn images(tmp: &Path) -> (PathBuf, BTreeMap<String, [u64; 2]>) {
    let dir = tmp.join("imgs");
    std::fs::create_dir(&dir).unwrap();
    let sizes: BTreeMap<&str, [u64; 2]> = [
        ("camera.png", [512, 512]),
        ("chelsea.png", [451, 300]),
        ("coins.png", [384, 303]),
        ("logo.png", [500, 500]),
        ("microaneurysms.png", [102, 102]),
        ("rocket.jpg", [640, 427]),
    ]
    .into();
    let mut want = BTreeMap::new();
    for (name, wh) in &sizes {
        for copy in ["a", "b"] {
            let to = format!("{copy}-{name}");
            std::fs::copy(root().join("fixtures/images").join(name), dir.join(&to)).unwrap();
            want.insert(to, *wh);
        }
    }
    std::fs::write(dir.join("c-broken.png"), b"\x89PNG\r\n\x1a\n broken").unwrap();
    (dir, want)
}

fn manifest(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The rows of an `.npy` file: shape and data.
fn npy(path: &Path) -> (Vec<usize>, Vec<f32>) {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[..8], b"\x93NUMPY\x01\x00");
    let hlen = u16::from_le_bytes([b[8], b[9]]) as usize;
    let header = std::str::from_utf8(&b[10..10 + hlen]).unwrap();
    let shape = header.split("'shape': (").nth(1).unwrap();
    let shape: Vec<usize> = shape[..shape.find(')').unwrap()]
        .split(',')
        .filter(|t| !t.trim().is_empty())
        .map(|t| t.trim().parse().unwrap())
        .collect();
    let data: Vec<f32> = b[10 + hlen..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(data.len(), shape.iter().product::<usize>());
    (shape, data)
}

/// Every file of an output folder by name (temporary leftovers of a SIGKILL excluded).
fn folder(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with(".vitrs-partial-"))
        .map(|n| (n.clone(), std::fs::read(dir.join(&n)).unwrap()))
        .collect()
}

/// Each embedded image's row, by file name, from a folder's manifest(s) and shards.
fn rows_by_name(dir: &Path) -> BTreeMap<String, Vec<f32>> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if !name.starts_with("manifest") {
            continue;
        }
        for line in manifest(&dir.join(&name)) {
            if line["status"] != "ok" {
                continue;
            }
            let (shape, data) = npy(&dir.join(line["shard"].as_str().unwrap()));
            let d = shape[1];
            let r = line["row"].as_u64().unwrap() as usize;
            let file = Path::new(line["path"].as_str().unwrap());
            let key = file.file_name().unwrap().to_string_lossy().into_owned();
            assert!(out.insert(key, data[r * d..(r + 1) * d].to_vec()).is_none());
        }
    }
    out
}

#[test]
fn shards_and_manifest_and_resumed_runs_equal_an_uninterrupted_one() {
    let tmp = tempfile::tempdir().unwrap();
    let model = model_dir(tmp.path());
    let (imgs, sizes) = images(tmp.path());
    let run = |out: &Path, extra: &[&str], env: &[(&str, &str)]| {
        let mut args = vec![
            "embed",
            s(&imgs),
            "--model",
            s(&model),
            "-o",
            s(out),
            "--shard-size",
            "3",
            "--batch",
            "2",
            "--skip-errors",
        ];
        args.extend_from_slice(extra);
        vitrs(&args, env)
    };

    let full = tmp.path().join("full");
    let o = run(&full, &[], &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    // Counts by cause, not every file.
    assert!(
        err.contains("skipped 1 of 13 files: 1 decode error"),
        "{err}"
    );
    let files = folder(&full);
    let names: Vec<&str> = files.keys().map(|k| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "emb-00000.npy",
            "emb-00001.npy",
            "emb-00002.npy",
            "emb-00003.npy",
            "manifest.jsonl"
        ]
    );
    let lines = manifest(&full.join("manifest.jsonl"));
    assert_eq!(lines.len(), 13);
    for line in &lines {
        let name = Path::new(line["path"].as_str().unwrap())
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if name == "c-broken.png" {
            assert_eq!(line["status"], "error");
            assert_eq!(line["cause"], "decode error");
            assert!(line["shard"].is_null() && line["row"].is_null());
            assert!(line["error"].as_str().unwrap().contains("c-broken.png"));
            continue;
        }
        assert_eq!(line["status"], "ok", "{line}");
        assert_eq!(line["error"], "");
        let [w, h] = sizes[&name];
        assert_eq!(
            (line["width"].as_u64(), line["height"].as_u64()),
            (Some(w), Some(h))
        );
        let len = std::fs::metadata(imgs.join(&name)).unwrap().len();
        assert_eq!(line["bytes"].as_u64(), Some(len));
    }
    // 12 rows in shards of 3, in input order.
    let shapes: Vec<Vec<usize>> = (0..4)
        .map(|k| npy(&full.join(format!("emb-{k:05}.npy"))).0)
        .collect();
    assert_eq!(shapes, vec![vec![3, 64]; 4]);
    let ordered: Vec<(&str, u64)> = lines
        .iter()
        .filter(|l| l["status"] == "ok")
        .map(|l| (l["shard"].as_str().unwrap(), l["row"].as_u64().unwrap()))
        .collect();
    assert_eq!(ordered[4], ("emb-00001.npy", 1));

    // The same rows as one file, whose sidecar names each row's image.
    let one = tmp.path().join("one.npy");
    let mut args = vec!["embed", s(&imgs), "--model", s(&model), "-o", s(&one), "-q"];
    args.extend(["--batch", "5"]);
    let o = vitrs(&args, &[]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let (shape, data) = npy(&one);
    assert_eq!(shape, [12, 64]);
    let side = manifest(&tmp.path().join("one.npy.manifest.jsonl"));
    assert_eq!(side.len(), 13);
    let by_name = rows_by_name(&full);
    for line in side.iter().filter(|l| l["status"] == "ok") {
        let r = line["row"].as_u64().unwrap() as usize;
        assert_eq!(line["shard"], "one.npy");
        let name = Path::new(line["path"].as_str().unwrap())
            .file_name()
            .unwrap();
        let want = &by_name[&name.to_string_lossy().into_owned()];
        let got = &data[r * 64..(r + 1) * 64];
        let max = got
            .iter()
            .zip(want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(
            max <= 1e-6,
            "{name:?}: max |diff| {max} between batch 5 and batch 2"
        );
    }

    // Killed or stopped after K images, then resumed: the same folder, byte for byte.
    for (k, sig) in [
        (1, "KILL"),
        (4, "TERM"),
        (7, "KILL"),
        (9, "INT"),
        (12, "TERM"),
    ] {
        let out = tmp.path().join(format!("cut-{k}-{sig}"));
        let o = run(
            &out,
            &[],
            &[("VITRS_TEST_SIGNAL_AFTER", &format!("{k} {sig}"))],
        );
        assert!(!o.status.success(), "{k} {sig}: {}", stderr(&o));
        let kept = folder(&out);
        // Only complete shards, each with its lines.
        let shards = kept.keys().filter(|n| n.starts_with("emb-")).count();
        let lines = manifest(&out.join("manifest.jsonl"));
        assert!(shards <= k / 3 + 1, "{k} {sig}: {shards} shards");
        assert_eq!(
            lines.iter().filter(|l| l["status"] == "ok").count(),
            shards * 3,
            "{k} {sig}"
        );
        if sig != "KILL" {
            let leftovers = std::fs::read_dir(&out).unwrap().count() - kept.len();
            assert_eq!(leftovers, 0, "{k} {sig}: a partial file survived");
        }
        // Without --resume the folder is refused, untouched.
        let o = run(&out, &[], &[]);
        assert!(stderr(&o).contains("--resume"), "{}", stderr(&o));
        assert_eq!(folder(&out), kept);
        let o = run(&out, &["--resume"], &[]);
        assert_eq!(o.status.code(), Some(0), "{k} {sig}: {}", stderr(&o));
        assert_eq!(folder(&out), files, "{k} {sig}: resumed run differs");
        // Resuming a complete folder does nothing.
        let o = run(&out, &["--resume"], &[]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert_eq!(folder(&out), files);
    }
}

#[test]
fn parts_cover_the_sorted_list_once_and_lists_come_from_files_or_stdin() {
    let tmp = tempfile::tempdir().unwrap();
    let model = model_dir(tmp.path());
    let (imgs, sizes) = images(tmp.path());
    let out = tmp.path().join("parts");
    // The list in reverse order: parts split the sorted list, whatever order it came in.
    let mut list: Vec<PathBuf> = sizes.keys().map(|n| imgs.join(n)).collect();
    list.reverse();
    let text: String = list.iter().map(|p| format!("{}\n", p.display())).collect();
    let listed = tmp.path().join("list.txt");
    std::fs::write(&listed, &text).unwrap();
    for i in 0..3 {
        let part = format!("{i}/3");
        let mut args = vec!["embed", "--model", s(&model), "-o", s(&out), "--shard-of"];
        args.extend([part.as_str(), "--shard-size", "2", "--files-from"]);
        let o = if i == 1 {
            // From stdin, NUL-separated.
            let mut c = Command::new(env!("CARGO_BIN_EXE_vitrs"));
            c.args(&args).arg("-").stdin(Stdio::piped());
            c.stdout(Stdio::piped()).stderr(Stdio::piped());
            let mut child = c.spawn().unwrap();
            let nul: Vec<u8> = list
                .iter()
                .flat_map(|p| {
                    let mut b = p.to_str().unwrap().as_bytes().to_vec();
                    b.push(0);
                    b
                })
                .collect();
            child.stdin.take().unwrap().write_all(&nul).unwrap();
            child.wait_with_output().unwrap()
        } else {
            args.push(s(&listed));
            vitrs(&args, &[])
        };
        assert!(o.status.success(), "{part}: {}", stderr(&o));
    }
    let names: BTreeSet<String> = folder(&out).into_keys().collect();
    assert!(names.contains("manifest-0of3.jsonl") && names.contains("emb-2of3-00001.npy"));
    assert!(names.contains("emb-1of3-00001.npy"), "{names:?}");
    // Every image exactly once across the parts, in blocks of the sorted list.
    let rows = rows_by_name(&out);
    assert_eq!(
        rows.keys().cloned().collect::<Vec<_>>(),
        sizes.keys().cloned().collect::<Vec<_>>()
    );
    let first = manifest(&out.join("manifest-0of3.jsonl"));
    let got: Vec<&str> = first.iter().map(|l| l["path"].as_str().unwrap()).collect();
    let mut sorted: Vec<String> = list.iter().map(|p| p.display().to_string()).collect();
    sorted.sort();
    assert_eq!(got, sorted[..4]);
}

#[test]
fn progress_lines_in_logs_and_quiet() {
    let tmp = tempfile::tempdir().unwrap();
    let model = model_dir(tmp.path());
    let img = root().join("fixtures/images/chelsea.png");
    let base = [
        "embed",
        s(&img),
        s(&img),
        s(&img),
        "--model",
        s(&model),
        "--batch",
        "1",
    ];
    let mut args = base.to_vec();
    args.extend(["--progress-every", "1e-9"]);
    let o = vitrs(&args, &[]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    let progress: Vec<&str> = err.lines().filter(|l| l.starts_with("embed: ")).collect();
    assert_eq!(progress.len(), 3, "{err}");
    assert!(
        progress[2].starts_with("embed: 3/3 images (100%), "),
        "{err}"
    );
    assert!(
        progress[0].contains(" images/s, ") && progress[0].contains(" eta "),
        "{err}"
    );
    let mut args = base.to_vec();
    args.push("-q");
    let o = vitrs(&args, &[]);
    assert!(o.status.success() && o.stderr.is_empty(), "{}", stderr(&o));
}

#[test]
fn the_destination_is_checked_before_the_model_and_nothing_is_left() {
    let tmp = tempfile::tempdir().unwrap();
    let img = root().join("fixtures/images/chelsea.png");
    let missing_model = tmp.path().join("no-model");
    let nested = tmp.path().join("no/such/out");
    let o = vitrs(
        &[
            "embed",
            s(&img),
            "--model",
            s(&missing_model),
            "-o",
            s(&nested),
            "--shard-size",
            "2",
        ],
        &[],
    );
    let err = stderr(&o);
    assert!(
        !o.status.success() && err.contains("cannot create the folder"),
        "{err}"
    );
    // A folder made for a run that fails before writing is removed again.
    let out = tmp.path().join("out");
    let o = vitrs(
        &[
            "embed",
            s(&img),
            "--model",
            s(&missing_model),
            "-o",
            s(&out),
            "--shard-size",
            "2",
        ],
        &[],
    );
    assert!(
        !o.status.success() && stderr(&o).contains("no-model"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
    // --resume and --shard-of need a folder; a file output is refused at once.
    for flag in [&["--resume"][..], &["--shard-of", "0/2"]] {
        let mut args = vec![
            "embed",
            s(&img),
            "--model",
            s(&missing_model),
            "-o",
            "x.npy",
        ];
        args.extend_from_slice(flag);
        let o = vitrs(&args, &[]);
        assert!(stderr(&o).contains("needs -o FOLDER"), "{}", stderr(&o));
    }
}
