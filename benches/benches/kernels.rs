//! The kernels around the GEMMs at ViT-B/16 shapes: LayerNorm, softmax, erf GELU, attention;
//! and the resize's horizontal pass on a 4032-pixel photo row.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use vitrs_kernels::attention::{attention_batch, AttentionShape};
use vitrs_kernels::layer_norm::layer_norm;
use vitrs_kernels::softmax::softmax_rows;
use vitrs_kernels::Activation;

fn kernels(c: &mut Criterion) {
    vitrs_kernels::threads::init(1);
    let (t, d, i) = (197, 768, 3072);
    let x: Vec<f32> = (0..t * d).map(|v| (v % 17) as f32 * 0.1 - 0.8).collect();
    let gamma = vec![1.0f32; d];
    let beta = vec![0.0f32; d];
    let mut out = vec![0.0f32; t * d];
    let mut g = c.benchmark_group("kernels");
    g.throughput(Throughput::Elements((t * d) as u64));
    g.bench_function("layer_norm_197x768", |b| {
        b.iter(|| layer_norm(black_box(&x), &gamma, &beta, 1e-12, &mut out))
    });
    let mut h: Vec<f32> = (0..t * i).map(|v| (v % 23) as f32 * 0.2 - 2.0).collect();
    g.throughput(Throughput::Elements((t * i) as u64));
    g.bench_function("gelu_erf_197x3072", |b| {
        b.iter(|| Activation::Gelu.apply_slice(black_box(&mut h)))
    });
    let mut s: Vec<f32> = (0..t * t).map(|v| (v % 31) as f32 * 0.1).collect();
    g.throughput(Throughput::Elements((t * t) as u64));
    g.bench_function("softmax_197x197", |b| {
        b.iter(|| softmax_rows(black_box(&mut s), t))
    });
    let shape = AttentionShape {
        tokens: t,
        heads: 12,
        head_dim: 64,
    };
    let qkv: Vec<f32> = (0..t * 3 * d)
        .map(|v| (v % 19) as f32 * 0.05 - 0.4)
        .collect();
    let mut ctx = vec![0.0f32; t * d];
    g.throughput(Throughput::Elements((4 * t * t * d) as u64));
    g.bench_function("attention_12_heads_197_tokens", |b| {
        b.iter(|| attention_batch(shape, 1, black_box(&qkv), &mut ctx, None))
    });
    g.finish();
}

/// One row of a 4032-wide photo to 224 pixels with triangle (BILINEAR-like) taps spanning
/// 2·18 source pixels, as `i16` weights (torch's, one multiply-add per step) and as 22-bit ones
/// (Pillow's, split in two).
fn resample(c: &mut Criterion) {
    use vitrs_kernels::resample::RgbTaps;
    let (width, outputs) = (4032usize, 224usize);
    let scale = width as f64 / outputs as f64;
    let taps = |precision: u32| {
        let positions: Vec<(usize, Vec<i32>)> = (0..outputs)
            .map(|i| {
                let center = (i as f64 + 0.5) * scale;
                let first = (center - scale).max(0.0) as usize;
                let last = ((center + scale) as usize).min(width);
                let raw: Vec<f64> = (first..last)
                    .map(|x| (1.0 - ((x as f64 + 0.5 - center) / scale).abs()).max(0.0))
                    .collect();
                let total: f64 = raw.iter().sum();
                let unit = f64::from(1u32 << precision);
                (
                    first,
                    raw.iter()
                        .map(|w| (w / total * unit).round() as i32)
                        .collect(),
                )
            })
            .collect();
        RgbTaps::new(
            positions.iter().map(|(s, w)| (*s, w.as_slice())),
            1 << (precision - 1),
            precision,
        )
    };
    let row: Vec<u8> = (0..3 * width).map(|v| (v * 7 % 251) as u8).collect();
    let mut out = vec![0u8; 3 * outputs];
    let mut g = c.benchmark_group("resample");
    g.throughput(Throughput::Elements(width as u64));
    for (name, precision) in [("row_4032_to_224_i16", 14), ("row_4032_to_224_22bit", 22)] {
        let t = taps(precision);
        g.bench_function(name, |b| {
            b.iter(|| t.resample_row(black_box(&row), &mut out))
        });
    }
    g.finish();
}

criterion_group!(benches, kernels, resample);
criterion_main!(benches);
