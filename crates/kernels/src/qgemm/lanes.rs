//! The one operation the int8 micro-kernel is written in, over vectors of `i32` lanes.
//!
//! [`Lanes::dpbusd`] has the meaning of AVX512-VNNI's `vpdpbusd`: in each 32-bit lane, the four
//! unsigned bytes of `a` times the four signed bytes of `b`, summed into the lane of `acc`
//! (wrapping, no saturation). The kernel ([`super::kernel`]) only ever calls that, so the same
//! kernel runs on [`Emulated`] lanes (the portable path, and the tests of the logic on every
//! machine) and on AVX512-VNNI / AVX-VNNI (one instruction).
//!
//! [`WordLanes`] is the operation of AVX2's exact 8-bit kernel, `vpmaddwd` on `i16` pairs,
//! with `EmulatedWords` its plain-Rust stand-in in the tests; [`ByteLanes`] those of AVX2's
//! 7-bit kernel (`vpmaddubsw`, `vpaddw`, `vpmaddwd`), which [`Emulated`] also implements in the
//! tests.

/// A vector of `N` `i32` lanes, each holding four bytes.
///
/// # Safety
/// Implementations are only called where their CPU features are present; pointers must be
/// valid for the bytes each method names.
pub trait Lanes: Copy {
    /// Lanes (`i32`) per vector.
    const N: usize;
    /// All zero.
    ///
    /// # Safety
    /// The implementation's CPU features must be present; pointers valid for the bytes named.
    unsafe fn zero() -> Self;
    /// The four bytes at `a` in every lane.
    ///
    /// # Safety
    /// The implementation's CPU features must be present; pointers valid for the bytes named.
    unsafe fn splat4(a: *const u8) -> Self;
    /// `4·N` bytes from `b` (no alignment required).
    ///
    /// # Safety
    /// The implementation's CPU features must be present; pointers valid for the bytes named.
    unsafe fn load(b: *const i8) -> Self;
    /// `acc + Σ₄ a·b` per lane, `a` read as `u8` and `b` as `i8` (`vpdpbusd`).
    ///
    /// # Safety
    /// The implementation's CPU features must be present; pointers valid for the bytes named.
    unsafe fn dpbusd(acc: Self, a: Self, b: Self) -> Self;
    /// Writes the `N` lanes to `c` (no alignment required).
    ///
    /// # Safety
    /// The implementation's CPU features must be present; pointers valid for the bytes named.
    unsafe fn store(self, c: *mut i32);
}

/// Plain-Rust lanes with exactly `vpdpbusd`'s meaning: the portable kernel, and the
/// stand-in that tests the kernel logic of the wide ISAs on any machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Emulated<const N: usize>(pub [[u8; 4]; N]);

impl<const N: usize> Lanes for Emulated<N> {
    const N: usize = N;

    unsafe fn zero() -> Self {
        Emulated([[0; 4]; N])
    }

    unsafe fn splat4(a: *const u8) -> Self {
        // SAFETY: the caller guarantees four readable bytes at a.
        let v = unsafe { a.cast::<[u8; 4]>().read_unaligned() };
        Emulated([v; N])
    }

    unsafe fn load(b: *const i8) -> Self {
        // SAFETY: the caller guarantees 4·N readable bytes at b.
        Emulated(unsafe { b.cast::<[[u8; 4]; N]>().read_unaligned() })
    }

    unsafe fn dpbusd(acc: Self, a: Self, b: Self) -> Self {
        let mut out = acc;
        for l in 0..N {
            let mut sum = i32::from_le_bytes(acc.0[l]);
            for t in 0..4 {
                sum = sum.wrapping_add(a.0[l][t] as i32 * b.0[l][t] as i8 as i32);
            }
            out.0[l] = sum.to_le_bytes();
        }
        out
    }

    unsafe fn store(self, c: *mut i32) {
        for l in 0..N {
            // SAFETY: the caller guarantees N writable i32 at c.
            unsafe { c.add(l).write_unaligned(i32::from_le_bytes(self.0[l])) };
        }
    }
}

