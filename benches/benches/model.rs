//! The whole forward pass: ViT-B/16 at 224 (random weights, built in memory) at batch 1 on
//! one and all threads, and a DeiT-tiny.

use criterion::{criterion_group, criterion_main, Criterion};
use vitrs_model::ForwardOptions;
use vitrs_tensor::Tensor;

fn model(c: &mut Criterion) {
    let mut g = c.benchmark_group("forward");
    g.sample_size(10);
    for name in ["vit-base-patch16-224-in21k", "deit-tiny-patch16-224"] {
        let vit = vitrs::zoo::find(name).unwrap().build(0).unwrap();
        let pixels = Tensor::new(
            &[1, 3, 224, 224],
            (0..3 * 224 * 224)
                .map(|i| (i % 255) as f32 / 127.5 - 1.0)
                .collect(),
        )
        .unwrap();
        g.bench_function(format!("{name}_batch1"), |b| {
            b.iter(|| vit.forward(&pixels, &ForwardOptions::default()).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, model);
criterion_main!(benches);
