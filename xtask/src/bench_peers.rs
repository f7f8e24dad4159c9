//! `cargo xtask bench-peers`: vitrs, ONNX Runtime, OpenVINO (f32) and PyTorch eager on the
//! same ViT-B/16 weights, in one run, interleaved per configuration so that background load
//! hits all of them alike; and decode + preprocess against Pillow. Only ratios from one run
//! mean anything on a shared machine. The table names the CPU, its vector ISA flags, the
//! kernels vitrs ran and their FMA peak. `--baseline BIN` adds another vitrs binary (say,
//! main's) to the same rounds.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::{paths, venv};

/// `vitrs bench` of `model` in `dtype` (its JSON): the timing every row of ours comes from.
/// (`--dtype` is passed only for int8, so a `--baseline` binary older than it still runs.)
fn vitrs_bench(
    bin: &Path,
    model: &str,
    dtype: &str,
    batch: usize,
    threads: usize,
    runs: usize,
    warmup: &str,
) -> Result<Value> {
    let mut cmd = Command::new(bin);
    cmd.args(["bench", "--model", model]);
    if dtype != "f32" {
        cmd.args(["--dtype", dtype]);
    }
    run_json(cmd.args([
        "--batch",
        &batch.to_string(),
        "--threads",
        &threads.to_string(),
        "--runs",
        &runs.to_string(),
        "--warmup",
        warmup,
    ]))
}

