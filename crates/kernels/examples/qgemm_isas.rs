//! Times the int8 layer on each kernel this CPU has, over ViT-B/16's GEMM shapes (one image,
//! 197 tokens), in interleaved rounds so that a noisy machine affects all kernels alike.
//!
//! `cargo run --release -p vitrs-kernels --example qgemm_isas [rounds] [threads]`

use std::time::Instant;

use vitrs_kernels::qgemm::{QIsa, QLinear, QuantizedWeight};
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
    for (m, k, n) in [(197, 768, 2304), (197, 768, 3072), (197, 3072, 768)] {
        let w: Vec<f32> = (0..n * k).map(|_| rnd()).collect();
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
