//! The int8 kernels against naive integer references: exact in `i32` for every ISA this CPU
//! has and for emulated lanes of every width (the logic of the ISAs it lacks).

use proptest::prelude::*;
use proptest::test_runner::RngSeed;

use super::kernel::{tile, tile_pairs, tile_words, QIsa, MR};
use super::lanes::{ByteLanes, Emulated, EmulatedWords, Lanes, WordLanes};
use super::*;
use crate::{Activation, Epilogue};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        rng_seed: RngSeed::Fixed(14),
        ..ProptestConfig::default()
    }
}

/// `c[i][j] = Σ a·b` straight from the packed layouts' definition (`a` as `u8`).
fn naive_tile(k4: usize, nr: usize, a: &[u8], b: &[i8]) -> Vec<i32> {
    let mut c = vec![0i32; MR * nr];
    for i in 0..MR {
        for j in 0..nr {
            for g in 0..k4 {
                for t in 0..4 {
                    c[i * nr + j] +=
                        a[(g * MR + i) * 4 + t] as i32 * b[(g * nr + j) * 4 + t] as i32;
                }
            }
        }
    }
    c
}

fn run_tile<V: Lanes>(k4: usize, a: &[u8], b: &[i8]) -> Vec<i32> {
    let mut c = vec![0i32; MR * 2 * V::N];
    // SAFETY: a, b and c have the sizes of the tile contract; emulated lanes need no features.
    unsafe { tile::<V>(k4, a.as_ptr(), b.as_ptr(), c.as_mut_ptr()) };
    c
}

/// [`tile_words`] on `a` as packed for it (each byte zero-extended to an `i16`).
fn run_tile_words<V: WordLanes>(k4: usize, a: &[u8], b: &[i8]) -> Vec<i32> {
    let a = widened(a);
    let mut c = vec![0i32; MR * 2 * V::N];
    // SAFETY: a holds k4·MR·4 i16, b and c the sizes of the contract; emulated lanes need no
    // features.
    unsafe { tile_words::<V>(k4, a.as_ptr(), b.as_ptr(), c.as_mut_ptr()) };
    c
}

/// [`tile_pairs`] on `b` as given (no split).
fn run_tile_pairs<V: ByteLanes>(k4: usize, a: &[u8], b: &[i8]) -> Vec<i32> {
    let mut c = vec![0i32; MR * 2 * V::N];
    // SAFETY: a, b and c have the sizes of the tile contract; emulated lanes need no features.
    unsafe { tile_pairs::<V>(k4, a.as_ptr(), b.as_ptr(), c.as_mut_ptr()) };
    c
}

/// A 7-bit kernel as [`QLinear`] runs it: on one panel `b` split by [`split_pairs`], then the
/// residual added.
fn with_split(
    k4: usize,
    nr: usize,
    a: &[u8],
    b: &[i8],
    run: impl Fn(&[i8]) -> Vec<i32>,
) -> Vec<i32> {
    let mut split = b.to_vec();
    let residual = split_pairs(&mut split, k4, nr, 127);
    let mut c = run(&split);
    residual.apply(0, a, &mut c, nr);
    c
}

/// Packed `u8` activations as the `i16` kernel reads them: each value, then a zero byte.
fn widened(a: &[u8]) -> Vec<u8> {
    a.iter().flat_map(|&v| [v, 0]).collect()
}

/// `isa`'s kernel on `a` (packed `u8` values, widened where the kernel reads `i16`).
fn run_isa(isa: QIsa, k4: usize, a: &[u8], b: &[i8]) -> Vec<i32> {
    let a = match isa.act_bytes() {
        1 => a.to_vec(),
        _ => widened(a),
    };
    let mut c = vec![0i32; MR * isa.nr()];
    // SAFETY: sizes as the contract; isa comes from QIsa::available().
    unsafe { isa.kernel()(k4, a.as_ptr(), b.as_ptr(), c.as_mut_ptr()) };
    c
}

/// Bytes drawn mostly from the edges (0, 1, 127, 128, 255) and otherwise anywhere.
fn edge_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        Just(0u8),
        Just(1),
        Just(127),
        Just(128),
        Just(255),
        any::<u8>()
    ]
}

