//! The element-wise maths on vectors (`exp`, `erf`, `tanh`, sigmoid and the activations built
//! on them, the bias + activation epilogue, softmax's exponentials), written once over
//! [`Lanes`] and run by every vector ISA (AVX2, AVX-512, the emulated sixteen lanes).
//!
//! Each mirrors a scalar form in [`crate::activation`] (same reduction, same polynomial), so
//! the portable and vector paths agree to rounding; both are tested against f64. NaN stays
//! NaN and ±∞ gives what the portable path gives (the clamps put the value last, see
//! [`crate::lanes`]).

use crate::lanes::{load_partial, store_partial, Lanes};
use crate::Activation;

/// `e^x` per lane (about 2 ulp on [−87, 88], clamped outside): `x = n·ln 2 + r` with `n`
/// rounded to nearest, a degree-6 polynomial for `e^r`, and `2ⁿ` built in the exponent bits.
/// NaN stays NaN and `+∞` gives `+∞` (so `1/(1 + e^∞)` is 0 and `−∞·sigmoid(−∞)` NaN, as in
/// the scalar forms).
#[inline(always)]
pub(crate) fn exp<V: Lanes>(input: V) -> V {
    let x = V::splat(88.0).min(V::splat(-87.0).max(input));
    let inf = V::splat(f32::INFINITY);
    input.select_eq(inf, inf, exp_in_range(x))
}

/// [`exp`] without its clamp and `+∞` case, for `x` in `[−87, 88]` (or NaN, which stays NaN):
/// the same value there, four operations fewer.
#[inline(always)]
fn exp_in_range<V: Lanes>(x: V) -> V {
    let n = x.mul(V::splat(std::f32::consts::LOG2_E)).round();
    let r = n.fnma(V::splat(0.693_145_75), x);
    let r = n.fnma(V::splat(1.428_606_8e-6), r);
    let mut p = V::splat(0.001_388_889);
    for c in [0.008_333_334, 0.041_666_668, 0.166_666_67, 0.5, 1.0, 1.0] {
        p = p.fma(r, V::splat(c));
    }
    // A NaN's n converts to an arbitrary integer; p is NaN, so the product is too.
    p.mul(n.pow2i())
}

/// `erf(x)` per lane by Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7).
#[inline(always)]
pub(crate) fn erf<V: Lanes>(x: V) -> V {
    let sign = x.sign();
    // erf is 1 in f32 from |x| = 4; capping there keeps the reciprocal step finite at ∞
    // (and a NaN, last, stays NaN).
    let a = V::splat(8.0).min(x.abs());
    let one = V::splat(1.0);
    // t = 1/(1 + p·a): the reciprocal estimate and one Newton step (≈ 23 bits), cheaper
    // than a division.
    let den = V::splat(0.327_591_1).fma(a, one);
    let r = den.rcp();
    let t = r.mul(den.fnma(r, V::splat(2.0)));
    let mut p = V::splat(1.061_405_4);
    for c in [-1.453_152, 1.421_413_8, -0.284_496_74, 0.254_829_6] {
        p = p.fma(t, V::splat(c));
    }
    p = p.mul(t);
    // −a² lies in [−64, 0], where exp's clamp changes nothing.
    let e = exp_in_range(a.mul(a).neg());
    p.fnma(e, one).or(sign)
}

/// `1 / (1 + e^-x)` per lane.
#[inline(always)]
pub(crate) fn sigmoid<V: Lanes>(x: V) -> V {
    let one = V::splat(1.0);
    one.div(one.add(exp(x.neg())))
}

/// `tanh(x)` per lane: `1 − 2/(e^{2x} + 1)`, and its Taylor series `x − x³/3 + 2x⁵/15`
/// below |x| = 0.05 where the first form would cancel (absolute error below 1e-7).
#[inline(always)]
pub(crate) fn tanh<V: Lanes>(x: V) -> V {
    let one = V::splat(1.0);
    let e = exp(x.add(x));
    let big = one.sub(V::splat(2.0).div(e.add(one)));
    let x2 = x.mul(x);
    let s = x2.fma(V::splat(2.0 / 15.0), V::splat(-1.0 / 3.0));
    let small = s.mul(x2).fma(x, x);
    x.abs().select_lt(V::splat(0.05), small, big)
}

