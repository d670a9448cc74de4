//! One row of a program's XRGB buffer, scaled and converted for the screen.

/// Where each colour channel sits in a framebuffer pixel (Limine's
/// framebuffer mask size and shift, limine-protocol.md §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PixelFormat {
    /// Red (size in bits, shift).
    pub red: (u8, u8),
    /// Green.
    pub green: (u8, u8),
    /// Blue.
    pub blue: (u8, u8),
}

impl PixelFormat {
    /// 32-bit XRGB (blue in the low byte): a program's own format.
    pub const XRGB8888: Self = Self {
        red: (8, 16),
        green: (8, 8),
        blue: (8, 0),
    };

    /// The framebuffer pixel for an XRGB value.
    pub fn convert(&self, xrgb: u32) -> u32 {
        if *self == Self::XRGB8888 {
            return xrgb & 0x00ff_ffff;
        }
        // An 8-bit channel value into a field of `size` bits: its top bits
        // for a narrower field, shifted up for a wider one (10-bit colour).
        let channel = |value: u32, (size, shift): (u8, u8)| -> u32 {
            let size = u32::from(size.min(16));
            let field = match size {
                0 => 0,
                1..=8 => value >> (8 - size),
                _ => value << (size - 8),
            };
            field.checked_shl(u32::from(shift)).unwrap_or(0)
        };
        channel((xrgb >> 16) & 0xff, self.red)
            | channel((xrgb >> 8) & 0xff, self.green)
            | channel(xrgb & 0xff, self.blue)
    }
}

/// Writes the pixels of `src` (little-endian XRGB, 4 bytes each) into
/// `dst` (4 bytes each), every source pixel `factor` times, converted to
/// `format`. Stops when either side runs out; returns the pixels written.
///
/// The common cases (the program's own format at 1×, 2× or 4×) take
/// straight loops without bounds checks (the kernel has no SSE, so they
/// stay scalar): a present of DOOM's 640×400 frame at 2× is 256 000 of
/// these pixels per frame.
pub fn scale_row(src: &[u8], factor: u32, format: PixelFormat, dst: &mut [u8]) -> usize {
    let factor = factor.max(1) as usize;
    // Source pixels whose every copy fits.
    let whole = (src.len() / 4).min(dst.len() / (4 * factor));
    let fast = format == PixelFormat::XRGB8888 && matches!(factor, 1 | 2 | 4);
    if !fast {
        return scale_generic(src, factor, format, dst);
    }
    let (src_whole, src_rest) = src.split_at(whole * 4);
    let (dst_whole, dst_rest) = dst.split_at_mut(whole * 4 * factor);
    // Whole 32-bit loads; the X byte is masked off after the pixel is
    // doubled into a 64-bit pair (masking first makes LLVM split the load).
    const NO_X: u64 = 0x00ff_ffff_00ff_ffff;
    let pairs = src_whole
        .chunks_exact(4)
        .map(|p| (u64::from(u32::from_le_bytes([p[0], p[1], p[2], p[3]])) * 0x1_0000_0001) & NO_X);
    match factor {
        1 => {
            for (d, pair) in dst_whole.chunks_exact_mut(4).zip(pairs) {
                d.copy_from_slice(&(pair as u32).to_le_bytes());
            }
        }
        2 => {
            for (d, pair) in dst_whole.chunks_exact_mut(8).zip(pairs) {
                d.copy_from_slice(&pair.to_le_bytes());
            }
        }
        _ => {
            for (d, pair) in dst_whole.chunks_exact_mut(16).zip(pairs) {
                let pair = pair.to_le_bytes();
                d[..8].copy_from_slice(&pair);
                d[8..].copy_from_slice(&pair);
            }
        }
    }
    // A last pixel cut short by the destination (or none).
    whole * factor + scale_generic(src_rest, factor, format, dst_rest)
}

/// [`scale_row`] for any format and factor, one pixel at a time.
fn scale_generic(src: &[u8], factor: usize, format: PixelFormat, dst: &mut [u8]) -> usize {
    let xrgb = format == PixelFormat::XRGB8888;
    let mut out = dst.chunks_exact_mut(4);
    let mut written = 0;
    for px in src.chunks_exact(4) {
        let value = u32::from_le_bytes([px[0], px[1], px[2], px[3]]);
        // The program's own format: only the X byte goes.
        let bytes = if xrgb {
            (value & 0x00ff_ffff).to_le_bytes()
        } else {
            format.convert(value).to_le_bytes()
        };
        for _ in 0..factor {
            match out.next() {
                Some(d) => d.copy_from_slice(&bytes),
                None => return written,
            }
            written += 1;
        }
    }
    written
}