proptest! {
    #![proptest_config(config(128))]

    /// Every kernel of this CPU and the emulated 8- and 16-lane `vpdpbusd` and `vpmaddwd`
    /// tiles, and the emulated 7-bit pair tile, exact against the naive sum; activations
    /// anywhere in `u8` (below 128 for AVX2's 7-bit kernel, which runs on split weights plus
    /// their residual, as in a layer), weights anywhere in `i8`.
    #[test]
    fn kernels_are_exact(k4 in 1usize..80, seed in proptest::collection::vec(edge_byte(), 64)) {
        let pick = |i: usize| seed[(i * 7 + i / 64) % seed.len()];
        for nr in [16usize, 32] {
            let a: Vec<u8> = (0..k4 * MR * 4).map(pick).collect();
            let b: Vec<i8> = (0..k4 * nr * 4).map(|i| pick(i * 3 + 1) as i8).collect();
            let want = naive_tile(k4, nr, &a, &b);
            let a7: Vec<u8> = a.iter().map(|v| v & 127).collect();
            let want7 = naive_tile(k4, nr, &a7, &b);
            if nr == 16 {
                prop_assert_eq!(run_tile::<Emulated<8>>(k4, &a, &b), want.clone());
                prop_assert_eq!(run_tile_words::<EmulatedWords<8>>(k4, &a, &b), want.clone());
                let pairs = with_split(k4, nr, &a7, &b, |b| run_tile_pairs::<Emulated<8>>(k4, &a7, b));
                prop_assert_eq!(pairs, want7.clone());
            } else {
                prop_assert_eq!(run_tile::<Emulated<16>>(k4, &a, &b), want.clone());
                prop_assert_eq!(run_tile_words::<EmulatedWords<16>>(k4, &a, &b), want.clone());
            }
            for isa in QIsa::available().into_iter().filter(|i| i.nr() == nr) {
                match isa.act_max() {
                    127 => prop_assert_eq!(
                        with_split(k4, nr, &a7, &b, |b| run_isa(isa, k4, &a7, b)), want7.clone(), "{:?}", isa
                    ),
                    _ => prop_assert_eq!(run_isa(isa, k4, &a, &b), want.clone(), "{:?}", isa),
                }
            }
        }
    }
}

/// Why AVX2's 8-bit kernel multiplies in `i16` rather than feeding `u8` activations to
/// `vpmaddubsw`: a pair 255·(−128) + 255·(−128) = −65280 saturates to −32768 there. The `i16`
/// kernel (and its emulation) stays exact at every extreme of `u8` × `i8`.
#[test]
fn avx2_8bit_extremes_are_exact() {
    let plain = |a: i32, b: i32| (2 * a * b).clamp(i16::MIN as i32, i16::MAX as i32);
    assert_eq!(plain(255, -128), -32768);
    for k4 in [1, 300] {
        for (av, bv) in [
            (255u8, -128i8),
            (255, 127),
            (255, -127),
            (128, -128),
            (0, -128),
        ] {
            let a = vec![av; k4 * MR * 4];
            let b = vec![bv; k4 * 16 * 4];
            let exact = naive_tile(k4, 16, &a, &b);
            assert_eq!(exact[0], 4 * k4 as i32 * av as i32 * bv as i32);
            assert_eq!(run_tile_words::<EmulatedWords<8>>(k4, &a, &b), exact);
            if QIsa::available().contains(&QIsa::Avx2I16) {
                assert_eq!(run_isa(QIsa::Avx2I16, k4, &a, &b), exact);
            }
        }
    }
}

/// The pair tile's lanes emulate AVX2 bit for bit, where sums saturate or wrap included
/// (activations anywhere in `u8`, weights unsplit), when this CPU has AVX2.
#[cfg(target_arch = "x86_64")]
#[test]
fn pair_lanes_emulate_avx2() {
    if !QIsa::available().contains(&QIsa::Avx2U7) {
        return;
    }
    for (k4, av, bv) in [
        (1, 255u8, -128i8),
        (2, 255, 127),
        (7, 200, -100),
        (64, 127, 127),
    ] {
        let a: Vec<u8> = (0..k4 * MR * 4)
            .map(|i| av.wrapping_sub((i % 3) as u8))
            .collect();
        let b: Vec<i8> = (0..k4 * 64)
            .map(|i| bv.wrapping_add((i % 5) as i8))
            .collect();
        assert_eq!(
            run_tile_pairs::<Emulated<8>>(k4, &a, &b),
            run_isa(QIsa::Avx2U7, k4, &a, &b),
            "k4 {k4}"
        );
    }
}

