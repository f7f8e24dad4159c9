//! Issue 12, the output side, driven as a hostile user would: every case is built in a temp
//! folder and the binary is run against it. Outputs never destroy anything, temporary files
//! never survive, numbers from the command line are bounded, and a closed or full stdout is
//! an error, not a panic.
#![cfg(feature = "cli")]

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn cmd() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vitrs"))
}

/// Runs the binary with a deadline, so a regression that blocks on a FIFO fails instead of
/// hanging CI.
fn vitrs<S: AsRef<OsStr>>(args: &[S]) -> Output {
    let mut child = cmd()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(120) {
            child.kill().unwrap();
            panic!(
                "vitrs {:?} did not finish",
                args.iter()
                    .map(|a| a.as_ref().to_owned())
                    .collect::<Vec<_>>()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The `pooler` fixture model (16x16 inputs, patch 4, D 64) with a preprocessor config.
fn model_dir(tmp: &Path, name: &str, preprocessor: &str) -> PathBuf {
    let dir = tmp.join(name);
    std::fs::create_dir(&dir).unwrap();
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(root().join("fixtures/models/pooler").join(f), dir.join(f)).unwrap();
    }
    std::fs::write(dir.join("preprocessor_config.json"), preprocessor).unwrap();
    dir
}

fn chelsea() -> PathBuf {
    root().join("fixtures/images/chelsea.png")
}

fn partials(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".vitrs-partial-")
        })
        .collect()
}

fn mkfifo(path: &Path) {
    assert!(Command::new("mkfifo").arg(path).status().unwrap().success());
}

#[test]
fn hostile_destinations_are_refused_before_any_work_and_left_as_they_were() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let model = model_dir(t, "model", r#"{"size": 16}"#);
    let fifo = t.join("fifo.npy");
    mkfifo(&fifo);
    let dir = t.join("dir.npy");
    std::fs::create_dir(&dir).unwrap();
    let sock = t.join("sock.npy");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let to_fifo = t.join("to-fifo.npy");
    std::os::unix::fs::symlink(&fifo, &to_fifo).unwrap();
    // An input image whose name looks like an output, and a link to it.
    let image = t.join("cat.npy");
    std::fs::copy(chelsea(), &image).unwrap();
    let to_image = t.join("to-cat.jsonl");
    std::os::unix::fs::symlink("cat.npy", &to_image).unwrap();
    let weights = model.join("model.safetensors");
    let weights_bytes = std::fs::read(&weights).unwrap();

    let cases: Vec<(PathBuf, &str)> = vec![
        (fifo.clone(), "a FIFO"),
        (dir.clone(), "a directory"),
        (sock.clone(), "a socket"),
        (to_fifo.clone(), "a FIFO"),
        (image.clone(), "an image being embedded"),
        (to_image.clone(), "an image being embedded"),
        (weights.clone(), "a file of the model"),
        (t.join("no/such/folder/e.npy"), "does not exist"),
    ];
    for (out, why) in &cases {
        let o = vitrs(&[
            OsStr::new("embed"),
            image.as_os_str(),
            OsStr::new("--model"),
            model.as_os_str(),
            OsStr::new("--format"),
            OsStr::new("npy"),
            OsStr::new("-o"),
            out.as_os_str(),
        ]);
        let e = err(&o);
        assert_eq!(o.status.code(), Some(1), "{out:?}: {e}");
        assert!(
            e.contains(&*out.to_string_lossy()) && e.contains(why),
            "{out:?} should be refused as {why}: {e}"
        );
        assert!(!e.contains("embedded 1"), "refused before any work: {e}");
    }
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    assert!(std::fs::metadata(&sock).unwrap().file_type().is_socket());
    assert!(std::fs::read_dir(&dir).unwrap().next().is_none());
    assert!(std::fs::symlink_metadata(&to_image)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        std::fs::read(&image).unwrap(),
        std::fs::read(chelsea()).unwrap()
    );
    assert_eq!(std::fs::read(&weights).unwrap(), weights_bytes);
    assert!(partials(t).is_empty());

    // `run --input` and `preprocess`'s images are inputs too.
    let px = t.join("px.safetensors");
    let o = vitrs(&[
        OsStr::new("preprocess"),
        chelsea().as_os_str(),
        OsStr::new("--model"),
        model.as_os_str(),
        OsStr::new("-o"),
        px.as_os_str(),
    ]);
    assert!(o.status.success(), "{}", err(&o));
    let before = std::fs::read(&px).unwrap();
    let o = vitrs(&[
        OsStr::new("run"),
        OsStr::new("--model"),
        model.as_os_str(),
        OsStr::new("--input"),
        px.as_os_str(),
        OsStr::new("--output"),
        px.as_os_str(),
    ]);
    assert!(err(&o).contains("the --input file"), "{}", err(&o));
    assert_eq!(std::fs::read(&px).unwrap(), before);
    let o = vitrs(&[
        OsStr::new("preprocess"),
        image.as_os_str(),
        OsStr::new("--model"),
        model.as_os_str(),
        OsStr::new("-o"),
        image.as_os_str(),
    ]);
    assert!(
        err(&o).contains("an image being preprocessed"),
        "{}",
        err(&o)
    );
    let o = vitrs(&[
        OsStr::new("run"),
        OsStr::new("--model"),
        model.as_os_str(),
        OsStr::new("--input"),
        px.as_os_str(),
        OsStr::new("--output"),
        fifo.as_os_str(),
    ]);
    assert!(err(&o).contains("a FIFO"), "{}", err(&o));
}

