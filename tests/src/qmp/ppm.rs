//! Reads the binary PPM (P6) files QEMU's `screendump` writes.
//!
//! Format (netpbm's ppm(5)): `P6`, width, height and maxval as ASCII
//! decimals separated by whitespace (with `#` comments running to the end of
//! a line), exactly one whitespace byte, then `width * height` RGB triples,
//! one byte per sample when maxval < 256. QEMU always writes maxval 255.

use std::fmt;
use std::path::{Path, PathBuf};

/// The only maxval accepted: one byte per sample, full range (QEMU's
/// `ppm_save` writes 255).
const MAXVAL: u32 = 255;

/// The largest width or height accepted: above what QEMU's std-vga can
/// show (`VBE_DISPI_MAX_XRES` 16000, `VBE_DISPI_MAX_YRES` 12000 in QEMU's
/// hw/display/vga_int.h), and small enough that a hostile header cannot
/// ask for more than 768 MiB.
pub const MAX_SIDE: u32 = 16384;

/// Why a PPM file was refused.
#[derive(Debug)]
pub enum PpmError {
    /// The file could not be read.
    Io(PathBuf, std::io::Error),
    /// It does not start with `P6`.
    NotP6,
    /// The header ended early or held something other than a number.
    BadHeader(usize),
    /// A header number does not fit in 32 bits.
    Overflow(usize),
    /// Width or height is zero or larger than [`MAX_SIDE`].
    BadSize {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// Maxval is not 255.
    Maxval(u32),
    /// Fewer raster bytes than the header promises.
    Short {
        /// Bytes the header promises.
        needed: usize,
        /// Bytes present.
        got: usize,
    },
    /// More bytes after the raster.
    Trailing(usize),
}

impl fmt::Display for PpmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PpmError::Io(path, e) => write!(f, "{}: {e}", path.display()),
            PpmError::NotP6 => write!(f, "PPM: not a binary (P6) file"),
            PpmError::BadHeader(at) => write!(f, "PPM: malformed header at byte {at}"),
            PpmError::Overflow(at) => write!(f, "PPM: header number too large at byte {at}"),
            PpmError::BadSize { width, height } => {
                write!(f, "PPM: size {width}x{height} refused (1..={MAX_SIDE})")
            }
            PpmError::Maxval(m) => write!(f, "PPM: maxval {m} refused (only {MAXVAL})"),
            PpmError::Short { needed, got } => {
                write!(f, "PPM: raster has {got} bytes, header promises {needed}")
            }
            PpmError::Trailing(n) => write!(f, "PPM: {n} bytes after the raster"),
        }
    }
}

impl std::error::Error for PpmError {}

/// An RGB image, rows top to bottom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height` pixels, row-major.
    pub pixels: Vec<[u8; 3]>,
}

impl Image {
    /// Reads and parses a P6 file.
    pub fn load(path: &Path) -> Result<Image, PpmError> {
        let data = std::fs::read(path).map_err(|e| PpmError::Io(path.to_path_buf(), e))?;
        Image::parse(&data)
    }

