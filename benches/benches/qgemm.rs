//! Int8 GEMM at ViT-B/16 shapes, in multiply-adds per second: every int8 kernel this CPU runs
//! (but the slow emulated 16-lane one) as a whole layer on one thread, the f32 layer beside it,
//! and each micro-kernel alone on one tile with its panels in L1.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use vitrs_benches::VIT_B16_LINEARS;
use vitrs_kernels::qgemm::{QIsa, QLinear, QuantizedWeight, MR};
use vitrs_kernels::{Epilogue, Linear};

/// The int8 kernels to measure: all this CPU runs but the emulated 16-lane one.
fn isas() -> Vec<QIsa> {
    QIsa::available()
        .into_iter()
        .filter(|i| *i != QIsa::Emulated16)
        .collect()
}

/// A deterministic weight, near-normal like trained or randomly initialized ones (a sum of four
/// uniforms; per-channel quantization then puts each row's largest at ±127).
fn weight(n: usize, k: usize) -> Vec<f32> {
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    let mut uniform = move || {
        s = s
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (s >> 40) as f32 / (1u64 << 24) as f32
    };
    (0..n * k)
        .map(|_| (uniform() + uniform() + uniform() + uniform() - 2.0) * 0.02)
        .collect()
}

fn layers(c: &mut Criterion) {
    vitrs_kernels::threads::init(1);
    let mut g = c.benchmark_group("qgemm_1_thread");
    for &(m, k, n) in VIT_B16_LINEARS {
        let x: Vec<f32> = (0..m * k)
            .map(|i| ((i * 31 % 97) as f32 - 40.0) * 0.03)
            .collect();
        let w = weight(n, k);
        let mut y = vec![0.0f32; m * n];
        // Throughput in multiply-adds.
        g.throughput(Throughput::Elements((m * n * k) as u64));
        let id = format!("{m}x{k}x{n}");
        for isa in isas() {
            let q = QuantizedWeight::quantize(&w, n, k).unwrap();
            let lin = QLinear::with_isa(q, None, isa).unwrap();
            g.bench_with_input(BenchmarkId::new(isa.name(), &id), &(), |b, _| {
                b.iter(|| lin.forward(black_box(&x), m, &mut y, Epilogue::Store))
            });
        }
        let lin = Linear::new(w.clone(), None, n, k).unwrap();
        g.bench_with_input(BenchmarkId::new("f32", &id), &(), |b, _| {
            b.iter(|| lin.forward(black_box(&x), m, &mut y, Epilogue::Store))
        });
    }
    g.finish();
}

/// One `MR × nr` tile, `k = 768` deep (the panels fit L1), 100 times.
fn micro_kernel(c: &mut Criterion) {
    let mut g = c.benchmark_group("qgemm_micro_kernel_in_l1");
    let k4 = 192;
    for isa in isas() {
        let nr = isa.nr();
        let a = vec![100u8; k4 * 4 * MR * isa.act_bytes()];
        let b = vec![-3i8; k4 * 4 * nr];
        let mut t = vec![0i32; MR * nr];
        g.throughput(Throughput::Elements((k4 * 4 * MR * nr * 100) as u64));
        let kernel = isa.kernel();
        g.bench_function(
            format!("{}_{MR}x{nr}x{}_x100", isa.name(), 4 * k4),
            |bench| {
                bench.iter(|| {
                    for _ in 0..100 {
                        // SAFETY: a holds k4·MR·4 activations, b k4·nr·4 bytes, t an MR×nr tile;
                        // the kernel is one this CPU runs (QIsa::available).
                        unsafe { kernel(k4, a.as_ptr(), b.as_ptr(), t.as_mut_ptr()) };
                    }
                    black_box(&t);
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, micro_kernel, layers);
criterion_main!(benches);
