//! The kernels around the GEMMs at ViT-B/16 shapes: LayerNorm, softmax, erf GELU, attention.

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

criterion_group!(benches, kernels);
criterion_main!(benches);