/// Why [`split_pairs`] exists: four weights of 127 (or −128) under activations of 127 sum to
/// 64516 (−65024), beyond `i16`, and the unsplit pair tile is wrong; split, it is exact. Where
/// the weights are small, nothing is taken out.
#[test]
fn split_pairs_makes_the_pair_tile_exact() {
    for (bv, k4) in [(127i8, 2usize), (-128, 2), (127, 9), (-128, 41), (90, 8)] {
        let a = vec![127u8; k4 * MR * 4];
        let b = vec![bv; k4 * 16 * 4];
        let exact = naive_tile(k4, 16, &a, &b);
        assert_ne!(run_tile_pairs::<Emulated<8>>(k4, &a, &b), exact);
        let mut split = b.clone();
        let residual = split_pairs(&mut split, k4, 16, 127);
        assert!(!residual.is_empty());
        residual.restore(&mut split, k4, 16);
        assert_eq!(split, b, "restored");
        let got = with_split(k4, 16, &a, &b, |b| run_tile_pairs::<Emulated<8>>(k4, &a, b));
        assert_eq!(got, exact, "{bv} × {k4} groups");
    }
    let small = vec![64i8; 6 * 16 * 4];
    let mut split = small.clone();
    assert!(split_pairs(&mut split, 6, 16, 127).is_empty());
    assert_eq!(split, small);
}

/// Rows `x[r][k] = lo[r] + step[r]·q[r][k]` with `q` in `0..=act_max` reaching both ends, in
/// binary fractions so that quantization recovers `q` exactly.
fn exact_rows(
    m: usize,
    k: usize,
    act_max: u8,
    seed: u64,
) -> (Vec<f32>, Vec<Vec<i32>>, Vec<RowQuant>) {
    let mut s = seed.wrapping_add(3);
    let mut rnd = move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 33) as u32
    };
    let mut x = Vec::with_capacity(m * k);
    let mut qs = Vec::new();
    let mut params = Vec::new();
    for _ in 0..m {
        let step = 2f32.powi(-((rnd() % 8) as i32));
        let lo = -((rnd() % 200) as f32) * step;
        let q: Vec<i32> = (0..k)
            .map(|i| match (i, rnd() % 4) {
                (0, _) => 0,
                (1, _) => act_max as i32,
                (_, 0) => act_max as i32,
                (_, 1) => 0,
                _ => (rnd() % (act_max as u32 + 1)) as i32,
            })
            .collect();
        // A one-column row is constant: it quantizes to q = 0 with step 0.
        let q = if k == 1 { vec![0] } else { q };
        x.extend(q.iter().map(|&q| lo + step * q as f32));
        params.push(RowQuant {
            lo,
            step: if k == 1 { 0.0 } else { step },
        });
        qs.push(q);
    }
    (x, qs, params)
}

fn weights(n: usize, k: usize, seed: u64) -> QuantizedWeight {
    let mut s = seed.wrapping_add(11);
    let values = (0..n * k)
        .map(|i| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            match i % 5 {
                0 => 127,
                1 => -127,
                2 => -128,
                _ => (s >> 56) as u8 as i8,
            }
        })
        .collect();
    let scales = (0..n).map(|j| 2f32.powi(-(j as i32 % 9)) / 64.0).collect();
    QuantizedWeight::from_parts(values, scales, n, k).unwrap()
}

