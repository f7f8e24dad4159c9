//! The one operation the int8 micro-kernel is written in, over vectors of `i32` lanes.
//!
//! [`Lanes::dpbusd`] has the meaning of AVX512-VNNI's `vpdpbusd`: in each 32-bit lane, the four
//! unsigned bytes of `a` times the four signed bytes of `b`, summed into the lane of `acc`
//! (wrapping, no saturation). The kernel ([`super::kernel`]) only ever calls that, so the same
//! kernel runs on [`Emulated`] lanes (the portable path, and the tests of the logic on every
//! machine), on AVX2 (`vpmaddubsw` + `vpmaddwd`, exact while `a ≤ 127`, see [`super::avx2`])
//! and on AVX512-VNNI / AVX-VNNI (one instruction).

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

/// AVX2's `vpmaddubsw` + `vpmaddwd` + `vpaddd` emulated exactly, saturation of the `i16` pair
/// sums included: it equals [`Emulated`] only while no pair `a₀b₀ + a₁b₁` leaves `i16`, which is
/// why the AVX2 path feeds it 7-bit activations. Tests only.
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmulatedMaddubs<const N: usize>(pub Emulated<N>);

#[cfg(test)]
impl<const N: usize> Lanes for EmulatedMaddubs<N> {
    const N: usize = N;

    unsafe fn zero() -> Self {
        EmulatedMaddubs(unsafe { Emulated::zero() })
    }

    unsafe fn splat4(a: *const u8) -> Self {
        EmulatedMaddubs(unsafe { Emulated::splat4(a) })
    }

    unsafe fn load(b: *const i8) -> Self {
        EmulatedMaddubs(unsafe { Emulated::load(b) })
    }

    unsafe fn dpbusd(acc: Self, a: Self, b: Self) -> Self {
        let mut out = acc.0;
        for l in 0..N {
            let (a, b) = (a.0 .0[l], b.0 .0[l]);
            let pair = |t: usize| {
                let s = a[t] as i32 * b[t] as i8 as i32 + a[t + 1] as i32 * b[t + 1] as i8 as i32;
                s.clamp(i16::MIN as i32, i16::MAX as i32)
            };
            let sum = i32::from_le_bytes(acc.0 .0[l]).wrapping_add(pair(0) + pair(2));
            out.0[l] = sum.to_le_bytes();
        }
        EmulatedMaddubs(out)
    }

    unsafe fn store(self, c: *mut i32) {
        unsafe { self.0.store(c) }
    }
}
