//! Times the int8 tile kernels this CPU has on operands in L1, then the int8 layer on each
//! over ViT-B/16's GEMM shapes (one image, 197 tokens), in interleaved rounds so that a noisy
//! machine affects all kernels alike.
//!
//! `cargo run --release -p vitrs-kernels --example qgemm_isas [rounds] [threads]`

use std::time::Instant;

use vitrs_kernels::qgemm::{QIsa, QLinear, QuantizedWeight, MR};
use vitrs_kernels::{threads, Epilogue};

fn main() {
    let mut args = std::env::args()
        .skip(1)
        .map(|a| a.parse::<usize>().expect("a number"));
    let rounds = args.next().unwrap_or(7);
    threads::init(args.next().unwrap_or(1));
    let isas: Vec<QIsa> = QIsa::available()
        .into_iter()
        .filter(|q| !matches!(q, QIsa::Emulated16 | QIsa::Portable))
        .collect();
    let mut s = 1u64;
    let mut rnd = move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    in_l1(&isas, rounds);
    for (m, k, n) in [(197, 768, 2304), (197, 768, 3072), (197, 3072, 768)] {
        // Near-normal weights (a sum of four uniforms), like trained or randomly initialized
        // ones: uniform weights would keep AVX2's 7-bit layers on the one-group tile.
        let w: Vec<f32> = (0..n * k).map(|_| rnd() + rnd() + rnd() + rnd()).collect();
        let x: Vec<f32> = (0..m * k).map(|_| rnd()).collect();
        let q = QuantizedWeight::quantize(&w, n, k).unwrap();
        let layers: Vec<QLinear> = isas
            .iter()
            .map(|&i| QLinear::with_isa(q.clone(), None, i).unwrap())
            .collect();
        let mut y = vec![0f32; m * n];
        let reps = 5;
        let mut times = vec![Vec::new(); isas.len()];
        for r in 0..rounds {
            for o in 0..layers.len() {
                let i = (o + r) % layers.len();
                layers[i].forward(&x, m, &mut y, Epilogue::Store);
                let t = Instant::now();
                for _ in 0..reps {
                    layers[i].forward(&x, m, &mut y, Epilogue::Store);
                }
                times[i].push(t.elapsed().as_secs_f64() * 1e3 / reps as f64);
            }
        }
        println!("{m}x{k} -> {n}:");
        for (isa, t) in isas.iter().zip(&mut times) {
            t.sort_by(f64::total_cmp);
            let gmacs = (m * k * n) as f64 / t[0] / 1e6;
            println!(
                "  {:<10} min {:.3} ms  median {:.3} ms  max {:.3} ms  ({gmacs:.1} GMAC/s at min)",
                isa.name(),
                t[0],
                t[t.len() / 2],
                t[t.len() - 1]
            );
        }
    }
}

/// The tile kernels alone on operands that stay in L1 (k = 256): their instruction throughput.
fn in_l1(isas: &[QIsa], rounds: usize) {
    let k4 = 64;
    let a = vec![1u8; k4 * MR * 4 * 2];
    let b = vec![1i8; k4 * 16 * 4];
    let mut c = vec![0i32; MR * 16];
    let calls = 20_000;
    let mut times = vec![Vec::new(); isas.len()];
    for r in 0..rounds {
        for o in 0..isas.len() {
            let i = (o + r) % isas.len();
            let kernel = isas[i].kernel();
            let t = Instant::now();
            for _ in 0..calls {
                // SAFETY: a, b and c are large enough for any of these kernels' tiles, whose
                // features this CPU has (QIsa::available).
                unsafe { kernel(k4, a.as_ptr(), b.as_ptr(), c.as_mut_ptr()) };
                std::hint::black_box(&mut c);
            }
            times[i].push(t.elapsed().as_secs_f64());
        }
    }
    println!("tile kernels in L1 (k = {}):", 4 * k4);
    for (isa, t) in isas.iter().zip(&mut times) {
        t.sort_by(f64::total_cmp);
        let macs = (calls * MR * 16 * 4 * k4) as f64;
        println!(
            "  {:<10} {:.1} GMAC/s (best), {:.1} (median)",
            isa.name(),
            macs / t[0] / 1e9,
            macs / t[t.len() / 2] / 1e9
        );
    }
}
