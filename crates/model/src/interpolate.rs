//! PyTorch's bicubic resizes (`F.interpolate(mode="bicubic", align_corners=False)`, plain and
//! with `antialias=True`), used to stretch the position table to another patch grid.

/// PyTorch's cubic convolution constant (Pillow uses −0.5; PyTorch −0.75).
const A: f32 = -0.75;

/// For one axis: the four source indices and weights of each output position.
fn taps(input: usize, output: usize) -> Vec<([usize; 4], [f32; 4])> {
    let scale = input as f32 / output as f32;
    (0..output)
        .map(|dst| {
            // Not clamped below zero: the cubic path of area_pixel_compute_source_index.
            let src = scale * (dst as f32 + 0.5) - 0.5;
            let i = (src.floor() as i64).min(input as i64 - 1);
            let t = (src - i as f32).clamp(0.0, 1.0);
            let near = |x: f32| ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0;
            let far = |x: f32| ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A;
            let weights = [far(t + 1.0), near(t), near(1.0 - t), far(2.0 - t)];
            let index = |k: i64| (i - 1 + k).clamp(0, input as i64 - 1) as usize;
            ([index(0), index(1), index(2), index(3)], weights)
        })
        .collect()
}

/// Resizes a `[in_h, in_w, channels]` grid to `[out_h, out_w, channels]` (channels last, as
/// the position table is stored) the way PyTorch's CPU bicubic kernel does: weights from the
/// cubic convolution with A = −0.75, edge indices clamped, rows combined after columns.
pub fn bicubic_resize(
    input: &[f32],
    [in_h, in_w]: [usize; 2],
    channels: usize,
    [out_h, out_w]: [usize; 2],
) -> Vec<f32> {
    assert_eq!(
        input.len(),
        in_h * in_w * channels,
        "input must be [in_h, in_w, channels]"
    );
    let rows = taps(in_h, out_h);
    let cols = taps(in_w, out_w);
    let mut out = vec![0.0f32; out_h * out_w * channels];
    let at = |y: usize, x: usize, c: usize| input[(y * in_w + x) * channels + c];
    for (oy, (ys, wy)) in rows.iter().enumerate() {
        for (ox, (xs, wx)) in cols.iter().enumerate() {
            let o = &mut out[(oy * out_w + ox) * channels..][..channels];
            for (c, o) in o.iter_mut().enumerate() {
                let row = |y: usize| {
                    let mut t = at(y, xs[0], c) * wx[0];
                    for k in 1..4 {
                        t += at(y, xs[k], c) * wx[k];
                    }
                    t
                };
                let mut acc = row(ys[0]) * wy[0];
                for k in 1..4 {
                    acc += row(ys[k]) * wy[k];
                }
                *o = acc;
            }
        }
    }
    out
}

/// For one axis of the antialiased resize: the first source index and the normalised
/// weights of each output position, computed as PyTorch's `_compute_weights_aa` does (Keys'
/// cubic with a = −0.5, support widened by the downscale factor, f32 with the same mixed
/// f64 steps as its C++).
fn taps_antialiased(input: usize, output: usize) -> Vec<(usize, Vec<f32>)> {
    const A_AA: f32 = -0.5;
    let filter = |x: f32| {
        let x = x.abs();
        if x < 1.0 {
            ((A_AA + 2.0) * x - (A_AA + 3.0)) * x * x + 1.0
        } else if x < 2.0 {
            ((A_AA * x - 5.0 * A_AA) * x + 8.0 * A_AA) * x - 4.0 * A_AA
        } else {
            0.0
        }
    };
    let scale = input as f32 / output as f32;
    let support = if scale >= 1.0 { 2.0 * scale } else { 2.0 };
    let invscale = if scale >= 1.0 {
        (1.0 / scale as f64) as f32
    } else {
        1.0
    };
    (0..output)
        .map(|i| {
            let center = (scale as f64 * (i as f64 + 0.5)) as f32;
            let xmin = (((center - support) as f64 + 0.5) as i64).max(0);
            let xmax = (((center + support) as f64 + 0.5) as i64).min(input as i64);
            let mut weights: Vec<f32> = (xmin..xmax.max(xmin))
                .map(|j| filter((((j as f32 - center) as f64 + 0.5) * invscale as f64) as f32))
                .collect();
            let total: f32 = weights.iter().sum();
            if total != 0.0 {
                weights.iter_mut().for_each(|w| *w /= total);
            }
            (xmin as usize, weights)
        })
        .collect()
}

