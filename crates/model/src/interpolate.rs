//! PyTorch's bicubic resize (`F.interpolate(mode="bicubic", align_corners=False)`, no
//! antialias), used to stretch the position table to another patch grid.

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
