//! Handing named tensors to the modules that own them, with shape checks and a record of
//! what was used so that leftover tensors can be reported.

use std::cell::RefCell;
use std::collections::BTreeSet;

use vitrs_kernels::Linear;

use crate::{ModelError, WeightSource};

/// A view of a [`WeightSource`] under a name prefix (`"vit."`, `"encoder.layer.3."`).
pub struct Weights<'a> {
    source: &'a dyn WeightSource,
    prefix: String,
    used: &'a RefCell<BTreeSet<String>>,
    allow_nonfinite: bool,
}

impl<'a> Weights<'a> {
    /// The root view of `source`, recording use into `used`.
    pub fn new(
        source: &'a dyn WeightSource,
        used: &'a RefCell<BTreeSet<String>>,
        allow_nonfinite: bool,
    ) -> Self {
        Weights {
            source,
            prefix: String::new(),
            used,
            allow_nonfinite,
        }
    }

    /// The view under `prefix.` relative to this one.
    pub fn pp(&self, prefix: impl std::fmt::Display) -> Weights<'a> {
        Weights {
            source: self.source,
            prefix: format!("{}{prefix}.", self.prefix),
            used: self.used,
            allow_nonfinite: self.allow_nonfinite,
        }
    }

    fn full(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// Whether `name` exists under this prefix.
    pub fn contains(&self, name: &str) -> bool {
        self.source.dims(&self.full(name)).is_some()
    }

    /// The tensor `name`, which must have shape `dims`.
    pub fn get(&self, name: &str, dims: &[usize]) -> Result<Vec<f32>, ModelError> {
        let full = self.full(name);
        let found = self
            .source
            .dims(&full)
            .ok_or_else(|| ModelError::MissingTensor {
                checkpoint: self.source.describe(),
                name: full.clone(),
            })?;
        if found != dims {
            return Err(ModelError::Shape {
                name: full,
                expected: dims.to_vec(),
                found,
            });
        }
        let values = self
            .source
            .load(&full)?
            .ok_or_else(|| ModelError::MissingTensor {
                checkpoint: self.source.describe(),
                name: full.clone(),
            })?;
        if !self.allow_nonfinite {
            let mut bad = values.iter().enumerate().filter(|(_, v)| !v.is_finite());
            if let Some((first, _)) = bad.next() {
                return Err(ModelError::NonFinite {
                    checkpoint: self.source.describe(),
                    name: full,
                    count: 1 + bad.count(),
                    first,
                });
            }
        }
        self.used.borrow_mut().insert(full);
        Ok(values)
    }

    /// A PyTorch `nn.Linear` under `name`: `weight [out, in]` and, if `bias`, `bias [out]`.
    pub fn linear(
        &self,
        name: &str,
        out_features: usize,
        in_features: usize,
        bias: bool,
    ) -> Result<Linear, ModelError> {
        let w = self.pp(name);
        let weight = w.get("weight", &[out_features, in_features])?;
        let bias = if bias {
            Some(w.get("bias", &[out_features])?)
        } else {
            None
        };
        Linear::new(weight, bias, out_features, in_features).map_err(|e| ModelError::Shape {
            name: self.full(name),
            expected: vec![e.expected],
            found: vec![e.found],
        })
    }

    /// [`Weights::linear`] with each output row scaled by `scale` (LayerScale folded in:
    /// `λ ⊙ (W·x + b) = (λ ⊙ W)·x + λ ⊙ b`).
    pub fn linear_scaled(
        &self,
        name: &str,
        out_features: usize,
        in_features: usize,
        scale: Option<&[f32]>,
    ) -> Result<Linear, ModelError> {
        let Some(scale) = scale else {
            return self.linear(name, out_features, in_features, true);
        };
        let w = self.pp(name);
        let mut weight = w.get("weight", &[out_features, in_features])?;
        let mut bias = w.get("bias", &[out_features])?;
        for ((row, b), l) in weight
            .chunks_exact_mut(in_features)
            .zip(&mut bias)
            .zip(scale)
        {
            row.iter_mut().for_each(|v| *v *= l);
            *b *= l;
        }
        Linear::new(weight, Some(bias), out_features, in_features).map_err(|e| ModelError::Shape {
            name: self.full(name),
            expected: vec![e.expected],
            found: vec![e.found],
        })
    }

    /// A LayerNorm under `name`: `weight [dim]` and `bias [dim]`.
    pub fn layer_norm(&self, name: &str, dim: usize) -> Result<(Vec<f32>, Vec<f32>), ModelError> {
        let w = self.pp(name);
        Ok((w.get("weight", &[dim])?, w.get("bias", &[dim])?))
    }
}

/// Fails if `source` holds tensors that were not used, apart from known-unused ones: names
/// starting with one of `ignored`, with or without the tower `prefix`.
pub fn check_all_used(
    source: &dyn WeightSource,
    used: &RefCell<BTreeSet<String>>,
    prefix: &str,
    ignored: &[&str],
) -> Result<(), ModelError> {
    let used = used.borrow();
    let skip = |n: &str| {
        let inner = n.strip_prefix(prefix).unwrap_or(n);
        ignored
            .iter()
            .any(|i| n.starts_with(i) || inner.starts_with(i))
    };
    let extra: Vec<String> = source
        .names()
        .into_iter()
        .filter(|n| !used.contains(n))
        .filter(|n| !skip(n))
        .collect();
    if extra.is_empty() {
        Ok(())
    } else {
        Err(ModelError::UnexpectedTensors {
            checkpoint: source.describe(),
            names: extra,
        })
    }
}

/// Values in the tensors that were used (the parameters the forward pass reads).
pub fn used_parameters(source: &dyn WeightSource, used: &RefCell<BTreeSet<String>>) -> usize {
    used.borrow()
        .iter()
        .filter_map(|n| source.dims(n))
        .map(|d| d.iter().product::<usize>())
        .sum()
}
