//! `<string.h>` memory functions: memcpy, memmove, memset, memcmp, memchr.
//!
//! These are also what the compiler calls for struct copies and array
//! initialisation in every image, so they must never call themselves: the
//! copies and fills are string instructions and the crate is
//! `#![no_builtins]`. Forward copies and fills move eight bytes a step
//! (`rep movsq` / `rep stosq`) and the last 0-7 bytes one at a time:
//! `rep movsb` alone is fast on real CPUs with ERMSB (Intel SDM vol. 1
//! §7.3.9.3), but under QEMU's TCG every byte is a step of its own (and a
//! counted instruction under `-icount`).

use core::arch::asm;
use core::ffi::{c_int, c_void};

/// Copies `n` bytes from `src` to `dst`; the ranges must not overlap.
///
/// # Safety
/// `src` must be readable and `dst` writable for `n` bytes.
#[cfg_attr(feature = "intrinsics", unsafe(no_mangle))]
pub unsafe extern "C" fn memcpy(dst: *mut c_void, src: *const c_void, n: usize) -> *mut c_void {
    // SAFETY: the caller guarantees both ranges; with DF clear (the ABI's
    // state at every call) `rep movsq` copies RCX quadwords upward, then
    // `rep movsb` the remaining bytes from where it stopped.
    unsafe {
        asm!(
            "rep movsq",
            "mov ecx, {tail:e}",
            "rep movsb",
            tail = in(reg) n & 7,
            inout("rcx") n / 8 => _,
            inout("rdi") dst => _,
            inout("rsi") src => _,
            options(nostack, preserves_flags)
        );
    }
    dst
}

/// Copies `n` bytes from `src` to `dst`; the ranges may overlap.
///
/// # Safety
/// `src` must be readable and `dst` writable for `n` bytes.
#[cfg_attr(feature = "intrinsics", unsafe(no_mangle))]
pub unsafe extern "C" fn memmove(dst: *mut c_void, src: *const c_void, n: usize) -> *mut c_void {
    let (d, s) = (dst as usize, src as usize);
    if d <= s || d >= s.wrapping_add(n) {
        // Forward copy is safe: dst is below src or past its end.
        // SAFETY: as for `memcpy`; a forward byte copy reads every source
        // byte before it can be overwritten when dst <= src.
        return unsafe { memcpy(dst, src, n) };
    }
    // dst lies inside (src, src + n): copy downward, last byte first.
    // SAFETY: the caller guarantees both ranges. With DF set, `rep movsb`
    // copies from RSI/RDI downward, so each source byte is read before the
    // copy overwrites it; DF is cleared again, as the ABI requires.
    unsafe {
        asm!(
            "std",
            "rep movsb",
            "cld",
            inout("rcx") n => _,
            inout("rdi") d + n - 1 => _,
            inout("rsi") s + n - 1 => _,
            options(nostack)
        );
    }
    dst
}

/// Fills `n` bytes at `dst` with the byte value of `c`.
///
/// # Safety
/// `dst` must be writable for `n` bytes.
#[cfg_attr(feature = "intrinsics", unsafe(no_mangle))]
pub unsafe extern "C" fn memset(dst: *mut c_void, c: c_int, n: usize) -> *mut c_void {
    // The byte in all eight lanes of RAX.
    let fill = u64::from(c as u8) * 0x0101_0101_0101_0101;
    // SAFETY: the caller guarantees the range; with DF clear `rep stosq`
    // stores RAX into RCX quadwords upward, then `rep stosb` stores AL into
    // the remaining bytes.
    unsafe {
        asm!(
            "rep stosq",
            "mov ecx, {tail:e}",
            "rep stosb",
            tail = in(reg) n & 7,
            inout("rcx") n / 8 => _,
            inout("rdi") dst => _,
            in("rax") fill,
            options(nostack, preserves_flags)
        );
    }
    dst
}

/// Compares `n` bytes as unsigned chars: <0, 0 or >0.
///
/// # Safety
/// Both ranges must be readable for `n` bytes.
#[cfg_attr(feature = "intrinsics", unsafe(no_mangle))]
pub unsafe extern "C" fn memcmp(a: *const c_void, b: *const c_void, n: usize) -> c_int {
    let (a, b) = (a.cast::<u8>(), b.cast::<u8>());
    for i in 0..n {
        // SAFETY: i < n, inside both ranges the caller guarantees.
        let (x, y) = unsafe { (*a.add(i), *b.add(i)) };
        if x != y {
            return c_int::from(x) - c_int::from(y);
        }
    }
    0
}