fn run_json(cmd: &mut Command) -> Result<Value> {
    let out = cmd.output().with_context(|| format!("starting {cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .context("no JSON output")?;
    Ok(serde_json::from_str(line)?)
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn load(path: &Path, name: &str) -> Result<Vec<f32>> {
    let f = vitrs_model::checkpoint::SafetensorsFile::open(path)?;
    Ok(f.load(name)?)
}

/// The CPU's vector-ISA flags from /proc/cpuinfo (AVX*, FMA, AMX, F16C), space-separated.
fn isa_flags() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let flags = info
        .lines()
        .find(|l| l.starts_with("flags"))
        .and_then(|l| l.split(':').nth(1))
        .unwrap_or_default();
    let keep: Vec<_> = flags
        .split_whitespace()
        .filter(|f| f.starts_with("avx") || f.starts_with("amx") || *f == "fma" || *f == "f16c")
        .collect();
    if keep.is_empty() {
        "none found".into()
    } else {
        keep.join(" ")
    }
}

/// A part of the comparison (`--only`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Section {
    /// ViT-B/16 f32 against ONNX Runtime, OpenVINO and PyTorch.
    F32,
    /// The other families (DINOv2, CLIP).
    Families,
    /// Decode + preprocess against Pillow.
    Preprocess,
    /// ViT-B/16 int8 against ORT int8 and OpenVINO int8.
    Int8,
}

/// Runs the comparison (the `only` sections, or all when empty); `quick` uses fewer runs;
/// `baseline`, another vitrs binary timed in the same rounds.
pub fn run(quick: bool, baseline: Option<&Path>, only: &[Section]) -> Result<()> {
    let wanted = |s: Section| only.is_empty() || only.contains(&s);
    let model = paths::full_fixtures().join("models").join("vit_b16_224");
    if !model.join("model.safetensors").exists() {
        eprintln!("xtask: generating the full-size ViT-B/16 fixture first");
        crate::fixtures::run_full_only(Some("models"))?;
    }
    let python = venv::python()?;
    let script = paths::root()
        .join("xtask")
        .join("python")
        .join("bench_peers.py");
    let work = paths::root().join("target").join("bench-peers");
    std::fs::create_dir_all(&work)?;
    eprintln!("xtask: building vitrs (release)");
    venv::run(
        Command::new(env!("CARGO"))
            .args(["build", "--release", "--quiet", "-p", "vitrs"])
            .current_dir(paths::root()),
    )?;
    let vitrs = paths::root().join("target").join("release").join("vitrs");
    let onnx = work.join("vit_b16_224.onnx");
    let model_s = model.to_string_lossy().to_string();

    let mut rows = Vec::new();
    let f32_configs: &[(usize, usize)] = match wanted(Section::F32) {
        true => &[(1, 1), (1, 2), (8, 1), (8, 2)],
        false => &[],
    };
    for &(batch, threads) in f32_configs {
        // Rounds alternate the tools, so that a slow spell of the shared machine lands on
        // all of them; the runs of every round are pooled.
        let (rounds, runs) = match (quick, batch) {
            (true, 1) => (1, 5),
            (true, _) => (1, 2),
            (false, 1) => (3, 4),
            (false, _) => (3, 2),
        };
        let warmup = if batch == 1 { "2" } else { "1" };
        eprintln!("xtask: batch {batch}, {threads} thread(s), {rounds} rounds of {runs} runs each");
        let input = work.join(format!("input-b{batch}.safetensors"));
        let mut pooled: [Vec<f64>; 5] = Default::default();
        let (mut peers, mut peak_rss_mb) = (Value::Null, 0.0f64);
        let (mut isa, mut peak) = (Value::Null, 0.0f64);
        for _ in 0..rounds {
            peers = run_json(
                Command::new(&python)
                    .arg(&script)
                    .args(["models", &model_s])
                    .arg(&onnx)
                    .arg(&input)
                    .args(["--batch", &batch.to_string()])
                    .args(["--threads", &threads.to_string()])
                    .args(["--runs", &runs.to_string(), "--warmup", warmup]),
            )?;
            let bench =
                |bin: &Path| vitrs_bench(bin, &model_s, "f32", batch, threads, runs, warmup);
            let ours = bench(&vitrs)?;
            let base = match baseline {
                Some(bin) => bench(bin)?,
                None => Value::Null,
            };
            peak_rss_mb = peak_rss_mb.max(ours["peak_rss_mb"].as_f64().unwrap_or(0.0));
            isa = ours["isa"].clone();
            peak = peak.max(ours["peak_gflops"].as_f64().unwrap_or(0.0));
            for (pool, v) in pooled.iter_mut().zip([
                &ours,
                &peers["ort"],
                &peers["torch"],
                &peers["openvino"],
                &base,
            ]) {
                pool.extend(all_ms(v));
            }
        }
        let [v_ms, o_ms, t_ms, ov_ms, b_ms] = pooled.map(|mut ms| {
            ms.sort_by(f64::total_cmp);
            ms
        });
        let summary = |ms: &[f64]| json!({"median_ms": median(ms), "min_ms": ms.first(), "runs": ms.len(), "all_ms": ms});
        let mut ours = summary(&v_ms);
        ours["peak_rss_mb"] = json!(peak_rss_mb);
        ours["isa"] = isa;
        ours["peak_gflops"] = json!(peak);
        // Same input, same weights: vitrs against PyTorch's last_hidden_state.
        let out = work.join(format!("vitrs-b{batch}.safetensors"));
        let diff = vitrs_vs_torch(&vitrs, &model_s, threads, &input, &out)?;
        rows.push(json!({
            "batch": batch, "threads": threads, "rounds": rounds,
            "vitrs": ours, "ort": summary(&o_ms), "torch": summary(&t_ms),
            "openvino": summary(&ov_ms),
            "baseline": if b_ms.is_empty() { Value::Null } else { summary(&b_ms) },
            "vitrs_vs_torch_max_abs_diff": diff,
            "ort_vs_torch_max_abs_diff": peers["ort_vs_torch_max_abs_diff"],
            "openvino_vs_torch_max_abs_diff": peers["openvino_vs_torch_max_abs_diff"],
        }));
    }

    // The other families' rows are extra: a failure there is reported, not fatal.
    let families = match wanted(Section::Families) {
        true => family_rows(&python, &script, &vitrs, &work, quick).unwrap_or_else(|e| {
            eprintln!("xtask: the family rows failed: {e:#}");
            Vec::new()
        }),
        false => Vec::new(),
    };

    // Decode + preprocess of ~1000 px images.
    let (pillow, ours) = match wanted(Section::Preprocess) {
        true => {
            let images = make_images(&python, &work)?;
            let pillow = run_json(
                Command::new(&python)
                    .arg(&script)
                    .arg("preprocess")
                    .args(&images)
                    .args(["--runs", "20"]),
            )?;
            let mut cmd = Command::new(&vitrs);
            cmd.args([
                "bench",
                "--model",
                "random:deit-tiny-patch16-224",
                "--runs",
                "20",
            ]);
            for i in &images {
                cmd.arg("--preprocess").arg(i);
            }
            (pillow, run_json(&mut cmd)?)
        }
        false => (Value::Null, Value::Null),
    };

    let int8_rows = match wanted(Section::Int8) {
        true => {
            if !work.join("input-b8.safetensors").exists() || !onnx.exists() {
                bail!("the int8 rows need the f32 rows' inputs and ONNX export: run bench-peers without --only first");
            }
            run_int8(quick, &python, &script, &vitrs, &model, &onnx, &work)?
        }
        false => Vec::new(),
    };

    let mut report = render_machine();
    if !rows.is_empty() {
        report.push_str(&render(&rows));
    }
    if !pillow.is_null() {
        report.push_str(&render_preprocess(&pillow, &ours["preprocess"]));
    }
    if !int8_rows.is_empty() {
        report.push_str(&render_int8(&int8_rows));
    }
    if !families.is_empty() {
        report.push_str(&render_families(&families));
    }
    println!("{report}");
    std::fs::write(work.join("../bench-peers.md"), &report)?;
    std::fs::write(
        work.join("../bench-peers.json"),
        serde_json::to_string_pretty(
            &json!({"models": rows, "int8": int8_rows, "families": families, "pillow": pillow, "vitrs_preprocess": ours["preprocess"]}),
        )?,
    )?;
    eprintln!("xtask: wrote target/bench-peers.md and target/bench-peers.json");
    Ok(())
}

/// The other families' full-size fixtures timed beside the peers, batch 1 on 2 threads:
/// (fixture, what it is, input side, the `random:` model of the same shape that `vitrs bench`
/// times — its processor gives the size that really runs; weights do not change the time).
const FAMILIES: &[(&str, &str, usize, &str)] = &[
    (
        "dinov2_base_224",
        "DINOv2-base at 224 (518 table resized, 257 tokens)",
        224,
        "random:dinov2-base",
    ),
    (
        "clip_b32_224",
        "CLIP ViT-B/32 vision tower (50 tokens)",
        224,
        "random:clip-vit-base-patch32",
    ),
];

/// DINOv2-base and CLIP ViT-B/32 (issue 15): vitrs, ONNX Runtime, OpenVINO and PyTorch in
/// alternating rounds, and vitrs's `last_hidden_state` against PyTorch's on the same input.
fn family_rows(
    python: &Path,
    script: &Path,
    vitrs: &Path,
    work: &Path,
    quick: bool,
) -> Result<Vec<Value>> {
    let models = paths::full_fixtures().join("models");
    if FAMILIES
        .iter()
        .any(|(name, ..)| !models.join(name).join("model.safetensors").exists())
    {
        eprintln!("xtask: generating the full-size family fixtures first");
        crate::fixtures::run_full_only(Some("models"))?;
    }
    let (batch, threads) = (1usize, 2usize);
    let (rounds, runs) = if quick { (1, 5) } else { (3, 4) };
    let mut rows = Vec::new();
    for &(name, what, size, shape_twin) in FAMILIES {
        eprintln!(
            "xtask: {what}: batch {batch}, {threads} threads, {rounds} rounds of {runs} runs each"
        );
        let dir = models.join(name);
        let dir_s = dir.to_string_lossy().to_string();
        let onnx = work.join(format!("{name}.onnx"));
        let input = work.join(format!("input-{name}.safetensors"));
        let mut pooled: [Vec<f64>; 4] = Default::default();
        let mut peers = Value::Null;
        for _ in 0..rounds {
            peers = run_json(
                Command::new(python)
                    .arg(script)
                    .args(["models", &dir_s])
                    .arg(&onnx)
                    .arg(&input)
                    .args(["--batch", &batch.to_string()])
                    .args(["--threads", &threads.to_string()])
                    .args(["--size", &size.to_string()])
                    .args(["--runs", &runs.to_string(), "--warmup", "2"]),
            )?;
            let ours = vitrs_bench(vitrs, shape_twin, "f32", batch, threads, runs, "2")?;
            for (pool, v) in
                pooled
                    .iter_mut()
                    .zip([&ours, &peers["ort"], &peers["openvino"], &peers["torch"]])
            {
                pool.extend(all_ms(v));
            }
        }
        let [v_ms, o_ms, ov_ms, t_ms] = pooled.map(|mut ms| {
            ms.sort_by(f64::total_cmp);
            median(&ms)
        });
        let out = work.join(format!("vitrs-{name}.safetensors"));
        let diff = vitrs_vs_torch(vitrs, &dir_s, threads, &input, &out)?;
        rows.push(json!({
            "model": what, "batch": batch, "threads": threads,
            "vitrs_ms": v_ms, "ort_ms": o_ms, "openvino_ms": ov_ms, "torch_ms": t_ms,
            "vitrs_vs_torch_max_abs_diff": diff,
            "ort_vs_torch_max_abs_diff": peers["ort_vs_torch_max_abs_diff"],
            "openvino_vs_torch_max_abs_diff": peers["openvino_vs_torch_max_abs_diff"],
        }));
    }
    Ok(rows)
}

fn render_families(rows: &[Value]) -> String {
    let f = |r: &Value, k: &str| r[k].as_f64().unwrap_or(f64::NAN);
    let mut s = String::from(
        "\nOther families, f32, batch 1, 2 threads, same weights and input (medians pooled from alternating rounds):\n\n\
         | model | vitrs ms | ONNX Runtime ms | OpenVINO ms | PyTorch ms | vitrs / ORT | vitrs / OpenVINO | vitrs / PyTorch | max diff vs PyTorch (vitrs, ORT, OpenVINO) |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for r in rows {
        let (v, o, ov, t) = (
            f(r, "vitrs_ms"),
            f(r, "ort_ms"),
            f(r, "openvino_ms"),
            f(r, "torch_ms"),
        );
        s.push_str(&format!(
            "| {} | {v:.1} | {o:.1} | {ov:.1} | {t:.1} | {:.2} | {:.2} | {:.2} | {:.1e}, {:.1e}, {:.1e} |\n",
            r["model"].as_str().unwrap_or("?"),
            v / o,
            v / ov,
            v / t,
            f(r, "vitrs_vs_torch_max_abs_diff"),
            f(r, "ort_vs_torch_max_abs_diff"),
            f(r, "openvino_vs_torch_max_abs_diff"),
        ));
    }
    s
}

/// The timings (`all_ms`) of one tool's JSON report.
fn all_ms(report: &Value) -> impl Iterator<Item = f64> + '_ {
    report["all_ms"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_f64)
}

