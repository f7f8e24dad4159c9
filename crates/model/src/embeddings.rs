//! Patch embedding, the tokens before the patches and the position table (`ViTEmbeddings`
//! and its relatives in the other families).

use std::borrow::Cow;

use vitrs_kernels::{Epilogue, Linear};

use crate::family::{Cls, Names, Positions, Tokens};
use crate::interpolate::{bicubic_resize, bicubic_resize_antialiased};
use crate::weights::Weights;
use crate::{ModelError, ViTConfig};

/// The embeddings: a Conv2d(C→D, kernel = stride = patch) run as a GEMM over flattened
/// patches, then `[CLS?, DIST?] + positions`, registers, patches + positions.
pub struct Embeddings {
    /// `[D, C·ph·pw]`, the conv kernel flattened in (c, kh, kw) order.
    patch: Linear,
    /// `[P·D]`: CLS then DIST, those of the family's tokens that have position rows.
    positioned: Vec<f32>,
    /// `[R·D]`: register tokens (no position).
    registers: Vec<f32>,
    /// `[P + gh·gw, D]`.
    position: Vec<f32>,
    /// Patch grid the position table was trained for.
    grid: [usize; 2],
    tokens: Tokens,
    resize: Positions,
    patch_size: [usize; 2],
    channels: usize,
    dim: usize,
}

impl Embeddings {
    /// Loads the family's tokens, position table and patch projection.
    pub fn load(w: &Weights, cfg: &ViTConfig, names: &Names) -> Result<Self, ModelError> {
        let d = cfg.hidden_size;
        let [ph, pw] = cfg.patch_size;
        let c = cfg.num_channels;
        let grid = cfg.grid();
        let v = &cfg.variant;
        let proj = w.pp(names.patch);
        let weight = proj.get("weight", &[d, c, ph, pw])?;
        let bias = match v.patch_bias {
            true => Some(proj.get("bias", &[d])?),
            false => None,
        };
        let patch = Linear::new(weight, bias, d, c * ph * pw).map_err(|e| ModelError::Shape {
            name: format!("{}.weight", names.patch),
            expected: vec![e.expected],
            found: vec![e.found],
        })?;
        let mut positioned = match v.tokens.cls {
            Cls::None => Vec::new(),
            Cls::Token => w.get(names.cls, &[1, 1, d])?,
            Cls::Vector => w.get(names.cls, &[d])?,
        };
        if v.tokens.distillation {
            positioned.extend(w.get(names.distillation, &[1, 1, d])?);
        }
        let registers = match v.tokens.registers {
            0 => Vec::new(),
            r => w.get(names.registers, &[1, r, d])?,
        };
        let rows = v.tokens.positioned() + grid[0] * grid[1];
        let position = match v.positions.leading_one {
            true => w.get(names.positions, &[1, rows, d])?,
            false => w.get(names.positions, &[rows, d])?,
        };
        Ok(Embeddings {
            patch,
            positioned,
            registers,
            position,
            grid,
            tokens: v.tokens,
            resize: v.positions,
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

    /// Tokens per image for `grid`.
    pub fn tokens_for(&self, grid: [usize; 2]) -> usize {
        self.tokens.prefix() + grid[0] * grid[1]
    }

    /// The position table for `grid`: the stored one, or the CLS (and DIST) rows followed by
    /// the patch rows resized with PyTorch bicubic (antialiased where the family says so), as
    /// the families' `interpolate_pos_encoding` do. Families that always resize (DINOv2) do
    /// so without the flag.
    pub fn positions(
        &self,
        grid: [usize; 2],
        interpolate: bool,
        square_input: bool,
    ) -> Cow<'_, [f32]> {
        let same_count = grid[0] * grid[1] == self.grid[0] * self.grid[1];
        let resize = interpolate || self.resize.always_resize;
        if !resize || (same_count && square_input) || grid == self.grid {
            return Cow::Borrowed(&self.position);
        }
        let d = self.dim;
        let p = self.tokens.positioned() * d;
        let mut out = Vec::with_capacity(p + grid[0] * grid[1] * d);
        out.extend_from_slice(&self.position[..p]);
        let table = &self.position[p..];
        match self.resize.antialias {
            false => out.extend(bicubic_resize(table, self.grid, d, grid)),
            true => out.extend(bicubic_resize_antialiased(table, self.grid, d, grid)),
        }
        Cow::Owned(out)
    }

    /// Writes the embedded tokens of `batch` images into `x` (`[B, T, D]`).
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
        // projected [B·N, D] = patches · Wᵀ (+ b)
        projected.resize(batch * n * d, 0.0);
        self.patch
            .forward(patches, batch * n, projected, Epilogue::Store);
        // x [B, T, D] = concat(cls/dist + their positions, registers, projected + positions)
        let p = self.positioned.len();
        let r = self.registers.len();
        let t = self.tokens_for(grid);
        for b in 0..batch {
            let img = &mut x[b * t * d..(b + 1) * t * d];
            let (head, rest) = img.split_at_mut(p);
            for ((o, c), q) in head.iter_mut().zip(&self.positioned).zip(&positions[..p]) {
                *o = c + q;
            }
            let (regs, rest) = rest.split_at_mut(r);
            regs.copy_from_slice(&self.registers);
            let src = &projected[b * n * d..(b + 1) * n * d];
            for ((o, s), q) in rest.iter_mut().zip(src).zip(&positions[p..]) {
                *o = s + q;
            }
        }
    }

    /// Multiply-accumulates of the patch projection for `patches` patches.
    pub fn macs(&self, patches: usize) -> usize {
        self.patch.macs(patches)
    }
}