    /// Parses P6 data.
    pub fn parse(data: &[u8]) -> Result<Image, PpmError> {
        if data.get(..2) != Some(b"P6") {
            return Err(PpmError::NotP6);
        }
        // The magic number is followed by whitespace (or a comment).
        if !matches!(data.get(2), Some(b) if b.is_ascii_whitespace() || *b == b'#') {
            return Err(PpmError::BadHeader(2));
        }
        let mut header = Header { data, pos: 2 };
        let width = header.number()?;
        let height = header.number()?;
        let maxval = header.number()?;
        // Exactly one whitespace byte ends the header.
        match data.get(header.pos) {
            Some(b) if b.is_ascii_whitespace() => header.pos += 1,
            _ => return Err(PpmError::BadHeader(header.pos)),
        }
        if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
            return Err(PpmError::BadSize { width, height });
        }
        if maxval != MAXVAL {
            return Err(PpmError::Maxval(maxval));
        }
        // At most 16384 * 16384 * 3 bytes: fits a 64-bit usize.
        let needed = width as usize * height as usize * 3;
        let raster = data.get(header.pos..).unwrap_or_default();
        if raster.len() < needed {
            return Err(PpmError::Short {
                needed,
                got: raster.len(),
            });
        }
        if raster.len() > needed {
            return Err(PpmError::Trailing(raster.len() - needed));
        }
        let pixels = raster
            .chunks_exact(3)
            .map(|c| <[u8; 3]>::try_from(c).unwrap_or_default())
            .collect();
        Ok(Image {
            width,
            height,
            pixels,
        })
    }

    /// The pixel at column `x`, row `y`; `None` outside the image.
    pub fn pixel(&self, x: u32, y: u32) -> Option<[u8; 3]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        self.pixels
            .get(y as usize * self.width as usize + x as usize)
            .copied()
    }

    /// How many pixels have exactly this colour.
    pub fn count(&self, colour: [u8; 3]) -> usize {
        self.pixels.iter().filter(|&&p| p == colour).count()
    }

    /// True if every pixel has the same colour.
    pub fn is_one_colour(&self) -> bool {
        match self.pixels.first() {
            Some(&first) => self.pixels.iter().all(|&p| p == first),
            None => true,
        }
    }
}

/// A cursor over the header's tokens.
struct Header<'d> {
    data: &'d [u8],
    pos: usize,
}

