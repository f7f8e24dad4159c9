//! Element-wise activations, named as in transformers' `ACT2FN`.

use std::fmt;
use std::str::FromStr;

/// An activation function from transformers' `ACT2FN` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Activation {
    /// `0.5·x·(1 + erf(x/√2))` (`gelu`, `gelu_python`).
    Gelu,
    /// `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))` (`gelu_new`, `gelu_pytorch_tanh`,
    /// `gelu_accurate`).
    GeluTanh,
    /// `0.5·x·(1 + tanh(x·0.7978845608·(1 + 0.044715·x²)))` (`gelu_fast`).
    GeluFast,
    /// `x·sigmoid(1.702·x)` (`quick_gelu`).
    QuickGelu,
    /// `max(x, 0)`.
    Relu,
    /// `min(max(x, 0), 6)`.
    Relu6,
    /// `x·sigmoid(x)` (`silu`, `swish`).
    Silu,
    /// `x·tanh(softplus(x))`.
    Mish,
    /// `tanh(x)`.
    Tanh,
    /// `1/(1 + e^-x)`.
    Sigmoid,
    /// The identity (`linear`).
    Identity,
}

/// Names accepted by [`Activation::from_str`], for error messages.
pub const ACTIVATION_NAMES: &[&str] = &[
    "gelu",
    "gelu_python",
    "gelu_new",
    "gelu_pytorch_tanh",
    "gelu_accurate",
    "gelu_fast",
    "quick_gelu",
    "relu",
    "relu6",
    "silu",
    "swish",
    "mish",
    "tanh",
    "sigmoid",
    "linear",
];

/// An activation name that is not in [`ACTIVATION_NAMES`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported activation {found:?}; expected one of {}", ACTIVATION_NAMES.join(", "))]
pub struct UnknownActivation {
    /// The name found.
    pub found: String,
}

impl FromStr for Activation {
    type Err = UnknownActivation;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Ok(match name {
            "gelu" | "gelu_python" => Activation::Gelu,
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_accurate" => Activation::GeluTanh,
            "gelu_fast" => Activation::GeluFast,
            "quick_gelu" => Activation::QuickGelu,
            "relu" => Activation::Relu,
            "relu6" => Activation::Relu6,
            "silu" | "swish" => Activation::Silu,
            "mish" => Activation::Mish,
            "tanh" => Activation::Tanh,
            "sigmoid" => Activation::Sigmoid,
            "linear" => Activation::Identity,
            _ => {
                return Err(UnknownActivation {
                    found: name.to_string(),
                })
            }
        })
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Activation::Gelu => "gelu",
            Activation::GeluTanh => "gelu_pytorch_tanh",
            Activation::GeluFast => "gelu_fast",
            Activation::QuickGelu => "quick_gelu",
            Activation::Relu => "relu",
            Activation::Relu6 => "relu6",
            Activation::Silu => "silu",
            Activation::Mish => "mish",
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
            Activation::Identity => "linear",
        };
        f.write_str(name)
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

impl Activation {
    /// Applies the activation to one value.
    #[inline]
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Activation::Gelu => 0.5 * x * (1.0 + libm::erff(x * std::f32::consts::FRAC_1_SQRT_2)),
            Activation::GeluTanh => {
                let c = (2.0f32 / std::f32::consts::PI).sqrt();
                0.5 * x * (1.0 + (c * (x + 0.044715 * x * x * x)).tanh())
            }
            Activation::GeluFast => {
                0.5 * x * (1.0 + (x * 0.797_884_6 * (1.0 + 0.044715 * x * x)).tanh())
            }
            Activation::QuickGelu => x * sigmoid(1.702 * x),
            // Not `x.max(0.0)`, which turns NaN into 0.
            Activation::Relu => {
                if x < 0.0 {
                    0.0
                } else {
                    x
                }
            }
            Activation::Relu6 => x.clamp(0.0, 6.0),
            Activation::Silu => x * sigmoid(x),
            Activation::Mish => x * libm::log1pf(x.exp()).tanh(),
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => sigmoid(x),
            Activation::Identity => x,
        }
    }

    /// Applies the activation to every element of `xs` in place, on the kernels' vector ISA
    /// (`crate::simd`; Mish stays scalar), and otherwise in
    /// portable Rust (the erf GELU, the MLP's activation in nearly every ViT, in a form the
    /// compiler vectorises). Every path is within 2e-7·(1 + |x|) of the exact function.
    pub fn apply_slice(self, xs: &mut [f32]) {
        self.apply_slice_on(crate::gemm::detect(), xs);
    }

    /// [`Activation::apply_slice`] on a chosen ISA (tests compare them).
    ///
    /// # Panics
    /// If the CPU does not support `isa`.
    pub fn apply_slice_on(self, isa: crate::gemm::Isa, xs: &mut [f32]) {
        assert!(isa.supported(), "{isa} kernels on a CPU without them");
        // SAFETY: isa is supported (asserted); xs is a unique borrow of xs.len() values.
        unsafe {
            crate::dispatch::bias_act(isa, xs.as_mut_ptr(), xs.len(), 1, xs.len(), None, self)
        };
    }

    /// [`Activation::apply_slice`] without SIMD intrinsics (the fallback, tested everywhere).
    pub fn apply_slice_portable(self, xs: &mut [f32]) {
        match self {
            Activation::Identity => {}
            Activation::Gelu => gelu_loop(xs),
            _ => xs.iter_mut().for_each(|x| *x = self.apply(*x)),
        }
    }
}

