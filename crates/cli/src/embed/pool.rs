//! Turning a forward pass into one embedding per image.

use std::fmt;
use std::str::FromStr;

use vitrs_model::family::{Cls, Family};
use vitrs_model::{ViT, ViTOutput};
use vitrs_tensor::Tensor;

/// How tokens become an embedding.
///
/// Each family has a natural choice ([`Pool::natural`]): the normed CLS for ViT, DeiT and
/// DINOv2 (DINOv2's `pooler_output` is that same token); `image_embeds` for CLIP checkpoints
/// with `visual_projection` (what `CLIPModel.get_image_features` returns, before its L2
/// normalisation), `pooler_output` (`post_layernorm(CLS)`) for CLIP towers without it; the
/// attention-pooling (MAP) head's `pooler_output` for SigLIP (mean of the tokens when the
/// checkpoint has no head).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pool {
    /// Token 0 of `last_hidden_state` `[D]`: the final-normed CLS (raw for CLIP, whose
    /// `last_hidden_state` is not normed). Not for SigLIP, which has no CLS.
    #[default]
    Cls,
    /// The mean of the patch tokens of `last_hidden_state`, CLS, distillation and register
    /// tokens excluded (timm's `avg` pooling) `[D]`.
    Mean,
    /// The pooler output `[P]` (checkpoints with a pooler only; SigLIP's MAP head).
    Pooler,
    /// CLIP's `image_embeds` `[E]`: the projection of `pooler_output`.
    ImageEmbeds,
    /// Every token, `[T, D]`.
    None,
}

impl Pool {
    /// The family's natural embedding for `model` (see [`Pool`]).
    pub fn natural(model: &ViT) -> Pool {
        match model.variant().family {
            Family::Clip if model.projection_dim().is_some() => Pool::ImageEmbeds,
            Family::Clip => Pool::Pooler,
            Family::Siglip if model.has_pooler() => Pool::Pooler,
            Family::Siglip => Pool::Mean,
            _ => Pool::Cls,
        }
    }

    /// Whether this embedding reads only the tokens before the patches, so the forward pass
    /// can skip the rest of the last layer ([`vitrs_model::ForwardOptions::prefix_only`]).
    pub fn reads_prefix_only(self, model: &ViT) -> bool {
        matches!(self, Pool::Cls | Pool::Pooler | Pool::ImageEmbeds) && model.prefix_suffices()
    }

    /// Why `model` cannot give this embedding, if it cannot.
    pub fn check(self, model: &ViT) -> Result<(), String> {
        match self {
            Pool::Pooler if !model.has_pooler() => {
                Err("--pool pooler: this model has no pooler; use --pool cls or --pool mean".into())
            }
            Pool::ImageEmbeds if model.projection_dim().is_none() => Err(
                "--pool image_embeds: this model has no visual_projection (only CLIP checkpoints \
                 with a projection have image_embeds)"
                    .into(),
            ),
            Pool::Cls if model.variant().tokens.cls == Cls::None => Err(format!(
                "--pool cls: {} has no CLS token; use --pool pooler (its attention-pooling \
                 head) or --pool mean",
                model.variant().family.title()
            )),
            _ => Ok(()),
        }
    }
}

impl FromStr for Pool {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cls" => Ok(Pool::Cls),
            "mean" => Ok(Pool::Mean),
            "pooler" | "map" => Ok(Pool::Pooler),
            "image_embeds" => Ok(Pool::ImageEmbeds),
            "none" => Ok(Pool::None),
            _ => Err(format!(
                "unknown pooling {s:?}; expected cls, mean, pooler, image_embeds or none"
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
            Pool::ImageEmbeds => "image_embeds",
            Pool::None => "none",
        })
    }
}

/// One embedding per image of the batch, as `pool` asks; `prefix` tokens (CLS, distillation,
/// registers) come before the patches. `Err` if the model cannot give it (pooler asked of a
/// model without one). With `normalize`, each embedding (each token for `none`) is divided by
/// its L2 norm.
pub fn pool(
    out: &ViTOutput,
    pool: Pool,
    prefix: usize,
    normalize: bool,
) -> Result<Vec<Tensor>, String> {
    let mut pooled = pool_raw(out, pool, prefix)?;
    if normalize {
        for t in &mut pooled {
            let row = *t.dims().last().unwrap_or(&1);
            let data: Vec<f32> = t
                .data()
                .chunks(row.max(1))
                .flat_map(|r| {
                    let norm = r
                        .iter()
                        .map(|&v| (v as f64) * (v as f64))
                        .sum::<f64>()
                        .sqrt();
                    let scale = if norm > 0.0 { 1.0 / norm } else { 0.0 };
                    r.iter().map(move |&v| (v as f64 * scale) as f32)
                })
                .collect();
            *t = Tensor::new(t.dims(), data).map_err(|e| e.to_string())?;
        }
    }
    Ok(pooled)
}

fn pool_raw(out: &ViTOutput, pool: Pool, prefix: usize) -> Result<Vec<Tensor>, String> {
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
                for tok in image(i)[prefix * d..].chunks_exact(d) {
                    acc.iter_mut().zip(tok).for_each(|(a, &v)| *a += v as f64);
                }
                let n = (t - prefix).max(1) as f64;
                one(&[d], acc.into_iter().map(|a| (a / n) as f32).collect())
            }
            Pool::Pooler => {
                let p = out.pooler_output.as_ref().ok_or(
                    "--pool pooler: this model has no pooler; use --pool cls or mean".to_string(),
                )?;
                let w = p.dims()[1];
                one(&[w], p.data()[i * w..(i + 1) * w].to_vec())
            }
            Pool::ImageEmbeds => {
                let p = out.image_embeds.as_ref().ok_or(
                    "--pool image_embeds: this model has no visual_projection".to_string(),
                )?;
                let w = p.dims()[1];
                one(&[w], p.data()[i * w..(i + 1) * w].to_vec())
            }
        })
        .collect()
}
