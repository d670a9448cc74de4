//! The picture: a 320×200 canvas with a colour bar, a brush and a cursor.

use abi::wm;
use init::rt;

/// Canvas width (DOOM's screen, scaled up by the window system).
pub const W: u32 = 320;
/// Canvas height.
pub const H: u32 = 200;
/// Height of the colour bar at the top.
const BAR: u32 = 12;
/// The colours of the bar (XRGB).
const PALETTE: [u32; 8] = [
    0xffffff, 0xff3030, 0xffa020, 0xf0f040, 0x40d040, 0x40a0ff, 0xa060ff, 0x202020,
];
const BACKGROUND: u32 = 0x101828;

/// The canvas, the frame shown (canvas plus cursor) and the tools.
pub struct Canvas {
    pixels: &'static mut [u32],
    frame: &'static mut [u32],
    colour: u32,
    size: i32,
    /// Client area, to map pointer positions onto the canvas.
    client: (u32, u32),
    cursor: (i32, i32),
    /// Where the held button last painted (strokes join up from there).
    last: Option<(i32, i32)>,
}

fn buffer() -> Option<&'static mut [u32]> {
    let bytes = (W * H * 4) as usize;
    // SAFETY: VirtualAlloc takes no pointers to read (MEM_COMMIT |
    // MEM_RESERVE, PAGE_READWRITE).
    let p: *mut u32 =
        unsafe { rt::VirtualAlloc(core::ptr::null_mut(), bytes, 0x3000, 0x04) }.cast();
    // SAFETY: a fresh, zeroed, writable allocation of W × H pixels, owned
    // by the canvas for the life of the process.
    (!p.is_null()).then(|| unsafe { core::slice::from_raw_parts_mut(p, (W * H) as usize) })
}

impl Canvas {
    /// A cleared canvas for a client area of `width` × `height`.
    pub fn new(width: u32, height: u32) -> Option<Self> {
        let mut c = Self {
            pixels: buffer()?,
            frame: buffer()?,
            colour: PALETTE[0],
            size: 2,
            client: (width, height),
            cursor: (W as i32 / 2, H as i32 / 2),
            last: None,
        };
        c.clear();
        Some(c)
    }

    /// Clears the picture and redraws the colour bar.
    pub fn clear(&mut self) {
        self.pixels.fill(BACKGROUND);
        for y in 0..BAR {
            for x in 0..W {
                let swatch = (x / (W / PALETTE.len() as u32)) as usize;
                self.pixels[(y * W + x) as usize] = PALETTE[swatch.min(PALETTE.len() - 1)];
            }
        }
    }

    /// Canvas coordinates of a client position (the window system scales
    /// by the largest integer factor and centres).
    fn to_canvas(&self, x: i32, y: i32) -> (i32, i32) {
        let f = (self.client.0 / W).min(self.client.1 / H).max(1) as i32;
        let ox = (self.client.0 as i32 - W as i32 * f) / 2;
        let oy = (self.client.1 as i32 - H as i32 * f) / 2;
        ((x - ox) / f, (y - oy) / f)
    }

    /// The pointer is at client `(x, y)` with buttons `mk` held.
    pub fn pointer(&mut self, x: i32, y: i32, mk: u64) {
        let (cx, cy) = self.to_canvas(x, y);
        self.cursor = (cx, cy);
        let inside = (0..W as i32).contains(&cx) && (0..H as i32).contains(&cy);
        if !inside {
            self.last = None;
            return;
        }
        if cy < BAR as i32 {
            self.last = None;
            if mk & wm::MK_LBUTTON != 0 {
                let swatch = (cx as u32 / (W / PALETTE.len() as u32)) as usize;
                self.colour = PALETTE[swatch.min(PALETTE.len() - 1)];
            }
            return;
        }
        let paint = if mk & wm::MK_LBUTTON != 0 {
            self.colour
        } else if mk & wm::MK_RBUTTON != 0 {
            BACKGROUND
        } else {
            self.last = None;
            return;
        };
        // A line from where the stroke was (pointer packets come a few
        // pixels apart), one brush dab per canvas pixel.
        let (x0, y0) = self.last.unwrap_or((cx, cy));
        let steps = (cx - x0).abs().max((cy - y0).abs()).max(1);
        for i in 0..=steps {
            let x = x0 + (cx - x0) * i / steps;
            let y = y0 + (cy - y0) * i / steps;
            self.dab(x, y, paint);
        }
        self.last = Some((cx, cy));
    }

    fn dab(&mut self, cx: i32, cy: i32, paint: u32) {
        for dy in -self.size..=self.size {
            for dx in -self.size..=self.size {
                let (px, py) = (cx + dx, cy + dy);
                if (0..W as i32).contains(&px) && (BAR as i32..H as i32).contains(&py) {
                    self.pixels[(py as u32 * W + px as u32) as usize] = paint;
                }
            }
        }
    }

    /// A wheel notch: a larger (`up`) or smaller brush.
    pub fn brush(&mut self, up: bool) {
        self.size = if up {
            (self.size + 1).min(8)
        } else {
            (self.size - 1).max(0)
        };
    }

    /// Shows the canvas with a cross for the cursor.
    pub fn show(&mut self, window: u64) {
        self.frame.copy_from_slice(self.pixels);
        let (cx, cy) = self.cursor;
        for d in -3..=3 {
            for (x, y) in [(cx + d, cy), (cx, cy + d)] {
                if (0..W as i32).contains(&x) && (0..H as i32).contains(&y) {
                    let p = &mut self.frame[(y as u32 * W + x as u32) as usize];
                    *p ^= 0x00ff_ffff;
                }
            }
        }
        // SAFETY: the frame holds W × H pixels, W * 4 bytes per row.
        unsafe { rt::SetScreenBuffer(window, self.frame.as_ptr(), W, H, W * 4) };
    }
}