proptest! {
    #![proptest_config(config(48))]

    /// The whole layer on every kernel of this CPU: the integer product is exact, so the
    /// output equals the f64 dequantization of it up to the epilogue's f32 rounding.
    #[test]
    fn qlinear_matches_reference(
        m in 1usize..40, k in 1usize..150, n in 1usize..70, seed in 0u64..1000, epi in 0usize..3,
    ) {
        let w = weights(n, k, seed);
        let bias: Vec<f32> = (0..n).map(|j| j as f32 / 8.0 - 2.0).collect();
        let epilogue = [Epilogue::Store, Epilogue::Accumulate, Epilogue::Activate(Activation::Relu)][epi];
        for isa in QIsa::available() {
            let (x, q, p) = exact_rows(m, k, isa.act_max(), seed);
            let lin = QLinear::with_isa(w.clone(), Some(bias.clone()), isa).unwrap();
            let start: Vec<f32> = (0..m * n).map(|i| (i % 7) as f32 - 3.0).collect();
            let mut y = start.clone();
            lin.forward(&x, m, &mut y, epilogue);
            for r in 0..m {
                for j in 0..n {
                    let dot: i64 = (0..k).map(|kk| q[r][kk] as i64 * w.values[j * k + kk] as i64).sum();
                    let sum: i64 = (0..k).map(|kk| w.values[j * k + kk] as i64).sum();
                    let sw = w.scales[j] as f64;
                    let v = sw * (p[r].step as f64 * dot as f64 + p[r].lo as f64 * sum as f64) + bias[j] as f64;
                    let want = match epilogue {
                        Epilogue::Store => v,
                        Epilogue::Accumulate => v + start[r * n + j] as f64,
                        Epilogue::Activate(_) => v.max(0.0),
                    };
                    let mag = sw * (p[r].step as f64 * 255.0 + p[r].lo.abs() as f64) * 128.0 * k as f64;
                    let tol = 1e-6 * (mag + want.abs() + 1.0);
                    prop_assert!((y[r * n + j] as f64 - want).abs() <= tol,
                        "{:?} [{r},{j}]: {} vs {want}", isa, y[r * n + j]);
                }
            }
        }
    }
}

/// The threaded splits (output columns for one image, rows for a batch) give exactly the
/// single-thread result.
#[test]
fn threaded_splits_match_one_thread() {
    crate::threads::init(2);
    for (m, k, n) in [(197, 96, 200), (700, 64, 40)] {
        let w = weights(n, k, 5);
        let (x, _, _) = exact_rows(m, k, QIsa::detect().act_max(), 9);
        let lin = QLinear::new(w, None).unwrap();
        let mut y = vec![0.5f32; m * n];
        lin.forward(&x, m, &mut y, Epilogue::Accumulate);
        let mut one = vec![0.5f32; m * n];
        lin.forward_on(1, &x, m, &mut one, Epilogue::Accumulate);
        assert_eq!(y, one);
    }
}

/// Quantizing weights: the error is at most half a step per value, and −128 never appears.
#[test]
fn weight_quantization_error_is_half_a_step() {
    let (n, k) = (5, 301);
    let w: Vec<f32> = (0..n * k)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) / (1.0 + (i / k) as f32))
        .collect();
    let q = QuantizedWeight::quantize(&w, n, k).unwrap();
    let back = q.dequantize();
    for j in 0..n {
        for kk in 0..k {
            let i = j * k + kk;
            assert!((back[i] - w[i]).abs() <= q.scales[j] * 0.5 * (1.0 + 1e-5));
            assert!(q.values[i] >= -127);
        }
    }
    let zero = QuantizedWeight::quantize(&[0.0; 4], 1, 4).unwrap();
    assert_eq!((zero.values, zero.scales), (vec![0; 4], vec![0.0]));
}

/// The weight quantizer's rounding is `f32::round` (half away from zero), clamped, cast: on
/// every half-integer and its neighbours, on a sweep of all f32 bit patterns, and on NaN and
/// the infinities.
#[test]
fn weight_rounding_is_libm_round() {
    let want = |x: f32| x.round().clamp(-127.0, 127.0) as i8;
    let mut xs = vec![
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        0.0,
        -0.0,
        f32::MAX,
    ];
    for h in -300..=300 {
        let x = h as f32 + 0.5;
        xs.extend([
            x,
            f32::from_bits(x.to_bits() - 1),
            f32::from_bits(x.to_bits() + 1),
        ]);
    }
    xs.extend((0..u32::MAX / 9973).map(|i| f32::from_bits(i * 9973)));
    for x in xs {
        assert_eq!(
            super::quantize::to_i8(x),
            want(x),
            "{x:e} ({:#x})",
            x.to_bits()
        );
    }
}

