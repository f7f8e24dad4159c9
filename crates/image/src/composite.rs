//! Transparency onto white, as `PIL.Image.alpha_composite(white, image)` computes it.
//!
//! Pillow's integer arithmetic (libImaging/AlphaComposite.c) with an opaque white
//! destination reduces to: `coef1 = a·2⁷`, `coef2 = (255 − a)·2⁷`,
//! `out = div255(c·coef1 + 255·coef2 + 2⁷·128) >> 7`, with `div255(v) = ((v >> 8) + v) >> 8`.

const PRECISION_BITS: u32 = 7;

fn div255_shift(v: u32) -> u32 {
    ((v >> 8) + v) >> 8
}

/// One channel of `src` (alpha `a`) composited over opaque white.
pub fn over_white(c: u8, a: u8) -> u8 {
    if a == 0 {
        return 255;
    }
    let (c, a) = (u32::from(c), u32::from(a));
    // dst alpha is 255: blend = 255·(255 − a), out alpha·255 = 255·255.
    let outa255 = a * 255 + 255 * (255 - a);
    let coef1 = a * 255 * 255 * (1 << PRECISION_BITS) / outa255;
    let coef2 = 255 * (1 << PRECISION_BITS) - coef1;
    let tmp = c * coef1 + 255 * coef2;
    (div255_shift(tmp + (0x80 << PRECISION_BITS)) >> PRECISION_BITS) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opaque_keeps_the_colour_and_transparent_is_white() {
        for c in 0..=255u8 {
            assert_eq!(over_white(c, 255), c);
            assert_eq!(over_white(c, 0), 255);
        }
    }

    #[test]
    fn half_transparent_black_is_mid_grey() {
        // PIL.Image.alpha_composite(white, (0, 0, 0, 128)) gives 127 (Pillow 13).
        assert_eq!(over_white(0, 128), 127);
    }
}