/// A vector of `N` `i32` lanes, each holding two `i16`: the operation of the exact 8-bit AVX2
/// kernel ([`super::kernel::tile_words`]), `vpmaddwd`, on activations widened to `i16` when
/// they are packed and weights widened from the packed `i8` as they are loaded.
///
/// # Safety
/// Implementations are only called where their CPU features are present; pointers must be
/// valid for the values each method names.
pub trait WordLanes: Copy {
    /// Lanes (`i32`) per vector.
    const N: usize;
    /// All zero.
    ///
    /// # Safety
    /// The implementation's CPU features must be present.
    unsafe fn zero() -> Self;
    /// The four `i16` at `a` in every pair of lanes (`vpbroadcastq`).
    ///
    /// # Safety
    /// The implementation's CPU features must be present; `a` valid for four `i16` (no
    /// alignment required).
    unsafe fn splat4(a: *const i16) -> Self;
    /// `2·N` bytes from `b`, sign-extended to `i16` (`vpmovsxbw`): `N / 2` columns of four.
    ///
    /// # Safety
    /// The implementation's CPU features must be present; `b` valid for `2·N` bytes.
    unsafe fn widen(b: *const i8) -> Self;
    /// `acc + a₀·b₀ + a₁·b₁` per lane, over its two `i16` (`vpmaddwd` + `vpaddd`; wrapping).
    ///
    /// # Safety
    /// The implementation's CPU features must be present.
    unsafe fn madd(acc: Self, a: Self, b: Self) -> Self;
    /// Column sums from two vectors of half sums: lanes `2c`, `2c + 1` of `lo` hold the two
    /// halves of column `c`, those of `hi` of column `N / 2 + c`; the result's lane `c` is
    /// column `c`'s whole sum, for `c < N` (`vphaddd` + `vpermq`).
    ///
    /// # Safety
    /// The implementation's CPU features must be present.
    unsafe fn fold(lo: Self, hi: Self) -> Self;
    /// Writes the `N` lanes to `c` (no alignment required).
    ///
    /// # Safety
    /// The implementation's CPU features must be present; `c` valid for `N` writes.
    unsafe fn store(self, c: *mut i32);
}

/// Plain-Rust [`WordLanes`]: the exact-8-bit AVX2 tile's logic on any machine. Tests only.
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmulatedWords<const N: usize>(pub [[i16; 2]; N]);

#[cfg(test)]
impl<const N: usize> WordLanes for EmulatedWords<N> {
    const N: usize = N;

    unsafe fn zero() -> Self {
        EmulatedWords([[0; 2]; N])
    }

    unsafe fn splat4(a: *const i16) -> Self {
        // SAFETY: the caller guarantees four readable i16 at a.
        let v = unsafe { a.cast::<[i16; 4]>().read_unaligned() };
        EmulatedWords(std::array::from_fn(|l| {
            [v[2 * (l % 2)], v[2 * (l % 2) + 1]]
        }))
    }

    unsafe fn widen(b: *const i8) -> Self {
        // SAFETY: the caller guarantees 2·N readable bytes at b.
        EmulatedWords(std::array::from_fn(|l| unsafe {
            [*b.add(2 * l) as i16, *b.add(2 * l + 1) as i16]
        }))
    }

    unsafe fn madd(acc: Self, a: Self, b: Self) -> Self {
        EmulatedWords(std::array::from_fn(|l| {
            let sum = a.0[l][0] as i32 * b.0[l][0] as i32 + a.0[l][1] as i32 * b.0[l][1] as i32;
            split(join(acc.0[l]).wrapping_add(sum))
        }))
    }

    unsafe fn fold(lo: Self, hi: Self) -> Self {
        EmulatedWords(std::array::from_fn(|c| {
            let (v, c) = if c < N / 2 { (lo, c) } else { (hi, c - N / 2) };
            split(join(v.0[2 * c]).wrapping_add(join(v.0[2 * c + 1])))
        }))
    }

    unsafe fn store(self, c: *mut i32) {
        for l in 0..N {
            // SAFETY: the caller guarantees N writable i32 at c.
            unsafe { c.add(l).write_unaligned(join(self.0[l])) };
        }
    }
}

/// An `i32` lane from its two `i16` halves (low first, as in memory).
#[cfg(test)]
fn join(v: [i16; 2]) -> i32 {
    (v[0] as u16 as u32 | (v[1] as u16 as u32) << 16) as i32
}

/// The two `i16` halves of an `i32` lane.
#[cfg(test)]
fn split(v: i32) -> [i16; 2] {
    [v as i16, (v >> 16) as i16]
}