/// `0.5·x·(1 + erf(x/√2))` per lane.
#[inline(always)]
pub(crate) fn gelu<V: Lanes>(x: V) -> V {
    let half_x = V::splat(0.5).mul(x);
    let e = erf(x.mul(V::splat(std::f32::consts::FRAC_1_SQRT_2)));
    half_x.fma(e, half_x)
}

/// `0.5·x·(1 + tanh(inner))` per lane, as the identity `x·sigmoid(2·inner)`: for negative
/// inputs `1 + tanh` cancels (its rounding, times `|x|/2`, reached 3e-7 at x = −3.5), the
/// sigmoid does not.
#[inline(always)]
fn half_x_one_plus_tanh<V: Lanes>(x: V, inner: V) -> V {
    x.mul(sigmoid(inner.add(inner)))
}

/// The tanh GELU (`gelu_pytorch_tanh`), through [`half_x_one_plus_tanh`].
#[inline(always)]
fn gelu_tanh<V: Lanes>(x: V) -> V {
    let x3 = x.mul(x).mul(x);
    let inner = V::splat(0.044715).fma(x3, x);
    let c = V::splat((2.0f32 / std::f32::consts::PI).sqrt());
    half_x_one_plus_tanh(x, c.mul(inner))
}

/// `gelu_fast`, through [`half_x_one_plus_tanh`].
#[inline(always)]
fn gelu_fast<V: Lanes>(x: V) -> V {
    let x2 = x.mul(x);
    let inner = x
        .mul(V::splat(0.797_884_6))
        .mul(V::splat(0.044715).fma(x2, V::splat(1.0)));
    half_x_one_plus_tanh(x, inner)
}

/// `x·sigmoid(1.702·x)`.
#[inline(always)]
fn quick_gelu<V: Lanes>(x: V) -> V {
    x.mul(sigmoid(V::splat(1.702).mul(x)))
}

/// `x·sigmoid(x)`.
#[inline(always)]
fn silu<V: Lanes>(x: V) -> V {
    x.mul(sigmoid(x))
}

/// `max(x, 0)`; NaN stays NaN (`x` is the operand x86 `max` returns for a NaN), as in the
/// portable form.
#[inline(always)]
fn relu<V: Lanes>(x: V) -> V {
    V::splat(0.0).max(x)
}

/// `min(max(x, 0), 6)`.
#[inline(always)]
fn relu6<V: Lanes>(x: V) -> V {
    V::splat(6.0).min(relu(x))
}

#[inline(always)]
fn identity<V: Lanes>(x: V) -> V {
    x
}

/// The int8 GEMM's epilogue on one tile ([`crate::qgemm::QTile`]) into `c` (rows `ld`
/// apart): the operations of the scalar form (`qgemm::linear::dequant_portable`), in its
/// order, so every ISA gives the same values.
///
/// # Safety
/// `c` must be valid for `t.rows` rows of `t.cols` values `ld` apart.
#[inline(always)]
pub(crate) unsafe fn dequant<V: Lanes>(c: *mut f32, ld: usize, t: &crate::qgemm::QTile<'_>) {
    t.check(V::N);
    if t.cols.is_multiple_of(V::N) {
        // SAFETY: forwarded; the columns are whole vectors.
        unsafe {
            match (t.bias, t.accumulate) {
                (None, false) => dequant_whole::<V, false, false>(c, ld, t),
                (None, true) => dequant_whole::<V, false, true>(c, ld, t),
                (Some(_), false) => dequant_whole::<V, true, false>(c, ld, t),
                (Some(_), true) => dequant_whole::<V, true, true>(c, ld, t),
            }
        }
        return;
    }
    for (r, q) in t.params.iter().enumerate().take(t.rows) {
        let (step, lo) = (V::splat(q.step), V::splat(q.lo));
        // SAFETY: row r of c, as the caller guarantees.
        let crow = unsafe { c.add(r * ld) };
        let arow = &t.acc[r * t.acc_ld..];
        let mut j = 0;
        while j < t.cols {
            let n = (t.cols - j).min(V::N);
            let part = |s: &[f32]| -> V {
                match n == V::N {
                    // SAFETY: j + N ≤ cols values of s (checked).
                    true => unsafe { V::load(s.as_ptr().add(j)) },
                    false => load_partial(&s[j..j + n], 0.0),
                }
            };
            assert!(arow.len() >= j + V::N);
            // SAFETY: N values of the row from j (asserted).
            let a = unsafe { V::load_i32(arow.as_ptr().add(j)) };
            let mut v = dequant_lanes(step, lo, part(t.scale), a, part(t.offset));
            if let Some(b) = t.bias {
                v = v.add(part(b));
            }
            // SAFETY: j + n ≤ cols values of c's row r.
            let out = unsafe { std::slice::from_raw_parts_mut(crow.add(j), n) };
            if t.accumulate {
                v = part_of::<V>(out).add(v);
            }
            match n == V::N {
                // SAFETY: out holds N values.
                true => unsafe { v.store(out.as_mut_ptr()) },
                false => store_partial(v, out),
            }
            j += n;
        }
    }
}

