//! Eight-lane AVX2 + FMA forms of the element-wise maths (`exp`, `erf`, `tanh`, sigmoid and
//! the activations built on them), for the kernels that run them inside their own
//! `#[target_feature(enable = "avx2,fma")]` code.
//!
//! Each mirrors a scalar form in [`crate::activation`] (same reduction, same polynomial), so
//! the portable and vector paths agree to rounding; both are tested against f64.

#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use crate::Activation;

/// `e^x` per lane (about 2 ulp on [−87, 88], clamped outside): `x = n·ln 2 + r` with `n`
/// rounded to nearest, a degree-6 polynomial for `e^r`, and `2ⁿ` built in the exponent bits.
/// NaN stays NaN and `+∞` gives `+∞` (so `1/(1 + e^∞)` is 0, as in the scalar forms).
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub fn exp8(x: __m256) -> __m256 {
    let inf = _mm256_set1_ps(f32::INFINITY);
    let is_inf = _mm256_cmp_ps::<_CMP_EQ_OQ>(x, inf);
    // max/min return their second operand when either is NaN: `x` last keeps a NaN.
    let x = _mm256_min_ps(
        _mm256_set1_ps(88.0),
        _mm256_max_ps(_mm256_set1_ps(-87.0), x),
    );
    let n = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm256_mul_ps(
        x,
        _mm256_set1_ps(std::f32::consts::LOG2_E),
    ));
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693_145_75), x);
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428_606_8e-6), r);
    let mut p = _mm256_set1_ps(0.001_388_889);
    for c in [0.008_333_334, 0.041_666_668, 0.166_666_67, 0.5, 1.0, 1.0] {
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c));
    }
    let bits = _mm256_slli_epi32::<23>(_mm256_add_epi32(
        _mm256_cvtps_epi32(n),
        _mm256_set1_epi32(127),
    ));
    _mm256_blendv_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(bits)), inf, is_inf)
}

/// `erf(x)` per lane by Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7).
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub fn erf8(x: __m256) -> __m256 {
    let sign = _mm256_and_ps(x, _mm256_set1_ps(-0.0));
    // |x|, capped at 10 (erf is 1 in f32 long before) so that the Newton step below never
    // meets ∞·0; a NaN passes (second operand).
    let a = _mm256_min_ps(
        _mm256_set1_ps(10.0),
        _mm256_andnot_ps(_mm256_set1_ps(-0.0), x),
    );
    let one = _mm256_set1_ps(1.0);
    // t = 1/(1 + p·a): the 12-bit reciprocal estimate and one Newton step (≈ 23 bits),
    // cheaper than a division.
    let den = _mm256_fmadd_ps(_mm256_set1_ps(0.327_591_1), a, one);
    let r = _mm256_rcp_ps(den);
    let t = _mm256_mul_ps(r, _mm256_fnmadd_ps(den, r, _mm256_set1_ps(2.0)));
    let mut p = _mm256_set1_ps(1.061_405_4);
    for c in [-1.453_152, 1.421_413_8, -0.284_496_74, 0.254_829_6] {
        p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(c));
    }
    p = _mm256_mul_ps(p, t);
    let e = exp8(_mm256_xor_ps(_mm256_mul_ps(a, a), _mm256_set1_ps(-0.0)));
    let y = _mm256_fnmadd_ps(p, e, one);
    _mm256_or_ps(y, sign)
}

/// `1 / (1 + e^-x)` per lane.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub fn sigmoid8(x: __m256) -> __m256 {
    let one = _mm256_set1_ps(1.0);
    let e = exp8(_mm256_xor_ps(x, _mm256_set1_ps(-0.0)));
    _mm256_div_ps(one, _mm256_add_ps(one, e))
}