#[test]
fn the_format_and_folder_are_checked_before_the_model_is_loaded() {
    let tmp = tempfile::tempdir().unwrap();
    let missing_model = tmp.path().join("no-model");
    for (out, needle) in [
        (tmp.path().join("e.txt"), "unknown extension `.txt`"),
        (tmp.path().join("e"), "no extension"),
        (tmp.path().join("nope/e.npy"), "does not exist"),
    ] {
        let o = vitrs(&[
            OsStr::new("embed"),
            chelsea().as_os_str(),
            OsStr::new("--model"),
            missing_model.as_os_str(),
            OsStr::new("-o"),
            out.as_os_str(),
        ]);
        let e = err(&o);
        assert!(!o.status.success() && e.contains(needle), "{e}");
        assert!(!e.contains("no-model"), "the model was not looked at: {e}");
    }
}

#[test]
fn replaced_files_keep_their_mode_new_ones_get_the_umask_and_links_stay() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let model = model_dir(t, "model", r#"{"size": 16}"#);
    let embed_to = |out: &Path| {
        let script = format!(
            "umask 027; exec {} embed {} --model {} -o {}",
            env!("CARGO_BIN_EXE_vitrs"),
            chelsea().display(),
            model.display(),
            out.display()
        );
        let o = Command::new("sh").args(["-c", &script]).output().unwrap();
        assert!(o.status.success(), "{}", err(&o));
    };
    let new = t.join("new.npy");
    embed_to(&new);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&new), 0o640, "0666 less umask 027");

    let old = t.join("old.jsonl");
    std::fs::write(&old, "old\n").unwrap();
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o604)).unwrap();
    embed_to(&old);
    assert_eq!(mode(&old), 0o604);
    assert!(std::fs::read_to_string(&old).unwrap().contains("embedding"));

    let real = t.join("real.npy");
    std::fs::write(&real, "old").unwrap();
    let link = t.join("link.npy");
    std::os::unix::fs::symlink("real.npy", &link).unwrap();
    embed_to(&link);
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::read(&real).unwrap().starts_with(b"\x93NUMPY"));
    assert!(partials(t).is_empty());
}