/// Resizes a `[in_h, in_w, channels]` grid to `[out_h, out_w, channels]` as PyTorch's CPU
/// antialiased bicubic kernel does (`antialias=True`): separable, the width pass first, then
/// the height pass, each output a left-to-right weighted sum of the source span; an axis whose
/// size does not change is not resampled.
pub fn bicubic_resize_antialiased(
    input: &[f32],
    [in_h, in_w]: [usize; 2],
    channels: usize,
    [out_h, out_w]: [usize; 2],
) -> Vec<f32> {
    assert_eq!(
        input.len(),
        in_h * in_w * channels,
        "input must be [in_h, in_w, channels]"
    );
    let pass = |src: &[f32], lines: usize, len_in: usize, len_out: usize, stride: usize| {
        // Resamples axis of `len_in` elements `stride` apart, `lines` independent lines
        // (`lines` counts the outer index; the inner `stride` values move together).
        let taps = taps_antialiased(len_in, len_out);
        let mut out = vec![0.0f32; lines * len_out * stride];
        for line in 0..lines {
            for (o, (start, weights)) in taps.iter().enumerate() {
                for s in 0..stride {
                    let at = |j: usize| src[(line * len_in + start + j) * stride + s];
                    let mut acc = at(0) * weights[0];
                    for (j, w) in weights.iter().enumerate().skip(1) {
                        acc += at(j) * w;
                    }
                    out[(line * len_out + o) * stride + s] = acc;
                }
            }
        }
        out
    };
    let mut x = input.to_vec();
    if out_w != in_w {
        x = pass(&x, in_h, in_w, out_w, channels);
    }
    if out_h != in_h {
        x = pass(&x, 1, in_h, out_h, out_w * channels);
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_size_is_the_identity() {
        let x: Vec<f32> = (0..4 * 5 * 2).map(|i| (i as f32).sin()).collect();
        assert_eq!(bicubic_resize(&x, [4, 5], 2, [4, 5]), x);
    }

    #[test]
    fn constant_stays_constant() {
        let x = vec![0.25f32; 3 * 3];
        for v in bicubic_resize(&x, [3, 3], 1, [7, 5]) {
            assert!((v - 0.25).abs() < 1e-6);
        }
    }

    #[test]
    fn antialiased_matches_pytorch_on_a_small_grid() {
        // F.interpolate(torch.arange(9.).reshape(1,1,3,3), size=(2,4), mode="bicubic",
        //     align_corners=False, antialias=True) (PyTorch 2.15)
        let x: Vec<f32> = (0..9).map(|i| i as f32).collect();
        let got = bicubic_resize_antialiased(&x, [3, 3], 1, [2, 4]);
        let want = [
            0.877_134_8,
            1.485_968_6,
            2.372_778_7,
            2.981_612_4,
            5.018_387_3,
            5.627_221,
            6.514_031,
            7.122_864_7,
        ];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{got:?}");
        }
        assert_eq!(bicubic_resize_antialiased(&x, [3, 3], 1, [3, 3]), x);
    }

    #[test]
    fn matches_pytorch_on_a_small_grid() {
        // torch.nn.functional.interpolate(torch.arange(4.).reshape(1,1,2,2), size=(3,3),
        //     mode="bicubic", align_corners=False) (PyTorch 2.15)
        let want = [
            -0.260_416_8,
            0.326_388_96,
            0.913_194_4,
            0.913_194_7,
            1.5,
            2.086_805_8,
            2.086_805_8,
            2.673_611,
            3.260_417,
        ];
        let got = bicubic_resize(&[0.0, 1.0, 2.0, 3.0], [2, 2], 1, [3, 3]);
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{got:?}");
        }
    }
}