/// Runs `vitrs run` on the saved input and returns the largest |difference| of its
/// `last_hidden_state` from PyTorch's, saved beside the input.
fn vitrs_vs_torch(
    vitrs: &Path,
    model: &str,
    threads: usize,
    input: &Path,
    out: &Path,
) -> Result<f32> {
    venv::run(
        Command::new(vitrs)
            .args([
                "run",
                "--model",
                model,
                "--threads",
                &threads.to_string(),
                "--input",
            ])
            .arg(input)
            .arg("--output")
            .arg(out),
    )?;
    Ok(max_abs_diff(
        &load(out, "last_hidden_state")?,
        &load(input, "last_hidden_state")?,
    ))
}

fn make_images(python: &Path, dir: &Path) -> Result<Vec<PathBuf>> {
    let src = paths::fixtures().join("images").join("chelsea.png");
    let png = dir.join("cat-1000.png");
    let jpg = dir.join("cat-1000.jpg");
    let code = format!(
        "from PIL import Image\nim = Image.open({src:?}).convert('RGB').resize((1000, 665), Image.LANCZOS)\nim.save({png:?})\nim.save({jpg:?}, quality=90)\n",
        src = src.to_string_lossy(),
        png = png.to_string_lossy(),
        jpg = jpg.to_string_lossy(),
    );
    venv::run(Command::new(python).arg("-c").arg(code))?;
    Ok(vec![jpg, png])
}