/// The first of `n` bytes at `s` equal to `(unsigned char)c`, or null.
///
/// # Safety
/// `s` must be readable for `n` bytes (or up to the match).
#[cfg_attr(feature = "intrinsics", unsafe(no_mangle))]
pub unsafe extern "C" fn memchr(s: *const c_void, c: c_int, n: usize) -> *mut c_void {
    let s = s.cast::<u8>();
    for i in 0..n {
        // SAFETY: i < n, inside the range the caller guarantees.
        if unsafe { *s.add(i) } == c as u8 {
            // SAFETY: the same in-range offset.
            return unsafe { s.add(i) }.cast_mut().cast();
        }
    }
    core::ptr::null_mut()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mv(buf: &mut [u8; 16], dst: usize, src: usize, n: usize) {
        let p = buf.as_mut_ptr();
        // SAFETY: the test keeps dst + n and src + n within the 16 bytes.
        unsafe { memmove(p.add(dst).cast(), p.add(src).cast(), n) };
    }

    #[test]
    fn memmove_handles_both_overlaps() {
        let mut b = *b"0123456789abcdef";
        mv(&mut b, 2, 0, 8);
        assert_eq!(&b, b"0101234567abcdef");
        let mut b = *b"0123456789abcdef";
        mv(&mut b, 0, 2, 8);
        assert_eq!(&b, b"2345678989abcdef");
        let mut b = *b"0123456789abcdef";
        mv(&mut b, 5, 5, 4);
        assert_eq!(&b, b"0123456789abcdef");
        mv(&mut b, 15, 0, 1);
        assert_eq!(&b, b"0123456789abcde0");
    }

    #[test]
    fn memcpy_memset_memcmp_memchr() {
        let src = *b"hello, world";
        let mut dst = [0u8; 12];
        // SAFETY: both buffers are 12 bytes.
        unsafe { memcpy(dst.as_mut_ptr().cast(), src.as_ptr().cast(), 12) };
        assert_eq!(dst, src);
        // SAFETY: 5 bytes inside the 12-byte buffer.
        unsafe { memset(dst.as_mut_ptr().add(2).cast(), 0x17a, 5) };
        assert_eq!(&dst, b"he\x7a\x7a\x7a\x7a\x7aworld");
        // SAFETY: all reads stay inside the 12-byte buffers.
        unsafe {
            assert_eq!(memcmp(src.as_ptr().cast(), src.as_ptr().cast(), 12), 0);
            assert!(memcmp(dst.as_ptr().cast(), src.as_ptr().cast(), 12) > 0);
            assert!(memcmp(b"\x01".as_ptr().cast(), b"\xff".as_ptr().cast(), 1) < 0);
            assert_eq!(memcmp(dst.as_ptr().cast(), src.as_ptr().cast(), 0), 0);
            let w = memchr(src.as_ptr().cast(), c_int::from(b'w'), 12);
            assert_eq!(w as usize - src.as_ptr() as usize, 7);
            assert!(memchr(src.as_ptr().cast(), c_int::from(b'z'), 12).is_null());
        }
    }

    #[test]
    fn copies_and_fills_of_every_length_and_alignment_stay_in_range() {
        let src: Vec<u8> = (0..200u32).map(|i| (i * 7 + 3) as u8).collect();
        for offset in 0..8 {
            for n in 0..90 {
                let mut dst = [0xeeu8; 120];
                // SAFETY: offset + n <= 97 < 120 and n <= 200.
                unsafe {
                    memcpy(
                        dst.as_mut_ptr().add(offset).cast(),
                        src.as_ptr().add(3).cast(),
                        n,
                    )
                };
                assert_eq!(
                    &dst[offset..offset + n],
                    &src[3..3 + n],
                    "memcpy {offset}+{n}"
                );
                assert!(dst[..offset]
                    .iter()
                    .chain(&dst[offset + n..])
                    .all(|&b| b == 0xee));
                let mut fill = [0xeeu8; 120];
                // SAFETY: as above.
                unsafe { memset(fill.as_mut_ptr().add(offset).cast(), 0x1_41, n) };
                assert!(
                    fill[offset..offset + n].iter().all(|&b| b == 0x41),
                    "memset {offset}+{n}"
                );
                assert!(fill[..offset]
                    .iter()
                    .chain(&fill[offset + n..])
                    .all(|&b| b == 0xee));
            }
        }
    }
}
