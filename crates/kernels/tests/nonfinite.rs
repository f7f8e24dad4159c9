//! NaN and ±∞ go through every activation the same way on the vector (AVX2) path and the
//! portable one: a NaN stays NaN (never a plausible value such as tanh's −1), and infinities
//! give the same result (the same infinity, the same NaN, or the same finite value).

use proptest::prelude::*;
use vitrs_kernels::Activation;

const ALL: [Activation; 11] = [
    Activation::Gelu,
    Activation::GeluTanh,
    Activation::GeluFast,
    Activation::QuickGelu,
    Activation::Relu,
    Activation::Relu6,
    Activation::Silu,
    Activation::Mish,
    Activation::Tanh,
    Activation::Sigmoid,
    Activation::Identity,
];

/// Mostly special values, some ordinary ones, some near the ends of `exp`'s range.
fn value() -> impl Strategy<Value = f32> {
    prop_oneof![
        Just(f32::NAN),
        Just(-f32::NAN),
        Just(f32::INFINITY),
        Just(f32::NEG_INFINITY),
        Just(0.0f32),
        Just(-0.0f32),
        Just(f32::MAX),
        Just(f32::MIN),
        -100.0f32..100.0,
        -1e30f32..1e30,
    ]
}

fn same(a: f32, b: f32, x: f32) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a.is_infinite() || b.is_infinite() {
        return a == b;
    }
    (a - b).abs() <= 1e-6 * (1.0 + x.abs().min(1e30))
}

fn check(act: Activation, xs: &[f32]) -> Result<(), TestCaseError> {
    let mut vector = xs.to_vec();
    act.apply_slice(&mut vector);
    let mut portable = xs.to_vec();
    act.apply_slice_portable(&mut portable);
    for ((&x, &v), &p) in xs.iter().zip(&vector).zip(&portable) {
        prop_assert!(same(v, p, x), "{act}({x}): vector {v}, portable {p}");
        if x.is_nan() {
            prop_assert!(v.is_nan(), "{act}(NaN) gave {v}");
        }
    }
    Ok(())
}

#[test]
fn nan_is_never_turned_into_a_number() {
    for act in ALL {
        let mut xs = vec![f32::NAN; 19];
        act.apply_slice(&mut xs);
        assert!(xs.iter().all(|v| v.is_nan()), "{act}: {xs:?}");
    }
}

#[test]
fn infinities_agree_between_the_paths() {
    for act in ALL {
        check(act, &[f32::INFINITY; 9]).unwrap();
        check(act, &[f32::NEG_INFINITY; 9]).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, rng_seed: proptest::test_runner::RngSeed::Fixed(12), ..ProptestConfig::default() })]

    #[test]
    fn vector_and_portable_agree_on_non_finite_values(
        act in proptest::sample::select(ALL.to_vec()),
        xs in proptest::collection::vec(value(), 1..40),
    ) {
        check(act, &xs)?;
    }
}