/// A vector of `N` `i32` lanes, each holding four bytes or two `i16`: the operations of AVX2's
/// 7-bit kernel ([`super::kernel::tile_pairs`]), which adds two `vpmaddubsw` results in `i16`
/// before widening them, so that one `vpmaddwd` serves 64 multiply-adds instead of 32.
///
/// # Safety
/// Implementations are only called where their CPU features are present; pointers must be
/// valid for the bytes each method names.
pub trait ByteLanes: Copy {
    /// Lanes (`i32`) per vector.
    const N: usize;
    /// All zero.
    ///
    /// # Safety
    /// The implementation's CPU features must be present.
    unsafe fn zero() -> Self;
    /// The four bytes at `a` in every lane.
    ///
    /// # Safety
    /// The implementation's CPU features must be present; `a` valid for four bytes.
    unsafe fn splat4(a: *const u8) -> Self;
    /// `4·N` bytes from `b` (no alignment required).
    ///
    /// # Safety
    /// The implementation's CPU features must be present; `b` valid for `4·N` bytes.
    unsafe fn load(b: *const i8) -> Self;
    /// `vpmaddubsw`: in each `i16` half, `a₀·b₀ + a₁·b₁` of its two bytes (`a` as `u8`, `b`
    /// as `i8`), saturated to `i16`.
    ///
    /// # Safety
    /// The implementation's CPU features must be present.
    unsafe fn maddubs(a: Self, b: Self) -> Self;
    /// `vpaddw`: `x + y` per `i16` half, wrapping.
    ///
    /// # Safety
    /// The implementation's CPU features must be present.
    unsafe fn add16(x: Self, y: Self) -> Self;
    /// `acc + lo + hi` per lane, `lo` and `hi` the two `i16` halves of `x` (`vpmaddwd` by
    /// ones, then `vpaddd`; wrapping).
    ///
    /// # Safety
    /// The implementation's CPU features must be present.
    unsafe fn widen_add(acc: Self, x: Self) -> Self;
    /// Writes the `N` lanes to `c` as `i32` (no alignment required).
    ///
    /// # Safety
    /// The implementation's CPU features must be present; `c` valid for `N` writes.
    unsafe fn store(self, c: *mut i32);
}

/// [`Emulated`] lanes as [`ByteLanes`], with the instructions' exact meaning (saturation in
/// `maddubs`, wrapping elsewhere): AVX2's 7-bit tile logic on any machine. Tests only.
#[cfg(test)]
impl<const N: usize> Emulated<N> {
    /// The two `i16` halves of lane `l`.
    fn halves(self, l: usize) -> [i16; 2] {
        let b = self.0[l];
        [
            i16::from_le_bytes([b[0], b[1]]),
            i16::from_le_bytes([b[2], b[3]]),
        ]
    }

    /// A vector from each lane's two `i16` halves.
    fn from_halves(f: impl Fn(usize) -> [i16; 2]) -> Self {
        Emulated(std::array::from_fn(|l| {
            let [lo, hi] = f(l);
            let (lo, hi) = (lo.to_le_bytes(), hi.to_le_bytes());
            [lo[0], lo[1], hi[0], hi[1]]
        }))
    }
}

#[cfg(test)]
impl<const N: usize> ByteLanes for Emulated<N> {
    const N: usize = N;

    unsafe fn zero() -> Self {
        // SAFETY: emulated lanes need no CPU feature.
        unsafe { <Self as Lanes>::zero() }
    }

    unsafe fn splat4(a: *const u8) -> Self {
        // SAFETY: forwarded (four readable bytes at a).
        unsafe { <Self as Lanes>::splat4(a) }
    }

    unsafe fn load(b: *const i8) -> Self {
        // SAFETY: forwarded (4·N readable bytes at b).
        unsafe { <Self as Lanes>::load(b) }
    }

    unsafe fn maddubs(a: Self, b: Self) -> Self {
        Self::from_halves(|l| {
            std::array::from_fn(|h| {
                let sum: i32 = (2 * h..2 * h + 2)
                    .map(|t| a.0[l][t] as i32 * b.0[l][t] as i8 as i32)
                    .sum();
                sum.clamp(i16::MIN as i32, i16::MAX as i32) as i16
            })
        })
    }

    unsafe fn add16(x: Self, y: Self) -> Self {
        Self::from_halves(|l| {
            let (x, y) = (x.halves(l), y.halves(l));
            [x[0].wrapping_add(y[0]), x[1].wrapping_add(y[1])]
        })
    }

    unsafe fn widen_add(acc: Self, x: Self) -> Self {
        Emulated(std::array::from_fn(|l| {
            let [lo, hi] = x.halves(l);
            let acc = i32::from_le_bytes(acc.0[l]);
            acc.wrapping_add(lo as i32 + hi as i32).to_le_bytes()
        }))
    }

    unsafe fn store(self, c: *mut i32) {
        // SAFETY: forwarded (N writable i32 at c).
        unsafe { <Self as Lanes>::store(self, c) }
    }
}