/// `step·scale·acc + lo·offset`, lane by lane, in the scalar form's order: both paths of
/// [`dequant`] compute each value through this.
#[inline(always)]
fn dequant_lanes<V: Lanes>(step: V, lo: V, scale: V, acc: V, offset: V) -> V {
    step.mul(scale).mul(acc).add(lo.mul(offset))
}

/// [`dequant`] where the tile's columns are whole vectors (every tile but a layer's last
/// column panel): no partial loads, bias and residual decided outside the loop (`BIAS` only
/// with `t.bias`), the same operations in the same order.
///
/// # Safety
/// As [`dequant`], with `t.cols` a multiple of `V::N` and [`crate::qgemm::QTile::check`]ed.
#[inline(always)]
unsafe fn dequant_whole<V: Lanes, const BIAS: bool, const ACCUMULATE: bool>(
    c: *mut f32,
    ld: usize,
    t: &crate::qgemm::QTile<'_>,
) {
    let bias = t.bias.unwrap_or(&[]);
    for (r, q) in t.params.iter().enumerate().take(t.rows) {
        let (step, lo) = (V::splat(q.step), V::splat(q.lo));
        // SAFETY (loop body): row r of c holds cols values (the caller's); acc's row r, scale,
        // offset and (with BIAS) bias hold cols values from j (checked by t.check).
        unsafe {
            let crow = c.add(r * ld);
            let arow = t.acc.as_ptr().add(r * t.acc_ld);
            for j in (0..t.cols).step_by(V::N) {
                let a = V::load_i32(arow.add(j));
                let s = V::load(t.scale.as_ptr().add(j));
                let o = V::load(t.offset.as_ptr().add(j));
                let mut v = dequant_lanes(step, lo, s, a, o);
                if BIAS {
                    v = v.add(V::load(bias.as_ptr().add(j)));
                }
                if ACCUMULATE {
                    v = V::load(crow.add(j)).add(v);
                }
                v.store(crow.add(j));
            }
        }
    }
}

/// The first `out.len() ≤ N` lanes from `out`, the rest zero.
#[inline(always)]
fn part_of<V: Lanes>(out: &[f32]) -> V {
    match out.len() == V::N {
        // SAFETY: out holds N values.
        true => unsafe { V::load(out.as_ptr()) },
        false => load_partial(out, 0.0),
    }
}