/// `e^x` for the vectorised kernels: round `x·log₂e` with the 1.5·2²³ trick, reduce with a
/// two-part ln 2, a degree-6 polynomial, and scale by 2ⁿ through the exponent bits
/// (about 2 ulp on [−87, 88]; flushes to 0 below).
#[inline(always)]
pub(crate) fn exp_approx(x: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let n = (x * std::f32::consts::LOG2_E + MAGIC) - MAGIC;
    let r = x - n * 0.693_145_75 - n * 1.428_606_8e-6;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (0.166_666_67
                    + r * (0.041_666_668 + r * (0.008_333_334 + r * 0.001_388_889)))));
    p * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// `erf(x)` by Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7), branch-free so it
/// vectorises.
#[inline(always)]
fn erf_approx(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t
        * (0.254_829_6
            + t * (-0.284_496_74 + t * (1.421_413_8 + t * (-1.453_152 + t * 1.061_405_4))));
    let y = 1.0 - poly * exp_approx(-a * a);
    y.copysign(x)
}

#[inline(always)]
fn gelu_loop(xs: &mut [f32]) {
    for x in xs {
        *x = 0.5 * *x * (1.0 + erf_approx(*x * std::f32::consts::FRAC_1_SQRT_2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gelu_f64(x: f64) -> f64 {
        0.5 * x * (1.0 + libm::erf(x / std::f64::consts::SQRT_2))
    }

    #[test]
    fn vectorised_gelu_and_exp_match_f64() {
        let xs: Vec<f32> = (-12000..12000).map(|i| i as f32 / 1000.0).collect();
        let mut fast = xs.clone();
        Activation::Gelu.apply_slice(&mut fast);
        let mut portable = xs.clone();
        gelu_loop(&mut portable);
        for ((&x, &f), &p) in xs.iter().zip(&fast).zip(&portable) {
            let want = gelu_f64(x as f64);
            assert!(
                (f as f64 - want).abs() <= 2e-7 * (1.0 + x.abs() as f64),
                "{x}: {f} vs {want}"
            );
            assert!(
                (p as f64 - want).abs() <= 2e-7 * (1.0 + x.abs() as f64),
                "{x}: {p} vs {want}"
            );
        }
        for i in -8600..8800 {
            let x = i as f32 / 100.0;
            let want = (x as f64).exp();
            assert!(
                ((exp_approx(x) as f64) - want).abs() <= 3e-7 * want,
                "exp {x}"
            );
        }
    }

    fn reference_f64(act: Activation, x: f64) -> f64 {
        let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
        match act {
            Activation::Gelu => gelu_f64(x),
            Activation::GeluTanh => {
                0.5 * x
                    * (1.0
                        + ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x * x * x)).tanh())
            }
            Activation::GeluFast => {
                0.5 * x * (1.0 + (x * 0.7978845608 * (1.0 + 0.044715 * x * x)).tanh())
            }
            Activation::QuickGelu => x * sigmoid(1.702 * x),
            // Not `x.max(0.0)`, which turns NaN into 0.
            Activation::Relu => {
                if x < 0.0 {
                    0.0
                } else {
                    x
                }
            }
            Activation::Relu6 => x.clamp(0.0, 6.0),
            Activation::Silu => x * sigmoid(x),
            Activation::Mish => x * (x.exp().ln_1p()).tanh(),
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => sigmoid(x),
            Activation::Identity => x,
        }
    }

    /// The first value where `act` on any ISA this CPU runs (the emulated sixteen lanes
    /// included) or on the portable path is further than 3e-7·(1 + |want|) from f64, if any.
    fn first_miss(act: Activation, xs: &[f32]) -> Option<String> {
        let mut portable = xs.to_vec();
        act.apply_slice_portable(&mut portable);
        for isa in crate::gemm::Isa::available() {
            let mut fast = xs.to_vec();
            act.apply_slice_on(isa, &mut fast);
            for ((&x, &f), &p) in xs.iter().zip(&fast).zip(&portable) {
                let want = reference_f64(act, x as f64);
                let tol = 3e-7 * (1.0 + want.abs());
                for (path, got) in [(isa.name(), f), ("portable", p)] {
                    if (got as f64 - want).abs() > tol {
                        return Some(format!("{act} {path} {x}: {got} vs {want}"));
                    }
                }
            }
        }
        None
    }

    /// NaN stays NaN on every ISA (ReLUs excepted, which map it to 0 on every path), and ±∞
    /// gives what the portable path gives for exp, erf (GELU), tanh and sigmoid (NaN where it
    /// gives NaN, the same value otherwise, to 1e-6 relative).
    #[test]
    fn nan_and_infinities_as_on_the_portable_path() {
        let xs = [
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            -f32::NAN,
            1.0,
            f32::MAX,
            f32::MIN,
            -0.0,
            100.0,
            -100.0,
        ];
        // Every position of the special values within a vector and in the padded tail.
        let mut input = Vec::new();
        for shift in 0..17 {
            input.extend((0..shift).map(|i| i as f32 / 7.0));
            input.extend(xs);
        }
        for name in ACTIVATION_NAMES {
            let act: Activation = name.parse().unwrap();
            let mut want = input.clone();
            act.apply_slice_portable(&mut want);
            for isa in crate::gemm::Isa::available() {
                let mut got = input.clone();
                act.apply_slice_on(isa, &mut got);
                for ((&x, &w), &g) in input.iter().zip(&want).zip(&got) {
                    // ±∞ through x·sigmoid(…) forms (the tanh GELUs, SiLU, QuickGELU) is
                    // x·(a tiny or a 1) on the vector path, but ∞·0 = NaN in the scalar
                    // one: the limits differ only in how the NaN arises, so only NaN in
                    // gives NaN out is asked of them.
                    let limits_agree = matches!(
                        act,
                        Activation::Gelu
                            | Activation::Tanh
                            | Activation::Sigmoid
                            | Activation::Relu
                            | Activation::Relu6
                            | Activation::Identity
                            | Activation::Mish
                    );
                    if x.abs() > 1e30 && !limits_agree {
                        continue;
                    }
                    let same = if w.is_nan() || x.is_nan() {
                        g.is_nan() || (act == Activation::Relu || act == Activation::Relu6)
                    } else if w.is_infinite() || g.is_infinite() {
                        w == g
                    } else {
                        (g - w).abs() <= 1e-6 * (1.0 + w.abs()) || g.is_nan() && w.is_nan()
                    };
                    assert!(same, "{act} on {isa}: f({x}) = {g}, portable {w}");
                }
            }
        }
        for isa in crate::gemm::Isa::available() {
            for x in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                let mut row = [x; 3];
                // SAFETY: the ISA is available.
                let _ = unsafe { crate::dispatch::exp_row(isa, &mut row, 1.0) };
                let mut portable = [x; 3];
                let _ = crate::softmax::exp_row_portable(&mut portable, 1.0);
                for (g, p) in row.iter().zip(&portable) {
                    assert!(
                        g.is_nan() == p.is_nan(),
                        "exp_row({x}) on {isa}: {g} vs {p}"
                    );
                }
            }
        }
    }

    /// Every activation, on every ISA this CPU runs and the portable path, against f64;
    /// lengths that are not a multiple of the vector width exercise the padded tail.
    #[test]
    fn every_activation_matches_f64_on_every_isa() {
        eprintln!(
            "activations checked on: {}",
            crate::gemm::Isa::available()
                .iter()
                .map(|i| i.name())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let xs: Vec<f32> = (-20003..20000).map(|i| i as f32 / 1000.0).collect();
        for name in ACTIVATION_NAMES {
            let act: Activation = name.parse().unwrap();
            assert_eq!(first_miss(act, &xs), None, "{name}");
        }
    }

    proptest::proptest! {
        /// Random inputs and lengths (tails included) for every activation, both paths.
        #[test]
        fn activations_match_f64_on_random_input(
            xs in proptest::collection::vec(-30.0f32..30.0, 1..70), which in 0usize..15,
        ) {
            let act: Activation = ACTIVATION_NAMES[which].parse().unwrap();
            let miss = first_miss(act, &xs);
            proptest::prop_assert!(miss.is_none(), "{:?}", miss);
        }
    }

    #[test]
    fn every_listed_name_parses() {
        for name in ACTIVATION_NAMES {
            assert!(name.parse::<Activation>().is_ok(), "{name}");
        }
    }

    #[test]
    fn unknown_name_lists_the_choices() {
        let err = "gelu_99".parse::<Activation>().unwrap_err().to_string();
        assert!(
            err.contains("\"gelu_99\"") && err.contains("quick_gelu"),
            "{err}"
        );
    }

    #[test]
    fn gelu_is_the_erf_form() {
        for i in -800..800 {
            let x = i as f32 / 100.0;
            let want = gelu_f64(x as f64);
            let got = Activation::Gelu.apply(x) as f64;
            assert!(
                (got - want).abs() <= 1e-6 * (1.0 + want.abs()),
                "{x}: {got} vs {want}"
            );
        }
        // The tanh form is measurably different: it must not be used for "gelu".
        assert!((Activation::GeluTanh.apply(-2.5) - Activation::Gelu.apply(-2.5)).abs() > 1e-4);
    }
}