/// `tanh(x)` per lane: `1 − 2/(e^{2x} + 1)`, and its Taylor series `x − x³/3 + 2x⁵/15`
/// below |x| = 0.05 where the first form would cancel (absolute error below 1e-7).
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub fn tanh8(x: __m256) -> __m256 {
    let one = _mm256_set1_ps(1.0);
    let e = exp8(_mm256_add_ps(x, x));
    let big = _mm256_sub_ps(
        one,
        _mm256_div_ps(_mm256_set1_ps(2.0), _mm256_add_ps(e, one)),
    );
    let x2 = _mm256_mul_ps(x, x);
    let s = _mm256_fmadd_ps(x2, _mm256_set1_ps(2.0 / 15.0), _mm256_set1_ps(-1.0 / 3.0));
    let small = _mm256_fmadd_ps(_mm256_mul_ps(s, x2), x, x);
    let a = _mm256_andnot_ps(_mm256_set1_ps(-0.0), x);
    let is_small = _mm256_cmp_ps::<_CMP_LT_OQ>(a, _mm256_set1_ps(0.05));
    _mm256_blendv_ps(big, small, is_small)
}

/// `0.5·x·(1 + erf(x/√2))` per lane.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub fn gelu8(x: __m256) -> __m256 {
    let half_x = _mm256_mul_ps(_mm256_set1_ps(0.5), x);
    let e = erf8(_mm256_mul_ps(
        x,
        _mm256_set1_ps(std::f32::consts::FRAC_1_SQRT_2),
    ));
    _mm256_fmadd_ps(half_x, e, half_x)
}

/// `0.5·x·(1 + tanh(inner))` per lane, as the identity `x·sigmoid(2·inner)`: for negative
/// inputs `1 + tanh` cancels (its rounding, times `|x|/2`, reached 3e-7 at x = −3.5), the
/// sigmoid does not.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn half_x_one_plus_tanh(x: __m256, inner: __m256) -> __m256 {
    _mm256_mul_ps(x, sigmoid8(_mm256_add_ps(inner, inner)))
}