/// `pack_b` puts each weight where its documented index says, zero elsewhere: every depth
/// remainder mod 4 and a partial last panel.
#[test]
fn pack_b_follows_its_layout() {
    for (n, k, nr) in [
        (5, 8, 4),
        (19, 9, 16),
        (17, 10, 16),
        (33, 11, 32),
        (3, 1, 16),
    ] {
        let values: Vec<i8> = (0..n * k).map(|i| ((i % 251) as i32 - 120) as i8).collect();
        let w = QuantizedWeight::from_parts(values.clone(), vec![1.0; n], n, k).unwrap();
        let k4 = k.div_ceil(4);
        let mut want = vec![0i8; n.div_ceil(nr) * k4 * nr * 4];
        for j in 0..n {
            for kk in 0..k {
                want[((j / nr * k4 + kk / 4) * nr + j % nr) * 4 + kk % 4] = values[j * k + kk];
            }
        }
        assert_eq!(pack_b(&w, nr), want, "n {n}, k {k}, nr {nr}");
    }
}

#[test]
fn concat_matches_quantizing_the_stack() {
    let (k, n) = (9, 4);
    let w: Vec<f32> = (0..2 * n * k).map(|i| (i as f32 * 0.37).sin()).collect();
    let a = QuantizedWeight::quantize(&w[..n * k], n, k).unwrap();
    let b = QuantizedWeight::quantize(&w[n * k..], n, k).unwrap();
    let ab = QuantizedWeight::concat(&[a, b]).unwrap();
    assert_eq!(ab, QuantizedWeight::quantize(&w, 2 * n, k).unwrap());
}

#[test]
fn wrong_lengths_are_errors() {
    let e = QuantizedWeight::from_parts(vec![0; 6], vec![1.0; 3], 2, 3).unwrap_err();
    assert_eq!(
        e.to_string(),
        "weight_scale: expected 2 values for [2, 3], found 3"
    );
    let e = QuantizedWeight::quantize(&[0.0; 5], 2, 3).unwrap_err();
    assert_eq!(
        e.to_string(),
        "weight: expected 6 values for [2, 3], found 5"
    );
}

/// The AVX2 row quantizer (when this CPU runs it) gives exactly the portable one's bytes and
/// parameters, NaN, ties and tails included.
#[test]
fn row_quantizers_agree() {
    use super::quantize::{quantize_row, quantize_row_any};
    for len in [1usize, 7, 8, 9, 31, 768, 3071] {
        let mut row: Vec<f32> = (0..len)
            .map(|i| ((i * 7919 % 1000) as f32 - 400.0) / 37.0)
            .collect();
        if len > 3 {
            row[3] = f32::NAN;
        }
        for qmax in [255.0, 127.0] {
            let (mut a, mut b) = (vec![0u8; len], vec![0u8; len]);
            let pa = quantize_row(&row, qmax, &mut a);
            let pb = quantize_row_any(&row, qmax, &mut b);
            assert_eq!((a, pa), (b, pb), "len {len}");
        }
    }
}

/// The `i16` packing (AVX2's exact kernel) holds the `u8` packing's values, each followed by
/// a zero byte, and the same row parameters: on any machine (packing needs no CPU feature).
#[test]
fn i16_packing_widens_the_u8_packing() {
    for (m, k) in [(1, 1), (7, 9), (13, 150)] {
        let (x, _, _) = exact_rows(m, k, 255, 4);
        let panels = m.div_ceil(MR);
        let pack = |isa: QIsa| {
            let mut a = vec![7u8; packed_a_len(m, k, isa)];
            let mut p = vec![RowQuant::default(); m];
            quantize_pack_a(&x, m, k, isa, 0..panels, &mut a, &mut p);
            (a, p)
        };
        let (narrow, pn) = pack(QIsa::Portable);
        let (wide, pw) = pack(QIsa::Avx2I16);
        assert_eq!(pn, pw);
        assert_eq!(
            wide,
            narrow.iter().flat_map(|&v| [v, 0]).collect::<Vec<u8>>()
        );
    }
}

