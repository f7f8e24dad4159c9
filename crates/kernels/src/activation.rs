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
            Activation::Relu => x.max(0.0),
            Activation::Relu6 => x.clamp(0.0, 6.0),
            Activation::Silu => x * sigmoid(x),
            Activation::Mish => x * libm::log1pf(x.exp()).tanh(),
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => sigmoid(x),
            Activation::Identity => x,
        }
    }

    /// Applies the activation to every element of `xs` in place.
    pub fn apply_slice(self, xs: &mut [f32]) {
        if self == Activation::Identity {
            return;
        }
        for x in xs {
            *x = self.apply(*x);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gelu_f64(x: f64) -> f64 {
        0.5 * x * (1.0 + libm::erf(x / std::f64::consts::SQRT_2))
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