/// `row[j] = act(row[j] + bias[j])` on `rows` rows of `cols` values at stride `ld`, eight
/// lanes at a time (a short tail through a padded vector, so every element sees the same
/// approximation). Mish, which has no vector form here, runs the scalar one.
///
/// # Safety
/// The rows must be valid for reads and writes and not be touched by anyone else meanwhile;
/// `bias`, if given, must hold at least `cols` values. The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn bias_act(
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
        (|$v:ident| $f:expr) => {{
            for r in 0..rows {
                // SAFETY: row r, as the caller guarantees.
                let row = unsafe { std::slice::from_raw_parts_mut(c.add(r * ld), cols) };
                let mut j = 0;
                while j + 16 <= cols {
                    // SAFETY: j + 16 ≤ cols values of the row (and of bias, asserted).
                    unsafe {
                        let p = row.as_mut_ptr().add(j);
                        let (mut v0, mut v1) = (_mm256_loadu_ps(p), _mm256_loadu_ps(p.add(8)));
                        if let Some(b) = bias {
                            v0 = _mm256_add_ps(v0, _mm256_loadu_ps(b.as_ptr().add(j)));
                            v1 = _mm256_add_ps(v1, _mm256_loadu_ps(b.as_ptr().add(j + 8)));
                        }
                        let $v = v0;
                        let r0 = $f;
                        let $v = v1;
                        let r1 = $f;
                        _mm256_storeu_ps(p, r0);
                        _mm256_storeu_ps(p.add(8), r1);
                    }
                    j += 16;
                }
                while j < cols {
                    let n = (cols - j).min(8);
                    let mut buf = [0.0f32; 8];
                    buf[..n].copy_from_slice(&row[j..j + n]);
                    if let Some(b) = bias {
                        buf.iter_mut().zip(&b[j..j + n]).for_each(|(v, b)| *v += b);
                    }
                    // SAFETY: buf holds eight values.
                    let $v = unsafe { _mm256_loadu_ps(buf.as_ptr()) };
                    let r = $f;
                    // SAFETY: as above.
                    unsafe { _mm256_storeu_ps(buf.as_mut_ptr(), r) };
                    row[j..j + n].copy_from_slice(&buf[..n]);
                    j += n;
                }
            }
        }};
    }
    let one = _mm256_set1_ps(1.0);
    match act {
        Activation::Gelu => run!(|x| gelu8(x)),
        Activation::GeluTanh => run!(|x| {
            let x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
            let inner = _mm256_fmadd_ps(_mm256_set1_ps(0.044715), x3, x);
            let c = _mm256_set1_ps((2.0f32 / std::f32::consts::PI).sqrt());
            half_x_one_plus_tanh(x, _mm256_mul_ps(c, inner))
        }),
        Activation::GeluFast => run!(|x| {
            let x2 = _mm256_mul_ps(x, x);
            let inner = _mm256_mul_ps(
                _mm256_mul_ps(x, _mm256_set1_ps(0.797_884_6)),
                _mm256_fmadd_ps(_mm256_set1_ps(0.044715), x2, one),
            );
            half_x_one_plus_tanh(x, inner)
        }),
        Activation::QuickGelu => {
            run!(|x| _mm256_mul_ps(x, sigmoid8(_mm256_mul_ps(_mm256_set1_ps(1.702), x))))
        }
        Activation::Silu => run!(|x| _mm256_mul_ps(x, sigmoid8(x))),
        Activation::Sigmoid => run!(|x| sigmoid8(x)),
        Activation::Tanh => run!(|x| tanh8(x)),
        // `x` as the second operand of max/min, which is what they return for a NaN.
        Activation::Relu => run!(|x| _mm256_max_ps(_mm256_setzero_ps(), x)),
        Activation::Relu6 => {
            run!(|x| _mm256_min_ps(_mm256_set1_ps(6.0), _mm256_max_ps(_mm256_setzero_ps(), x)))
        }
        Activation::Identity => run!(|x| x),
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

/// Applies `act` to every element of `xs` in place ([`bias_act`] on one row, no bias).
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub fn apply_slice(act: Activation, xs: &mut [f32]) {
    // SAFETY: xs is a unique borrow of xs.len() values.
    unsafe { bias_act(xs.as_mut_ptr(), xs.len(), 1, xs.len(), None, act) }
}

/// Replaces `row` by `exp(scale · (row − max(row)))` and returns the sum of the new values:
/// softmax without its last division, for callers that divide something smaller instead.
/// An eight-lane max, `exp8` with eight partial sums.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub fn exp_row(row: &mut [f32], scale: f32) -> f32 {
    let n = row.len();
    let full = n / 8 * 8;
    let p = row.as_mut_ptr();
    let mut vmax = _mm256_set1_ps(f32::NEG_INFINITY);
    for j in (0..full).step_by(8) {
        // SAFETY: j + 8 ≤ n.
        vmax = _mm256_max_ps(vmax, unsafe { _mm256_loadu_ps(p.add(j)) });
    }
    let mut lanes = [0.0f32; 8];
    // SAFETY: lanes holds eight values.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), vmax) };
    let max = lanes
        .iter()
        .chain(&row[full..])
        .copied()
        .fold(f32::NEG_INFINITY, f32::max);
    let (vm, vs) = (_mm256_set1_ps(max), _mm256_set1_ps(scale));
    let mut vsum = _mm256_setzero_ps();
    for j in (0..full).step_by(8) {
        // SAFETY: j + 8 ≤ n.
        unsafe {
            let e = exp8(_mm256_mul_ps(
                _mm256_sub_ps(_mm256_loadu_ps(p.add(j)), vm),
                vs,
            ));
            _mm256_storeu_ps(p.add(j), e);
            vsum = _mm256_add_ps(vsum, e);
        }
    }
    let mut tail_sum = 0.0f32;
    if full < n {
        let mut buf = [f32::NEG_INFINITY; 8];
        buf[..n - full].copy_from_slice(&row[full..]);
        // SAFETY: buf holds eight values.
        unsafe {
            let e = exp8(_mm256_mul_ps(
                _mm256_sub_ps(_mm256_loadu_ps(buf.as_ptr()), vm),
                vs,
            ));
            _mm256_storeu_ps(buf.as_mut_ptr(), e);
        }
        row[full..].copy_from_slice(&buf[..n - full]);
        tail_sum = row[full..].iter().sum();
    }
    // SAFETY: lanes holds eight values.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), vsum) };
    lanes.iter().sum::<f32>() + tail_sum
}