proptest! {
    #![proptest_config(config(64))]

    /// The int8 epilogue gives the scalar form's values, bit for bit, on every f32 ISA this
    /// CPU has (emulated sixteen lanes included): partial columns, bias or not, residual or
    /// not.
    #[test]
    fn dequant_is_the_scalar_form_on_every_isa(
        rows in 1usize..=MR, cols in 1usize..=16, bias in any::<bool>(), accumulate in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let mut s = seed;
        let mut next = move || {
            s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (s >> 33) as i32
        };
        let nr = 16;
        let acc: Vec<i32> = (0..MR * nr).map(|_| next() % 2_000_000 - 1_000_000).collect();
        let params: Vec<RowQuant> = (0..rows)
            .map(|_| RowQuant { lo: (next() % 1000) as f32 / -300.0, step: (next() % 1000 + 1) as f32 / 9e4 })
            .collect();
        let mut f = |n: usize| -> Vec<f32> { (0..n).map(|_| (next() % 2000) as f32 / 997.0 - 1.0).collect() };
        let (scale, offset, b, start) = (f(cols), f(cols), f(cols), f(rows * cols));
        let t = QTile {
            acc: &acc, acc_ld: nr, rows, cols, params: &params, scale: &scale, offset: &offset,
            bias: bias.then_some(b.as_slice()), accumulate,
        };
        let run = |isa: Option<crate::gemm::Isa>| {
            let mut c = start.clone();
            // SAFETY: c holds rows × cols values; isa is supported (filtered below).
            unsafe {
                match isa {
                    Some(isa) => crate::dispatch::dequant(isa, c.as_mut_ptr(), cols, &t),
                    None => dequant_portable(c.as_mut_ptr(), cols, &t),
                }
            }
            c
        };
        let want = run(None);
        for isa in crate::gemm::Isa::ALL.into_iter().filter(|i| i.supported()) {
            let got = run(Some(isa));
            prop_assert!(got.iter().zip(&want).all(|(g, w)| g.to_bits() == w.to_bits()), "{isa}");
        }
    }
}

/// A layer on AVX2's pair tile with a residual (small weights but for a few quads of ±127 that
/// [`split_pairs`] must take apart), and one whose weights it would take too much of (the
/// one-group tile instead): both exact against the integer reference, on every kernel of this
/// CPU.
#[test]
fn pair_tile_layers_match_reference() {
    let (m, n, k) = (13, 40, 203);
    let mut values: Vec<i8> = (0..n * k).map(|i| (i * 37 % 81) as i8 - 40).collect();
    for (j, kk) in [(0, 0), (5, 8), (39, 192)] {
        for t in [0, 1, 4, 5] {
            values[j * k + kk + t] = if j % 2 == 0 { 127 } else { -127 };
        }
    }
    let scales = vec![1.0 / 64.0; n];
    let few = QuantizedWeight::from_parts(values, scales.clone(), n, k).unwrap();
    let many = weights(n, k, 3);
    for (w, pairs) in [(few, true), (many, false)] {
        for isa in QIsa::available() {
            let (x, q, p) = exact_rows(m, k, isa.act_max(), 8);
            let lin = QLinear::with_isa(w.clone(), None, isa).unwrap();
            if isa == QIsa::Avx2U7 {
                assert_eq!(lin.residual_len() > 0, pairs, "pairs {pairs}");
            }
            let mut y = vec![0f32; m * n];
            lin.forward(&x, m, &mut y, Epilogue::Store);
            for r in 0..m {
                for j in 0..n {
                    let row = &w.values[j * k..(j + 1) * k];
                    let dot: i64 = (0..k).map(|kk| q[r][kk] as i64 * row[kk] as i64).sum();
                    let sum: i64 = row.iter().map(|&v| v as i64).sum();
                    let sw = w.scales[j] as f64;
                    let want = sw * (p[r].step as f64 * dot as f64 + p[r].lo as f64 * sum as f64);
                    let mag = sw * (p[r].step as f64 * 255.0 + p[r].lo.abs() as f64) * 128.0;
                    let tol = 1e-6 * (mag * k as f64 + want.abs() + 1.0);
                    let got = y[r * n + j] as f64;
                    assert!(
                        (got - want).abs() <= tol,
                        "{isa:?} [{r},{j}]: {got} vs {want}"
                    );
                }
            }
        }
    }
}
