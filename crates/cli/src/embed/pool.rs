//! Turning a forward pass into one embedding per image.

use std::fmt;
use std::str::FromStr;

use vitrs_model::ViTOutput;
use vitrs_tensor::Tensor;

/// How tokens become an embedding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pool {
    /// The final-normed CLS token, `last_hidden_state[:, 0]` `[D]`.
    #[default]
    Cls,
    /// The mean of the final-normed patch tokens, CLS excluded (timm's `avg` pooling) `[D]`.
    Mean,
    /// The pooler output `[P]` (checkpoints with a pooler only).
    Pooler,
    /// Every token, `[T, D]`.
    None,
}

impl FromStr for Pool {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cls" => Ok(Pool::Cls),
            "mean" => Ok(Pool::Mean),
            "pooler" => Ok(Pool::Pooler),
            "none" => Ok(Pool::None),
            _ => Err(format!(
                "unknown pooling {s:?}; expected cls, mean, pooler or none"
            )),
        }
    }
}

impl fmt::Display for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Pool::Cls => "cls",
            Pool::Mean => "mean",
            Pool::Pooler => "pooler",
            Pool::None => "none",
        })
    }
}

/// One embedding per image of the batch, as `pool` asks. `Err` if the model cannot give it
/// (pooler asked of a model without one).
pub fn pool(out: &ViTOutput, pool: Pool) -> Result<Vec<Tensor>, String> {
    let lhs = &out.last_hidden_state;
    let [b, t, d] = lhs.dims() else {
        return Err(format!("last_hidden_state has shape {:?}", lhs.dims()));
    };
    let (b, t, d) = (*b, *t, *d);
    let image = |i: usize| &lhs.data()[i * t * d..(i + 1) * t * d];
    let one = |dims: &[usize], v: Vec<f32>| Tensor::new(dims, v).map_err(|e| e.to_string());
    (0..b)
        .map(|i| match pool {
            Pool::Cls => one(&[d], image(i)[..d].to_vec()),
            Pool::None => one(&[t, d], image(i).to_vec()),
            Pool::Mean => {
                let mut acc = vec![0.0f64; d];
                for tok in image(i)[d..].chunks_exact(d) {
                    acc.iter_mut().zip(tok).for_each(|(a, &v)| *a += v as f64);
                }
                let n = (t - 1).max(1) as f64;
                one(&[d], acc.into_iter().map(|a| (a / n) as f32).collect())
            }
            Pool::Pooler => {
                let p = out.pooler_output.as_ref().ok_or(
                    "--pool pooler: this model has no pooler; use --pool cls or mean".to_string(),
                )?;
                let w = p.dims()[1];
                one(&[w], p.data()[i * w..(i + 1) * w].to_vec())
            }
        })
        .collect()
}
