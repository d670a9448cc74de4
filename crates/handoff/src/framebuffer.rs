//! GOP pixel formats → Limine framebuffer masks (§10 step 7).

use crate::responses::{Framebuffer, VideoMode, MEMORY_MODEL_RGB};
use core::fmt;

/// The GOP `PixelFormat` of the current mode (UEFI 2.10 §12.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GopFormat {
    /// PixelRedGreenBlueReserved8BitPerColor.
    Rgb,
    /// PixelBlueGreenRedReserved8BitPerColor.
    Bgr,
    /// PixelBitMask with its four masks.
    Bitmask {
        /// Red mask.
        red: u32,
        /// Green mask.
        green: u32,
        /// Blue mask.
        blue: u32,
        /// Reserved mask.
        reserved: u32,
    },
    /// PixelBltOnly: no linear framebuffer.
    BltOnly,
}

/// Why the GOP mode cannot be described as a Limine framebuffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FramebufferError {
    /// PixelBltOnly: there is no linear framebuffer.
    BltOnly,
    /// A colour mask is empty or not one contiguous run of bits.
    BadMask(u32),
}

impl fmt::Display for FramebufferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BltOnly => write!(f, "GOP mode is BltOnly: no linear framebuffer"),
            Self::BadMask(m) => write!(f, "GOP colour mask {m:#x} is not a contiguous bit run"),
        }
    }
}

/// Bits per pixel plus (size, shift) of each colour channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PixelLayout {
    /// Bits per pixel.
    pub bpp: u16,
    /// Red (size, shift).
    pub red: (u8, u8),
    /// Green (size, shift).
    pub green: (u8, u8),
    /// Blue (size, shift).
    pub blue: (u8, u8),
}

fn channel(mask: u32) -> Result<(u8, u8), FramebufferError> {
    if mask == 0 {
        return Err(FramebufferError::BadMask(mask));
    }
    let shift = mask.trailing_zeros();
    let size = (mask >> shift).trailing_ones();
    if (mask >> shift) >> size != 0 {
        return Err(FramebufferError::BadMask(mask));
    }
    // Both are ≤ 32.
    Ok((size as u8, shift as u8))
}

impl PixelLayout {
    /// Derives the layout from a GOP pixel format.
    pub fn from_gop(format: GopFormat) -> Result<Self, FramebufferError> {
        match format {
            GopFormat::Rgb => Ok(Self {
                bpp: 32,
                red: (8, 0),
                green: (8, 8),
                blue: (8, 16),
            }),
            GopFormat::Bgr => Ok(Self {
                bpp: 32,
                red: (8, 16),
                green: (8, 8),
                blue: (8, 0),
            }),
            GopFormat::Bitmask {
                red,
                green,
                blue,
                reserved,
            } => {
                let all = red | green | blue | reserved;
                // Highest used bit, rounded up to whole bytes.
                let bits = 32 - all.leading_zeros();
                Ok(Self {
                    bpp: bits.div_ceil(8) as u16 * 8,
                    red: channel(red)?,
                    green: channel(green)?,
                    blue: channel(blue)?,
                })
            }
            GopFormat::BltOnly => Err(FramebufferError::BltOnly),
        }
    }

    /// Bytes per scanline for `pixels_per_scanline` (§10 step 7).
    #[must_use]
    pub fn pitch(&self, pixels_per_scanline: u64) -> u64 {
        pixels_per_scanline * u64::from(self.bpp / 8)
    }

    /// Builds the framebuffer entry; `modes` is filled in by the caller.
    #[must_use]
    pub fn framebuffer(&self, address: u64, width: u64, height: u64, pitch: u64) -> Framebuffer {
        Framebuffer {
            address,
            width,
            height,
            pitch,
            bpp: self.bpp,
            memory_model: MEMORY_MODEL_RGB,
            red_mask_size: self.red.0,
            red_mask_shift: self.red.1,
            green_mask_size: self.green.0,
            green_mask_shift: self.green.1,
            blue_mask_size: self.blue.0,
            blue_mask_shift: self.blue.1,
            ..Framebuffer::default()
        }
    }

    /// The matching video mode entry.
    #[must_use]
    pub fn video_mode(&self, width: u64, height: u64, pitch: u64) -> VideoMode {
        VideoMode {
            pitch,
            width,
            height,
            bpp: self.bpp,
            memory_model: MEMORY_MODEL_RGB,
            red_mask_size: self.red.0,
            red_mask_shift: self.red.1,
            green_mask_size: self.green.0,
            green_mask_shift: self.green.1,
            blue_mask_size: self.blue.0,
            blue_mask_shift: self.blue.1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_formats() {
        let bgr = PixelLayout::from_gop(GopFormat::Bgr).unwrap();
        assert_eq!(
            (bgr.bpp, bgr.red, bgr.green, bgr.blue),
            (32, (8, 16), (8, 8), (8, 0))
        );
        let rgb = PixelLayout::from_gop(GopFormat::Rgb).unwrap();
        assert_eq!((rgb.red, rgb.blue), ((8, 0), (8, 16)));
        assert_eq!(rgb.pitch(1280), 5120);
        assert_eq!(
            PixelLayout::from_gop(GopFormat::BltOnly),
            Err(FramebufferError::BltOnly)
        );
    }

    #[test]
    fn bitmask_565_and_bad_masks() {
        let l = PixelLayout::from_gop(GopFormat::Bitmask {
            red: 0xf800,
            green: 0x07e0,
            blue: 0x001f,
            reserved: 0,
        })
        .unwrap();
        assert_eq!(
            (l.bpp, l.red, l.green, l.blue),
            (16, (5, 11), (6, 5), (5, 0))
        );
        assert_eq!(l.pitch(100), 200);
        let l = PixelLayout::from_gop(GopFormat::Bitmask {
            red: 0x3ff0_0000,
            green: 0x000f_fc00,
            blue: 0x0000_03ff,
            reserved: 0xc000_0000,
        })
        .unwrap();
        assert_eq!((l.bpp, l.red, l.blue), (32, (10, 20), (10, 0)));
        for bad in [0, 0b101] {
            let r = PixelLayout::from_gop(GopFormat::Bitmask {
                red: bad,
                green: 0xff00,
                blue: 0xff,
                reserved: 0,
            });
            assert_eq!(r, Err(FramebufferError::BadMask(bad)));
        }
    }

    #[test]
    fn framebuffer_copies_layout() {
        let l = PixelLayout::from_gop(GopFormat::Bgr).unwrap();
        let fb = l.framebuffer(0xffff_8000_8000_0000, 800, 600, 3200);
        assert_eq!(fb.red_mask_shift, 16);
        assert_eq!(fb.memory_model, 1);
        let m = l.video_mode(800, 600, 3200);
        assert_eq!((m.width, m.pitch, m.blue_mask_shift), (800, 3200, 0));
    }
}