/// `row[j] = act(row[j] + bias[j])` on `rows` rows of `cols` values at stride `ld`, four
/// vectors at a time, then one (a short tail through a padded vector, so every element sees
/// the same approximation). Mish, which has no vector form here, runs the scalar one.
///
/// # Safety
/// The rows must be valid for reads and writes and not be touched by anyone else meanwhile;
/// `bias`, if given, must hold at least `cols` values. `V`'s ISA must be present.
#[inline(always)]
pub(crate) unsafe fn bias_act<V: Lanes>(
    c: *mut f32,
    ld: usize,
    rows: usize,
    cols: usize,
    bias: Option<&[f32]>,
    act: Activation,
) {
    if let Some(b) = bias {
        assert!(b.len() >= cols, "bias shorter than a row");
    }
    macro_rules! run {
        ($f:expr) => {{
            let f = $f;
            for r in 0..rows {
                // SAFETY: row r, as the caller guarantees.
                let row = unsafe { std::slice::from_raw_parts_mut(c.add(r * ld), cols) };
                let mut j = 0;
                // Four vectors a step: their chains (erf's and exp's polynomials) are
                // independent, and four in flight kept the FP pipes fuller than two (GELU on
                // AVX2, Zen 3: 2.3 instead of 2.9 cycles per value; eight spill registers).
                while j + 4 * V::N <= cols {
                    // SAFETY: j + 4N ≤ cols values of the row (and of bias, asserted).
                    unsafe {
                        let p = row.as_mut_ptr().add(j);
                        let mut v = [
                            V::load(p),
                            V::load(p.add(V::N)),
                            V::load(p.add(2 * V::N)),
                            V::load(p.add(3 * V::N)),
                        ];
                        if let Some(b) = bias {
                            for (q, v) in v.iter_mut().enumerate() {
                                *v = v.add(V::load(b.as_ptr().add(j + q * V::N)));
                            }
                        }
                        // Spelled out, not mapped: a closure would not inherit the ISA.
                        let v = [f(v[0]), f(v[1]), f(v[2]), f(v[3])];
                        for (q, v) in v.iter().enumerate() {
                            v.store(p.add(q * V::N));
                        }
                    }
                    j += 4 * V::N;
                }
                while j + V::N <= cols {
                    // SAFETY: j + N ≤ cols values of the row (and of bias, asserted).
                    unsafe {
                        let p = row.as_mut_ptr().add(j);
                        let mut v = V::load(p);
                        if let Some(b) = bias {
                            v = v.add(V::load(b.as_ptr().add(j)));
                        }
                        f(v).store(p);
                    }
                    j += V::N;
                }
                while j < cols {
                    let n = (cols - j).min(V::N);
                    let mut v: V = load_partial(&row[j..j + n], 0.0);
                    if let Some(b) = bias {
                        v = v.add(load_partial(&b[j..j + n], 0.0));
                    }
                    store_partial(f(v), &mut row[j..j + n]);
                    j += n;
                }
            }
        }};
    }
    // Named functions, not closures: a closure is its own function, which would not inherit
    // the ISA's target features if the compiler chose not to inline it.
    match act {
        Activation::Identity if bias.is_none() => {}
        Activation::Identity => run!(identity::<V>),
        Activation::Gelu => run!(gelu::<V>),
        Activation::GeluTanh => run!(gelu_tanh::<V>),
        Activation::GeluFast => run!(gelu_fast::<V>),
        Activation::QuickGelu => run!(quick_gelu::<V>),
        Activation::Silu => run!(silu::<V>),
        Activation::Sigmoid => run!(sigmoid::<V>),
        Activation::Tanh => run!(tanh::<V>),
        Activation::Relu => run!(relu::<V>),
        Activation::Relu6 => run!(relu6::<V>),
        Activation::Mish => {
            for r in 0..rows {
                // SAFETY: row r, as the caller guarantees.
                let row = unsafe { std::slice::from_raw_parts_mut(c.add(r * ld), cols) };
                if let Some(b) = bias {
                    row.iter_mut().zip(b).for_each(|(v, b)| *v += b);
                }
                row.iter_mut().for_each(|x| *x = act.apply(*x));
            }
        }
    }
}

/// Replaces `row` by `exp(scale · (row − max(row)))` and returns the sum of the new values:
/// softmax without its last division, for callers that divide something smaller instead.
/// A vector max, then `exp` with one vector of partial sums.
#[inline(always)]
pub(crate) fn exp_row<V: Lanes>(row: &mut [f32], scale: f32) -> f32 {
    let n = row.len();
    let full = n / V::N * V::N;
    let p = row.as_mut_ptr();
    let mut vmax = V::splat(f32::NEG_INFINITY);
    for j in (0..full).step_by(V::N) {
        // SAFETY: j + N ≤ n.
        vmax = vmax.max(unsafe { V::load(p.add(j)) });
    }
    let max = row[full..]
        .iter()
        .copied()
        .fold(vmax.reduce_max(), f32::max);
    let (vm, vs) = (V::splat(max), V::splat(scale));
    let mut vsum = V::splat(0.0);
    for j in (0..full).step_by(V::N) {
        // SAFETY: j + N ≤ n.
        unsafe {
            let e = exp(V::load(p.add(j)).sub(vm).mul(vs));
            e.store(p.add(j));
            vsum = vsum.add(e);
        }
    }
    let mut tail_sum = 0.0f32;
    if full < n {
        let v: V = load_partial(&row[full..], f32::NEG_INFINITY);
        store_partial(exp(v.sub(vm).mul(vs)), &mut row[full..]);
        tail_sum = row[full..].iter().sum();
    }
    vsum.reduce_add() + tail_sum
}