impl Header<'_> {
    /// Skips whitespace and comments, then reads one decimal number.
    fn number(&mut self) -> Result<u32, PpmError> {
        loop {
            match self.data.get(self.pos) {
                Some(b) if b.is_ascii_whitespace() => self.pos += 1,
                Some(b'#') => {
                    while !matches!(self.data.get(self.pos), None | Some(b'\n' | b'\r')) {
                        self.pos += 1;
                    }
                }
                _ => break,
            }
        }
        let start = self.pos;
        let mut value: u32 = 0;
        while let Some(&b) = self.data.get(self.pos) {
            if !b.is_ascii_digit() {
                break;
            }
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u32::from(b - b'0')))
                .ok_or(PpmError::Overflow(start))?;
            self.pos += 1;
        }
        if self.pos == start {
            return Err(PpmError::BadHeader(start));
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::{Image, PpmError, MAX_SIDE};

    fn ppm(header: &str, raster: &[u8]) -> Vec<u8> {
        let mut v = header.as_bytes().to_vec();
        v.extend_from_slice(raster);
        v
    }

    /// A 3x2 image whose pixels are all different.
    const RASTER: [u8; 18] = [
        1, 2, 3, 4, 5, 6, 7, 8, 9, //
        10, 11, 12, 13, 14, 15, 16, 17, 18,
    ];

    #[test]
    fn reads_a_good_file() {
        let img = Image::parse(&ppm("P6\n3 2\n255\n", &RASTER)).expect("parses");
        assert_eq!((img.width, img.height), (3, 2));
        assert_eq!(img.pixel(0, 0), Some([1, 2, 3]));
        assert_eq!(img.pixel(2, 0), Some([7, 8, 9]));
        assert_eq!(img.pixel(0, 1), Some([10, 11, 12]));
        assert_eq!(img.pixel(2, 1), Some([16, 17, 18]));
        assert_eq!(img.pixel(3, 0), None);
        assert_eq!(img.pixel(0, 2), None);
        assert!(!img.is_one_colour());
        assert_eq!(img.count([4, 5, 6]), 1);
    }

    #[test]
    fn the_raster_may_start_with_a_whitespace_byte() {
        // The single separator is consumed; the next byte (b'\n' = 10) is
        // the first sample.
        let mut raster = RASTER;
        raster[0] = b'\n';
        let img = Image::parse(&ppm("P6 3 2 255 ", &raster)).expect("parses");
        assert_eq!(img.pixel(0, 0), Some([b'\n', 2, 3]));
    }

    #[test]
    fn skips_comments_in_the_header() {
        let header = "P6 # made by hand\n# a whole comment line\n3 #w\n 2\r# h\n255\n";
        let img = Image::parse(&ppm(header, &RASTER)).expect("parses");
        assert_eq!((img.width, img.height), (3, 2));
        assert_eq!(img.pixel(1, 1), Some([13, 14, 15]));
    }

    #[test]
    fn one_colour_is_seen() {
        let img = Image::parse(&ppm("P6 2 2 255\n", &[9; 12])).expect("parses");
        assert!(img.is_one_colour());
        assert_eq!(img.count([9, 9, 9]), 4);
    }

    #[test]
    fn refuses_short_and_long_data() {
        let short = Image::parse(&ppm("P6\n3 2\n255\n", &RASTER[..17]));
        assert!(matches!(
            short,
            Err(PpmError::Short {
                needed: 18,
                got: 17
            })
        ));
        let mut long = RASTER.to_vec();
        long.push(0);
        let long = Image::parse(&ppm("P6\n3 2\n255\n", &long));
        assert!(matches!(long, Err(PpmError::Trailing(1))));
    }

    #[test]
    fn refuses_other_maxvals_and_formats() {
        let m = Image::parse(&ppm("P6\n3 2\n65535\n", &[0; 36]));
        assert!(matches!(m, Err(PpmError::Maxval(65535))));
        let m = Image::parse(&ppm("P6\n3 2\n15\n", &RASTER));
        assert!(matches!(m, Err(PpmError::Maxval(15))));
        assert!(matches!(
            Image::parse(&ppm("P3\n3 2\n255\n", &RASTER)),
            Err(PpmError::NotP6)
        ));
        assert!(matches!(Image::parse(b"P"), Err(PpmError::NotP6)));
    }

    #[test]
    fn refuses_malformed_headers() {
        for bad in [
            "P6",
            "P6 3",
            "P6 3 2",
            "P6 3 2 255",
            "P6 x 2 255 ",
            "P63 2 255",
        ] {
            let r = Image::parse(bad.as_bytes());
            assert!(
                matches!(r, Err(PpmError::BadHeader(_))),
                "{bad:?} gave {r:?}"
            );
        }
        // No separator between maxval and raster.
        let r = Image::parse(&ppm("P6 1 1 255", &[1, 2, 3]));
        assert!(matches!(r, Err(PpmError::BadHeader(_))), "{r:?}");
    }

    #[test]
    fn refuses_huge_dimensions_without_allocating() {
        // Each would need far more memory than the test has if it were
        // allocated before checking.
        let r = Image::parse(b"P6 4294967295 4294967295 255\n");
        assert!(matches!(
            r,
            Err(PpmError::BadSize {
                width: u32::MAX,
                height: u32::MAX
            })
        ));
        let side = format!("P6 {MAX_SIDE} {MAX_SIDE} 255\n");
        assert!(matches!(
            Image::parse(side.as_bytes()),
            Err(PpmError::Short { got: 0, .. })
        ));
        let wide = format!("P6 {} 1 255\n", MAX_SIDE + 1);
        assert!(matches!(
            Image::parse(wide.as_bytes()),
            Err(PpmError::BadSize { .. })
        ));
        assert!(matches!(
            Image::parse(b"P6 99999999999 1 255\n"),
            Err(PpmError::Overflow(3))
        ));
        assert!(matches!(
            Image::parse(b"P6 0 1 255\n"),
            Err(PpmError::BadSize { .. })
        ));
    }

    /// Property: every truncation and one-byte change of a good file gives
    /// an image or an error, never a panic.
    #[test]
    fn hostile_files_never_panic() {
        let good = ppm("P6 # c\n3 2\n255\n", &RASTER);
        for cut in 0..good.len() {
            assert!(Image::parse(&good[..cut]).is_err(), "cut at {cut}");
        }
        for at in 0..good.len() {
            for b in [0u8, b' ', b'#', b'\n', b'9', b'P', 0xff] {
                let mut bad = good.clone();
                bad[at] = b;
                let _ = Image::parse(&bad);
            }
        }
    }
}
