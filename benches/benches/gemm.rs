//! GEMM at ViT-B/16 shapes, in GFLOP/s: our packed kernels (every ISA this CPU has but the
//! slow emulated one: AVX-512, AVX2+FMA, portable) against
//! `matrixmultiply`, the micro-kernel alone with its panels in L1, and the machine's FMA peak
//! measured by independent FMA chains.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use vitrs_benches::VIT_B16_LINEARS;
use vitrs_kernels::gemm::{detect, Isa};
use vitrs_kernels::{Epilogue, Linear};

/// The ISAs to measure: all this CPU runs, but the emulated one (a test device, slow).
fn isas() -> Vec<Isa> {
    let mut v: Vec<Isa> = Isa::available()
        .into_iter()
        .filter(|i| *i != Isa::Emulated16)
        .collect();
    v.reverse();
    v
}

fn gemm(c: &mut Criterion) {
    vitrs_kernels::threads::init(1);
    let mut g = c.benchmark_group("gemm_1_thread");
    for &(m, k, n) in VIT_B16_LINEARS {
        let x: Vec<f32> = (0..m * k).map(|i| (i % 13) as f32 * 0.01).collect();
        let w: Vec<f32> = (0..n * k).map(|i| (i % 7) as f32 * 0.01).collect();
        let lin = Linear::new(w.clone(), None, n, k).unwrap();
        let mut y = vec![0.0f32; m * n];
        g.throughput(Throughput::Elements((2 * m * n * k) as u64));
        let id = format!("{m}x{k}x{n}");
        for isa in isas() {
            let lin = lin.repacked_for(isa);
            g.bench_with_input(
                BenchmarkId::new(format!("vitrs_{isa:?}"), &id),
                &(),
                |b, _| b.iter(|| lin.forward_with(isa, black_box(&x), m, &mut y, Epilogue::Store)),
            );
        }
        g.bench_with_input(BenchmarkId::new("matrixmultiply", &id), &(), |b, _| {
            b.iter(|| unsafe {
                // SAFETY: x is m×k, w is n×k read as its transpose, y is m×n.
                matrixmultiply::sgemm(
                    m,
                    k,
                    n,
                    1.0,
                    x.as_ptr(),
                    k as isize,
                    1,
                    w.as_ptr(),
                    1,
                    k as isize,
                    0.0,
                    y.as_mut_ptr(),
                    n as isize,
                    1,
                )
            })
        });
    }
    g.finish();
}

/// The micro-kernel alone on one `MR × nr` tile with its panels in L1 (`kc` deep, the ISA's
/// layout): the ceiling the cache-blocked GEMM above approaches.
fn micro_kernel(c: &mut Criterion) {
    use std::ptr::null;
    use vitrs_kernels::gemm::{kernel, Layout, MR};
    let mut g = c.benchmark_group("micro_kernel_in_l1");
    for isa in isas() {
        let Layout { nr, kc } = isa.layout();
        let a = vec![0.001f32; kc * MR];
        let b = vec![0.002f32; kc * nr];
        let mut t = vec![0.0f32; MR * nr];
        g.throughput(Throughput::Elements((2 * kc * MR * nr * 100) as u64));
        let k = kernel(isa);
        g.bench_function(format!("{isa:?}_{MR}x{nr}x{kc}_x100"), |bench| {
            bench.iter(|| {
                for _ in 0..100 {
                    // SAFETY: a holds kc·MR values, b kc·nr, t an MR×nr tile at stride nr.
                    unsafe {
                        k(
                            kc,
                            a.as_ptr(),
                            b.as_ptr(),
                            t.as_mut_ptr(),
                            nr,
                            true,
                            null(),
                            null(),
                        )
                    };
                }
                black_box(&t);
            })
        });
    }
    g.finish();
}

const ITERS: usize = 100_000;

#[inline(always)]
fn chains(m: [f32; 8], a: [f32; 8]) -> [[f32; 8]; 12] {
    let mut acc = [[1.0f32; 8]; 12];
    for _ in 0..ITERS {
        for chain in acc.iter_mut() {
            for l in 0..8 {
                chain[l] = chain[l].mul_add(m[l], a[l]);
            }
        }
    }
    acc
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn chains_avx2(m: [f32; 8], a: [f32; 8]) -> [[f32; 8]; 12] {
    chains(m, a)
}

/// One core's FMA peak: 12 independent chains of 8-lane FMAs keep both FMA pipes busy.
fn fma_peak(c: &mut Criterion) {
    let mut g = c.benchmark_group("fma_peak");
    g.throughput(Throughput::Elements((ITERS * 12 * 8 * 2) as u64));
    g.bench_function("12_chains_x_8_lanes", |b| {
        b.iter(|| {
            let (m, a) = (black_box([0.999_999f32; 8]), black_box([1e-7f32; 8]));
            #[cfg(target_arch = "x86_64")]
            if detect() == Isa::Avx2Fma {
                // SAFETY: detect() confirmed AVX2 and FMA.
                return black_box(unsafe { chains_avx2(m, a) });
            }
            black_box(chains(m, a))
        })
    });
    g.finish();
}

criterion_group!(benches, gemm, micro_kernel, fma_peak);
criterion_main!(benches);