/// The median of sorted values (NaN for none).
fn median(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

fn ms(v: &Value) -> f64 {
    v["median_ms"].as_f64().unwrap_or(f64::NAN)
}

/// The machine and date every table of a run shares.
fn render_machine() -> String {
    format!(
        "{} ({} cores visible; ISA flags: {}), {}.\n",
        cpu_model(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        isa_flags(),
        std::process::Command::new("date")
            .arg("-u")
            .arg("+%Y-%m-%d")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    )
}

/// The f32 ViT-B/16 table.
fn render(rows: &[Value]) -> String {
    let mut s = String::from(
        "\nViT-B/16 at 224, f32, same weights and input; medians of the runs pooled from rounds that alternate the tools:\n\n",
    );
    let with_base = rows.iter().any(|r| !r["baseline"].is_null());
    s.push_str("| batch | threads | vitrs ISA | vitrs ms |");
    if with_base {
        s.push_str(" baseline ms | vitrs / baseline |");
    }
    s.push_str(" ONNX Runtime ms | OpenVINO ms | PyTorch ms | vitrs / ORT | vitrs / OpenVINO | vitrs / PyTorch | vitrs img/s | vitrs GFLOP/s / FMA peak | vitrs peak RSS MB | max diff vs PyTorch (vitrs, ORT, OpenVINO) |\n");
    s.push_str("|---:|---:|---|---:|");
    if with_base {
        s.push_str("---:|---:|");
    }
    s.push_str("---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for r in rows {
        let b = r["batch"].as_f64().unwrap_or(1.0);
        let (v, o, t, ov) = (
            ms(&r["vitrs"]),
            ms(&r["ort"]),
            ms(&r["torch"]),
            ms(&r["openvino"]),
        );
        let peak = r["vitrs"]["peak_gflops"].as_f64().unwrap_or(f64::NAN);
        let gflops = 35.13 * b / (v / 1e3);
        s.push_str(&format!(
            "| {} | {} | {} | {v:.1} |",
            r["batch"],
            r["threads"],
            r["vitrs"]["isa"].as_str().unwrap_or("?"),
        ));
        if with_base {
            let base = ms(&r["baseline"]);
            s.push_str(&format!(" {base:.1} | {:.3} |", v / base));
        }
        s.push_str(&format!(
            " {o:.1} | {ov:.1} | {t:.1} | {:.2} | {:.2} | {:.2} | {:.1} | {gflops:.0} / {peak:.0} = {:.0}% | {:.0} | {:.1e}, {:.1e}, {:.1e} |\n",
            v / o, v / ov, v / t, b * 1e3 / v, 100.0 * gflops / peak,
            r["vitrs"]["peak_rss_mb"].as_f64().unwrap_or(f64::NAN),
            r["vitrs_vs_torch_max_abs_diff"].as_f64().unwrap_or(f64::NAN),
            r["ort_vs_torch_max_abs_diff"].as_f64().unwrap_or(f64::NAN),
            r["openvino_vs_torch_max_abs_diff"].as_f64().unwrap_or(f64::NAN),
        ));
    }
    s.push_str("\nGFLOP/s counts 35.13 GFLOP per image; the FMA peak is vitrs's own FMA loop of the ISA it ran, on the same threads, in the same process.\n");
    s
}

/// The decode + preprocess table against Pillow.
fn render_preprocess(pillow: &Value, ours: &Value) -> String {
    let mut s = String::new();
    s.push_str(
        "\nDecode + preprocess to [3, 224, 224] (ViTImageProcessor defaults), one thread:\n\n",
    );
    s.push_str(
        "| image | vitrs ms | Pillow + transformers ms | vitrs / Pillow |\n|---|---:|---:|---:|\n",
    );
    if let Some(map) = pillow.as_object() {
        for (name, p) in map {
            let v = ms(&ours[name]);
            s.push_str(&format!(
                "| {name} | {v:.2} | {:.2} | {:.2} |\n",
                ms(p),
                v / ms(p)
            ));
        }
    }
    s
}

/// Per-image cosine similarity of two same-shaped `[B, ...]` arrays.
fn cosines(a: &[f32], b: &[f32], batch: usize) -> Vec<f64> {
    let per = a.len() / batch.max(1);
    a.chunks(per.max(1))
        .zip(b.chunks(per.max(1)))
        .map(|(a, b)| {
            let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
            let na: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
            let nb: f64 = b.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
            dot / (na * nb)
        })
        .collect()
}

/// The int8 rows: vitrs `--dtype int8` against ONNX Runtime dynamic int8 (`quantize_dynamic`,
/// s8 weights) on the same weights and inputs as the f32 rows (which wrote the inputs and
/// PyTorch's f32 outputs), rounds alternating the two; and each one's cosine of
/// `last_hidden_state` against PyTorch f32.
fn run_int8(
    quick: bool,
    python: &Path,
    script: &Path,
    vitrs: &Path,
    model: &Path,
    onnx: &Path,
    work: &Path,
) -> Result<Vec<Value>> {
    let onnx_int8 = work.join("vit_b16_224.int8.onnx");
    let model_s = model.to_string_lossy().to_string();
    let mut rows = Vec::new();
    for (batch, threads) in [(1usize, 1usize), (1, 2), (8, 2)] {
        let (rounds, runs) = match (quick, batch) {
            (true, 1) => (1, 5),
            (true, _) => (1, 2),
            (false, 1) => (3, 4),
            (false, _) => (3, 2),
        };
        let warmup = if batch == 1 { "2" } else { "1" };
        eprintln!(
            "xtask: int8, batch {batch}, {threads} thread(s), {rounds} rounds of {runs} runs each"
        );
        let input = work.join(format!("input-b{batch}.safetensors"));
        let mut pooled: [Vec<f64>; 3] = Default::default();
        let (mut peer, mut peak_rss_mb) = (Value::Null, 0.0f64);
        for _ in 0..rounds {
            peer = run_json(
                Command::new(python)
                    .arg(script)
                    .arg("int8")
                    .arg(onnx)
                    .arg(&onnx_int8)
                    .arg(&input)
                    .args(["--batch", &batch.to_string()])
                    .args(["--threads", &threads.to_string()])
                    .args(["--runs", &runs.to_string(), "--warmup", warmup]),
            )?;
            let ours = vitrs_bench(vitrs, &model_s, "int8", batch, threads, runs, warmup)?;
            peak_rss_mb = peak_rss_mb.max(ours["peak_rss_mb"].as_f64().unwrap_or(0.0));
            for (pool, v) in
                pooled
                    .iter_mut()
                    .zip([&ours, &peer["ort_int8"], &peer["openvino_int8"]])
            {
                pool.extend(
                    v["all_ms"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_f64),
                );
            }
        }
        let [v_ms, o_ms, ov_ms] = pooled.map(|mut ms| {
            ms.sort_by(f64::total_cmp);
            ms
        });
        let summary = |ms: &[f64]| json!({"median_ms": median(ms), "min_ms": ms.first(), "runs": ms.len(), "all_ms": ms});
        let mut ours = summary(&v_ms);
        ours["peak_rss_mb"] = json!(peak_rss_mb);
        let out = work.join(format!("vitrs-int8-b{batch}.safetensors"));
        venv::run(
            Command::new(vitrs)
                .args(["run", "--model", &model_s, "--dtype", "int8", "--threads"])
                .arg(threads.to_string())
                .arg("--input")
                .arg(&input)
                .arg("--output")
                .arg(&out),
        )?;
        let cos = cosines(
            &load(&out, "last_hidden_state")?,
            &load(&input, "last_hidden_state")?,
            batch,
        );
        rows.push(json!({
            "batch": batch, "threads": threads, "rounds": rounds,
            "vitrs_int8": ours, "ort_int8": summary(&o_ms), "openvino_int8": summary(&ov_ms),
            "vitrs_int8_cosines": cos, "ort_int8_cosines": peer["ort_int8_cosines"],
            "openvino_int8_cosines": peer["openvino_int8_cosines"],
        }));
    }
    Ok(rows)
}

fn min_cosine(v: &Value) -> f64 {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_f64)
        .fold(f64::INFINITY, f64::min)
}

fn render_int8(rows: &[Value]) -> String {
    let mut s = String::from(
        "\nint8, same weights and inputs: vitrs `--dtype int8` (per-channel s8 weights, per-row u8 activations) against ONNX Runtime dynamic int8 (`quantize_dynamic`, QInt8 weights) and OpenVINO int8 (NNCF `quantize`, transformer preset, calibrated on 32 other random inputs); cosine of last_hidden_state against PyTorch f32, least over the batch's images:\n\n",
    );
    s.push_str("| batch | threads | vitrs int8 ms/image | ORT int8 ms/image | OpenVINO int8 ms/image | vitrs / ORT | vitrs / OpenVINO | vitrs / faster peer | vitrs peak RSS MB | cosine vs PyTorch f32 (vitrs, ORT, OpenVINO) |\n");
    s.push_str("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for r in rows {
        let b = r["batch"].as_f64().unwrap_or(1.0);
        let (v, o, ov) = (
            ms(&r["vitrs_int8"]) / b,
            ms(&r["ort_int8"]) / b,
            ms(&r["openvino_int8"]) / b,
        );
        s.push_str(&format!(
            "| {} | {} | {v:.1} | {o:.1} | {ov:.1} | {:.2} | {:.2} | {:.2} | {:.0} | {:.5}, {:.5}, {:.5} |\n",
            r["batch"],
            r["threads"],
            v / o,
            v / ov,
            v / o.min(ov),
            r["vitrs_int8"]["peak_rss_mb"].as_f64().unwrap_or(f64::NAN),
            min_cosine(&r["vitrs_int8_cosines"]),
            min_cosine(&r["ort_int8_cosines"]),
            min_cosine(&r["openvino_int8_cosines"]),
        ));
    }
    s
}
