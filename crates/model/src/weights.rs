//! Handing named tensors to the modules that own them, with shape checks and a record of
//! what was used so that leftover tensors can be reported.

use std::cell::RefCell;
use std::collections::BTreeSet;

use vitrs_kernels::qgemm::{AnyLinear, QIsa, QLinear, QuantizedWeight};
use vitrs_kernels::Linear;

use crate::{ComputeDtype, ModelError, WeightSource};

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
        // A pass that vectorizes (no early exit inside a block) before the one that counts.
        let all_finite = || {
            values
                .chunks(4096)
                .all(|c| c.iter().fold(true, |ok, v| ok & v.is_finite()))
        };
        if !self.allow_nonfinite && !all_finite() {
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
    /// A weight stored quantized (int8 checkpoint) is dequantized.
    pub fn linear(
        &self,
        name: &str,
        out_features: usize,
        in_features: usize,
        bias: bool,
    ) -> Result<Linear, ModelError> {
        let weight = match self.stored_int8(name, out_features, in_features)? {
            Some(q) => q.dequantize(),
            None => self.pp(name).get("weight", &[out_features, in_features])?,
        };
        let bias = self.bias(name, out_features, bias)?;
        Linear::new(weight, bias, out_features, in_features).map_err(|e| self.shape_error(name, e))
    }

    /// The linear under `name` computed in `dtype`: int8 from the stored quantized weight if
    /// there is one, else quantized here from the f32 weight. In int8 it runs the fastest
    /// kernel for inputs that tolerate 7-bit activations ([`QIsa::detect_coarse`]): the
    /// attention output, fc1 and fc2 (q/k/v, which does not, is built apart).
    pub fn linear_as(
        &self,
        name: &str,
        out_features: usize,
        in_features: usize,
        bias: bool,
        dtype: ComputeDtype,
    ) -> Result<AnyLinear, ModelError> {
        match dtype {
            ComputeDtype::F32 => Ok(AnyLinear::F32(self.linear(
                name,
                out_features,
                in_features,
                bias,
            )?)),
            ComputeDtype::Int8 => {
                let (q, b) = self.quantized(name, out_features, in_features, bias)?;
                Ok(AnyLinear::Int8(
                    QLinear::with_isa(q, b, QIsa::detect_coarse())
                        .map_err(|e| self.shape_error(name, e))?,
                ))
            }
        }
    }

    /// The weight under `name` quantized per output channel (as stored, or quantized now),
    /// and its bias.
    pub fn quantized(
        &self,
        name: &str,
        out_features: usize,
        in_features: usize,
        bias: bool,
    ) -> Result<(QuantizedWeight, Option<Vec<f32>>), ModelError> {
        let q = match self.stored_int8(name, out_features, in_features)? {
            Some(q) => q,
            None => {
                let w = self.pp(name).get("weight", &[out_features, in_features])?;
                QuantizedWeight::quantize(&w, out_features, in_features)
                    .map_err(|e| self.shape_error(name, e))?
            }
        };
        Ok((q, self.bias(name, out_features, bias)?))
    }

    /// `name.weight` as stored by `vitrs convert --dtype int8`: `I8 [out, in]` with
    /// `name.weight_scale` `F32 [out]`; `None` if the weight is not stored that way.
    fn stored_int8(
        &self,
        name: &str,
        out_features: usize,
        in_features: usize,
    ) -> Result<Option<QuantizedWeight>, ModelError> {
        let w = self.pp(name);
        if !w.contains("weight_scale") {
            return Ok(None);
        }
        let full = w.full("weight");
        let found = self.source.dims(&full).unwrap_or_default();
        if found != [out_features, in_features] {
            return Err(ModelError::Shape {
                name: full,
                expected: vec![out_features, in_features],
                found,
            });
        }
        let values = self
            .source
            .load_i8(&full)?
            .ok_or_else(|| ModelError::Layout {
                checkpoint: self.source.describe(),
                message: format!("`{full}` has a `weight_scale` beside it but is not stored as I8"),
            })?;
        let scales = w.get("weight_scale", &[out_features])?;
        self.used.borrow_mut().insert(full);
        QuantizedWeight::from_parts(values, scales, out_features, in_features)
            .map(Some)
            .map_err(|e| self.shape_error(name, e))
    }

    fn bias(&self, name: &str, n: usize, bias: bool) -> Result<Option<Vec<f32>>, ModelError> {
        bias.then(|| self.pp(name).get("bias", &[n])).transpose()
    }

    fn shape_error(&self, name: &str, e: vitrs_kernels::gemm::LinearError) -> ModelError {
        ModelError::Shape {
            name: self.full(name),
            expected: vec![e.expected],
            found: vec![e.found],
        }
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
        let (weight, bias) = self.scaled(name, out_features, in_features, scale)?;
        Linear::new(weight, Some(bias), out_features, in_features)
            .map_err(|e| self.shape_error(name, e))
    }

    /// [`Weights::linear_scaled`] computed in `dtype`: in int8 the scale is folded into the
    /// f32 weight before it is quantized (as [`Weights::linear_as`] otherwise).
    pub fn linear_scaled_as(
        &self,
        name: &str,
        out_features: usize,
        in_features: usize,
        scale: Option<&[f32]>,
        dtype: ComputeDtype,
    ) -> Result<AnyLinear, ModelError> {
        let Some(scale) = scale else {
            return self.linear_as(name, out_features, in_features, true, dtype);
        };
        match dtype {
            ComputeDtype::F32 => Ok(AnyLinear::F32(self.linear_scaled(
                name,
                out_features,
                in_features,
                Some(scale),
            )?)),
            ComputeDtype::Int8 => {
                let (weight, bias) = self.scaled(name, out_features, in_features, scale)?;
                let q = QuantizedWeight::quantize(&weight, out_features, in_features)
                    .map_err(|e| self.shape_error(name, e))?;
                Ok(AnyLinear::Int8(
                    QLinear::with_isa(q, Some(bias), QIsa::detect_coarse())
                        .map_err(|e| self.shape_error(name, e))?,
                ))
            }
        }
    }

    /// The f32 weight (dequantized if stored as int8) and bias under `name`, each output row
    /// scaled by `scale`.
    fn scaled(
        &self,
        name: &str,
        out_features: usize,
        in_features: usize,
        scale: &[f32],
    ) -> Result<(Vec<f32>, Vec<f32>), ModelError> {
        let mut weight = match self.stored_int8(name, out_features, in_features)? {
            Some(q) => q.dequantize(),
            None => self.pp(name).get("weight", &[out_features, in_features])?,
        };
        let mut bias = self.pp(name).get("bias", &[out_features])?;
        for ((row, b), l) in weight
            .chunks_exact_mut(in_features)
            .zip(&mut bias)
            .zip(scale)
        {
            row.iter_mut().for_each(|v| *v *= l);
            *b *= l;
        }
        Ok((weight, bias))
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