#[test]
fn dash_writes_to_stdout() {
    let tmp = tempfile::tempdir().unwrap();
    let model = model_dir(tmp.path(), "model", r#"{"size": 16}"#);
    let images = root().join("fixtures/images");
    let o = vitrs(&[
        OsStr::new("embed"),
        images.as_os_str(),
        OsStr::new("--model"),
        model.as_os_str(),
        OsStr::new("-o"),
        OsStr::new("-"),
    ]);
    assert!(o.status.success(), "{}", err(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    assert_eq!(text.lines().count(), 6);
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["embedding"].as_array().unwrap().len(), 64);
    }
    let o = vitrs(&[
        OsStr::new("embed"),
        images.as_os_str(),
        OsStr::new("--model"),
        model.as_os_str(),
        OsStr::new("-o"),
        OsStr::new("-"),
        OsStr::new("--format"),
        OsStr::new("npy"),
    ]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(o.stdout.starts_with(b"\x93NUMPY"));
    assert!(String::from_utf8_lossy(&o.stdout).contains("'shape': (6, 64)"));
}

/// Waits until `dir` holds a partial file (the output is being written), sends `signal`, and
/// checks the process died of it and left nothing.
fn interrupt(args: &[&OsStr], dir: &Path, signal: &str, signo: i32) {
    let mut child = cmd()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while partials(dir).is_empty() {
        assert!(child.try_wait().unwrap().is_none(), "ended before writing");
        assert!(start.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(5));
    }
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args([&format!("-{signal}"), &pid])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(signo), "{signal}: {status:?}");
    let left: Vec<_> = std::fs::read_dir(dir).unwrap().collect();
    assert!(left.is_empty(), "{signal} left {left:?}");
}

#[test]
fn sigterm_and_sighup_remove_the_partial_file() {
    for (signal, signo) in [("TERM", 15), ("HUP", 1)] {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("e.jsonl");
        // A full-size random model takes seconds to build; the partial exists before that.
        let images = root().join("fixtures/images");
        interrupt(
            &[
                OsStr::new("embed"),
                images.as_os_str(),
                OsStr::new("--model"),
                OsStr::new("random:vit-base-patch16-224"),
                OsStr::new("-o"),
                out.as_os_str(),
            ],
            tmp.path(),
            signal,
            signo,
        );
    }
}

/// `ulimit -f`: the file-size limit makes the write fail (EFBIG) as a full disk would
/// (vitrs catches SIGXFSZ). dash counts 512-byte blocks, bash 1024: a few KB either way.
fn with_file_limit(blocks: u32, args: &[&OsStr]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -f {blocks} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_vitrs"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_full_disk_is_an_error_that_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    // convert: a 1 KB limit stops model.safetensors early.
    let out = t.join("hf");
    let src = root().join("fixtures/convert/timm_tiny_head");
    let o = with_file_limit(
        1,
        &[OsStr::new("convert"), src.as_os_str(), out.as_os_str()],
    );
    let e = err(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(
        e.contains("model.safetensors") && e.contains("too large"),
        "{e}"
    );
    assert!(!out.exists(), "the folder it made is removed again");
    assert!(partials(t).is_empty());

    // embed: all tokens of 6 images do not fit in 1 KB.
    let model = model_dir(t, "model", r#"{"size": 16}"#);
    let e_npy = t.join("e.npy");
    std::fs::write(&e_npy, "previous").unwrap();
    let images = root().join("fixtures/images");
    let o = with_file_limit(
        1,
        &[
            OsStr::new("embed"),
            images.as_os_str(),
            OsStr::new("--model"),
            model.as_os_str(),
            OsStr::new("--pool"),
            OsStr::new("none"),
            OsStr::new("-o"),
            e_npy.as_os_str(),
        ],
    );
    let e = err(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(e.contains("e.npy") && e.contains("too large"), "{e}");
    assert_eq!(std::fs::read(&e_npy).unwrap(), b"previous");
    assert!(partials(t).is_empty());

    // stdout on /dev/full
    let o = cmd()
        .args(["info", "--model"])
        .arg(&model)
        .stdout(std::fs::File::create("/dev/full").unwrap())
        .output()
        .unwrap();
    let e = err(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(
        e.contains("writing to stdout") && !e.contains("panicked"),
        "{e}"
    );
}

#[test]
fn a_closed_stdout_is_an_error_not_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let model = model_dir(tmp.path(), "model", r#"{"size": 16}"#);
    let cls = tmp.path().join("cls");
    std::fs::create_dir(&cls).unwrap();
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(
            root().join("fixtures/models/classifier").join(f),
            cls.join(f),
        )
        .unwrap();
    }
    std::fs::write(cls.join("preprocessor_config.json"), r#"{"size": 16}"#).unwrap();
    let images = root().join("fixtures/images");
    let runs: Vec<Vec<&OsStr>> = vec![
        vec![OsStr::new("info"), OsStr::new("--model"), model.as_os_str()],
        vec![
            OsStr::new("classify"),
            images.as_os_str(),
            OsStr::new("--model"),
            cls.as_os_str(),
            OsStr::new("--json"),
        ],
        vec![
            OsStr::new("embed"),
            images.as_os_str(),
            OsStr::new("--model"),
            model.as_os_str(),
            OsStr::new("-o"),
            OsStr::new("-"),
        ],
    ];
    for args in runs {
        // The read end is closed before the child starts: every write gets EPIPE.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let o = cmd().args(&args).stdout(writer).output().unwrap();
        let e = err(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {e}");
        assert!(
            e.contains("writing to stdout") && e.contains("Broken pipe") && !e.contains("panicked"),
            "{args:?}: {e}"
        );
    }
}

#[test]
fn non_utf8_file_names_are_written_exactly_in_json() {
    let tmp = tempfile::tempdir().unwrap();
    let model = model_dir(tmp.path(), "model", r#"{"size": 16}"#);
    let cls = tmp.path().join("cls");
    std::fs::create_dir(&cls).unwrap();
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(
            root().join("fixtures/models/classifier").join(f),
            cls.join(f),
        )
        .unwrap();
    }
    std::fs::write(cls.join("preprocessor_config.json"), r#"{"size": 16}"#).unwrap();
    // Met in a folder walk (the command line itself takes UTF-8 arguments).
    let folder = tmp.path().join("images");
    std::fs::create_dir(&folder).unwrap();
    let image = folder.join(OsStr::from_bytes(b"caf\xe9.png"));
    std::fs::copy(chelsea(), &image).unwrap();
    let want: Vec<u8> = image.as_os_str().as_bytes().to_vec();
    for args in [
        vec![
            OsStr::new("classify"),
            folder.as_os_str(),
            OsStr::new("--model"),
            cls.as_os_str(),
            OsStr::new("--json"),
        ],
        vec![
            OsStr::new("embed"),
            folder.as_os_str(),
            OsStr::new("--model"),
            model.as_os_str(),
            OsStr::new("-o"),
            OsStr::new("-"),
        ],
    ] {
        let o = vitrs(&args);
        assert!(o.status.success(), "{}", err(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert!(v["path"].as_str().unwrap().ends_with("caf\u{fffd}.png"));
        let bytes: Vec<u8> = v["path_bytes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_u64().unwrap() as u8)
            .collect();
        assert_eq!(bytes, want);
    }
}

#[test]
fn command_line_numbers_are_bounded() {
    let tmp = tempfile::tempdir().unwrap();
    let model = model_dir(tmp.path(), "model", r#"{"size": 16}"#);
    let m = model.to_str().unwrap();
    let c = chelsea();
    let c = c.to_str().unwrap();
    for (args, needle) in [
        (
            vec!["embed", c, "--model", m, "--size", "4294967296"],
            "--size 4294967296:",
        ),
        (
            vec!["embed", c, "--model", m, "--size", "18446744073709551615"],
            "--size 18446744073709551615:",
        ),
        (vec!["embed", c, "--model", m, "--size", "0"], "--size 0:"),
        (
            vec!["bench", "--model", m, "--batch", "1000000000000"],
            "--batch 1000000000000:",
        ),
        (
            vec!["bench", "--model", m, "--runs", "18446744073709551615"],
            "--runs 18446744073709551615:",
        ),
    ] {
        let o = vitrs(&args);
        let e = err(&o);
        // A value refused for this model or machine is a usage error, as clap's own.
        assert_eq!(o.status.code(), Some(2), "{args:?}: {e}");
        assert!(
            e.contains(needle) && !e.contains("panicked"),
            "{args:?}: {e}"
        );
    }
    // A batch larger than the images given is fine, as it always was.
    let o = vitrs(&["embed", c, "--model", m, "--batch", "18446744073709551615"]);
    assert!(o.status.success(), "{}", err(&o));
    let o = vitrs(&[
        "bench",
        "--model",
        m,
        "--threads",
        "1000000",
        "--runs",
        "1",
        "--warmup",
        "0",
    ]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(
        err(&o).contains("--threads 1000000 is more than"),
        "{}",
        err(&o)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let cores = std::thread::available_parallelism().unwrap().get() as u64;
    assert_eq!(v["threads"].as_u64().unwrap(), 8 * cores);
}

#[test]
fn rows_of_different_shapes_never_share_one_array() {
    let tmp = tempfile::tempdir().unwrap();
    // Aspect ratio kept: chelsea (451x300) and camera (512x512) get different token counts.
    let model = model_dir(
        tmp.path(),
        "model",
        r#"{"size": {"shortest_edge": 16}, "do_center_crop": false}"#,
    );
    let camera = root().join("fixtures/images/camera.png");
    for (ext, ok) in [("npy", false), ("safetensors", false), ("jsonl", true)] {
        let out = tmp.path().join(format!("e.{ext}"));
        let o = vitrs(&[
            OsStr::new("embed"),
            chelsea().as_os_str(),
            camera.as_os_str(),
            OsStr::new("--model"),
            model.as_os_str(),
            OsStr::new("--pool"),
            OsStr::new("none"),
            OsStr::new("--interpolate-pos-encoding"),
            OsStr::new("--batch"),
            OsStr::new("1"),
            OsStr::new("-o"),
            out.as_os_str(),
        ]);
        let e = err(&o);
        assert_eq!(o.status.success(), ok, "{ext}: {e}");
        if !ok {
            assert!(
                e.contains("camera.png") && e.contains("chelsea.png") && e.contains("jsonl"),
                "{e}"
            );
            assert!(!out.exists());
        }
    }
    assert!(partials(tmp.path()).is_empty());
}

/// Overwrites tensor `name` of a safetensors file with `value` everywhere.
fn set_tensor(path: &Path, name: &str, value: f32) {
    use safetensors::tensor::TensorView;
    let bytes = std::fs::read(path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let names: Vec<String> = file.names().into_iter().cloned().collect();
    let t = file.tensor(name).unwrap();
    let n = t.data().len() / 4;
    let data: Vec<u8> = std::iter::repeat_n(value.to_le_bytes(), n)
        .flatten()
        .collect();
    let shape = t.shape().to_vec();
    let tensors: Vec<(String, TensorView)> = names
        .iter()
        .map(|k| {
            let v = if k == name {
                TensorView::new(t.dtype(), shape.clone(), &data).unwrap()
            } else {
                file.tensor(k).unwrap()
            };
            (k.clone(), v)
        })
        .collect();
    let out = safetensors::serialize(tensors, &None).unwrap();
    std::fs::write(path, out).unwrap();
}

#[test]
fn non_finite_embeddings_are_not_written_unless_asked() {
    let tmp = tempfile::tempdir().unwrap();
    let model = model_dir(tmp.path(), "model", r#"{"size": 16}"#);
    // Finite weights (they load), but a final LayerNorm scale that overflows f32.
    set_tensor(&model.join("model.safetensors"), "layernorm.weight", 3e38);
    set_tensor(&model.join("model.safetensors"), "layernorm.bias", 3e38);
    let out = tmp.path().join("e.npy");
    let cat = chelsea();
    let args = [
        OsStr::new("embed"),
        cat.as_os_str(),
        OsStr::new("--model"),
        model.as_os_str(),
        OsStr::new("-o"),
        out.as_os_str(),
    ];
    let o = vitrs(&args);
    let e = err(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(
        e.contains("chelsea.png") && e.contains("--allow-nonfinite") && e.contains("inf"),
        "{e}"
    );
    assert!(!out.exists());
    let mut allowed = args.to_vec();
    allowed.push(OsStr::new("--allow-nonfinite"));
    let o = vitrs(&allowed);
    assert!(o.status.success(), "{}", err(&o));
    assert!(out.exists());

    // classify: logits that overflow are not printed as a prediction.
    let cls = tmp.path().join("cls");
    std::fs::create_dir(&cls).unwrap();
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(
            root().join("fixtures/models/classifier").join(f),
            cls.join(f),
        )
        .unwrap();
    }
    std::fs::write(cls.join("preprocessor_config.json"), r#"{"size": 16}"#).unwrap();
    set_tensor(&cls.join("model.safetensors"), "classifier.bias", 3e38);
    set_tensor(&cls.join("model.safetensors"), "classifier.weight", 3e38);
    let o = vitrs(&[
        OsStr::new("classify"),
        cat.as_os_str(),
        OsStr::new("--model"),
        cls.as_os_str(),
    ]);
    let e = err(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(e.contains("chelsea.png") && e.contains("not finite"), "{e}");
    assert!(o.stdout.is_empty());
}

#[test]
fn convert_refuses_to_write_over_its_input_and_a_file_as_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let hf = t.join("hf");
    let src = root().join("fixtures/convert/timm_tiny_head");
    let o = vitrs(&[OsStr::new("convert"), src.as_os_str(), hf.as_os_str()]);
    assert!(o.status.success(), "{}", err(&o));
    let weights = std::fs::read(hf.join("model.safetensors")).unwrap();
    // In place: the folder is its own input.
    let o = vitrs(&[
        OsStr::new("convert"),
        hf.as_os_str(),
        hf.as_os_str(),
        OsStr::new("--dtype"),
        OsStr::new("f16"),
    ]);
    let e = err(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(e.contains("refusing to write over"), "{e}");
    assert_eq!(
        std::fs::read(hf.join("model.safetensors")).unwrap(),
        weights
    );
    let file = t.join("file");
    std::fs::write(&file, "x").unwrap();
    let o = vitrs(&[OsStr::new("convert"), src.as_os_str(), file.as_os_str()]);
    assert!(err(&o).contains("is not a folder"), "{}", err(&o));
    let fifo = t.join("out2");
    std::fs::create_dir(&fifo).unwrap();
    mkfifo(&fifo.join("config.json"));
    let o = vitrs(&[OsStr::new("convert"), src.as_os_str(), fifo.as_os_str()]);
    assert!(err(&o).contains("a FIFO"), "{}", err(&o));
    assert!(!fifo.join("model.safetensors").exists());
    assert!(partials(t).is_empty() && partials(&fifo).is_empty());
}
