//! Patch embedding, CLS token and position table (`ViTEmbeddings`).

use std::borrow::Cow;

use vitrs_kernels::{Epilogue, Linear};

use crate::interpolate::bicubic_resize;
use crate::weights::Weights;
use crate::{ModelError, ViTConfig};

/// `embeddings.*`: a Conv2d(C→D, kernel = stride = patch) run as a GEMM over flattened
/// patches, the CLS token, and the position table.
pub struct Embeddings {
    /// `[D, C·ph·pw]`, the conv kernel flattened in (c, kh, kw) order.
    patch: Linear,
    /// `[D]`.
    cls: Vec<f32>,
    /// `[1 + gh·gw, D]`.
    position: Vec<f32>,
    /// Patch grid the position table was trained for.
    grid: [usize; 2],
    patch_size: [usize; 2],
    channels: usize,
    dim: usize,
}

impl Embeddings {
    /// Loads `cls_token`, `position_embeddings` and `patch_embeddings.projection`.
    pub fn load(w: &Weights, cfg: &ViTConfig) -> Result<Self, ModelError> {
        let d = cfg.hidden_size;
        let [ph, pw] = cfg.patch_size;
        let c = cfg.num_channels;
        let grid = cfg.grid();
        let proj = w.pp("patch_embeddings.projection");
        let weight = proj.get("weight", &[d, c, ph, pw])?;
        let bias = proj.get("bias", &[d])?;
        let patch =
            Linear::new(weight, Some(bias), d, c * ph * pw).map_err(|e| ModelError::Shape {
                name: "embeddings.patch_embeddings.projection.weight".into(),
                expected: vec![e.expected],
                found: vec![e.found],
            })?;
        Ok(Embeddings {
            patch,
            cls: w.get("cls_token", &[1, 1, d])?,
            position: w.get("position_embeddings", &[1, 1 + grid[0] * grid[1], d])?,
            grid,
            patch_size: [ph, pw],
            channels: c,
            dim: d,
        })
    }

    /// The patch grid for an input of `[h, w]` pixels (partial patches are dropped, as the
    /// strided convolution drops them).
    pub fn grid_for(&self, [h, w]: [usize; 2]) -> [usize; 2] {
        [h / self.patch_size[0], w / self.patch_size[1]]
    }

    /// The position table for `grid`: the stored one, or (interpolating) the CLS row followed
    /// by the patch rows resized with PyTorch bicubic, as `ViTEmbeddings.interpolate_pos_encoding`.
    pub fn positions(
        &self,
        grid: [usize; 2],
        interpolate: bool,
        square_input: bool,
    ) -> Cow<'_, [f32]> {
        let same_count = grid[0] * grid[1] == self.grid[0] * self.grid[1];
        if !interpolate || (same_count && square_input) || grid == self.grid {
            return Cow::Borrowed(&self.position);
        }
        let d = self.dim;
        let mut out = Vec::with_capacity((1 + grid[0] * grid[1]) * d);
        out.extend_from_slice(&self.position[..d]);
        out.extend(bicubic_resize(&self.position[d..], self.grid, d, grid));
        Cow::Owned(out)
    }

    /// Writes the embedded tokens of `batch` images into `x` (`[B, 1 + gh·gw, D]`).
    ///
    /// `pixels` is `[B, C, H, W]`; `patches` and `projected` are scratch buffers.
    #[allow(clippy::too_many_arguments)]
    pub fn forward(
        &self,
        pixels: &[f32],
        batch: usize,
        [h, w]: [usize; 2],
        grid: [usize; 2],
        positions: &[f32],
        patches: &mut Vec<f32>,
        projected: &mut Vec<f32>,
        x: &mut [f32],
    ) {
        let (c, d) = (self.channels, self.dim);
        let [ph, pw] = self.patch_size;
        let [gh, gw] = grid;
        let n = gh * gw;
        let k = c * ph * pw;
        // patches [B·N, C·ph·pw]: each row one patch, flattened (c, kh, kw)
        patches.clear();
        patches.reserve(batch * n * k);
        for b in 0..batch {
            let img = &pixels[b * c * h * w..(b + 1) * c * h * w];
            for r in 0..gh {
                for col in 0..gw {
                    for ch in 0..c {
                        for kh in 0..ph {
                            let row = (ch * h + r * ph + kh) * w + col * pw;
                            patches.extend_from_slice(&img[row..row + pw]);
                        }
                    }
                }
            }
        }
        // projected [B·N, D] = patches · Wᵀ + b
        projected.resize(batch * n * d, 0.0);
        self.patch
            .forward(patches, batch * n, projected, Epilogue::Store);
        // x [B, 1+N, D] = concat(cls, projected) + positions
        let t = 1 + n;
        for b in 0..batch {
            let img = &mut x[b * t * d..(b + 1) * t * d];
            let (cls_row, rest) = img.split_at_mut(d);
            for ((o, c), p) in cls_row.iter_mut().zip(&self.cls).zip(&positions[..d]) {
                *o = c + p;
            }
            let src = &projected[b * n * d..(b + 1) * n * d];
            for ((o, s), p) in rest.iter_mut().zip(src).zip(&positions[d..]) {
                *o = s + p;
            }
        }
    }

    /// Multiply-accumulates of the patch projection for `patches` patches.
    pub fn macs(&self, patches: usize) -> usize {
        self.patch.macs(patches)
    }
}
