//! Host tests of placement, scaling, pixel conversion, messages and queues.

use abi::wm;
use proptest::prelude::*;
use winsys::layout::{place, scale, LayoutError, Rect};
use winsys::message::{key, Key, Msg, Pointer};
use winsys::present::{scale_row, PixelFormat};
use winsys::queue::Queue;

#[test]
fn windows_are_centred_cut_to_the_screen_or_full_screen() {
    let r = place((1280, 800), 320, 200, false).unwrap();
    assert_eq!(
        r,
        Rect {
            x: 480,
            y: 300,
            width: 320,
            height: 200
        }
    );
    let r = place((1280, 800), 5000, 100, false).unwrap();
    assert_eq!(
        r,
        Rect {
            x: 0,
            y: 350,
            width: 1280,
            height: 100
        }
    );
    let r = place((1280, 800), 0, 0, true).unwrap();
    assert_eq!(
        r,
        Rect {
            x: 0,
            y: 0,
            width: 1280,
            height: 800
        }
    );
    assert_eq!(place((1280, 800), 0, 10, false), Err(LayoutError::Empty));
    assert_eq!(place((0, 800), 10, 10, true), Err(LayoutError::NoScreen));
}

#[test]
fn doom_sized_buffers_scale_by_the_largest_factor_that_fits() {
    // 320×200 into 1280×800: 4×, the whole client area.
    let s = scale((1280, 800), 320, 200);
    assert_eq!((s.factor, s.columns, s.rows), (4, 320, 200));
    assert_eq!(
        s.area,
        Rect {
            x: 0,
            y: 0,
            width: 1280,
            height: 800
        }
    );
    // Into 1024×768: 3× (960×600), centred.
    let s = scale((1024, 768), 320, 200);
    assert_eq!(s.factor, 3);
    assert_eq!(
        s.area,
        Rect {
            x: 32,
            y: 84,
            width: 960,
            height: 600
        }
    );
    // A buffer larger than the client is drawn at 1× and clipped.
    let s = scale((100, 50), 320, 200);
    assert_eq!((s.factor, s.columns, s.rows), (1, 100, 50));
    assert_eq!(
        s.area,
        Rect {
            x: 0,
            y: 0,
            width: 100,
            height: 50
        }
    );
}

#[test]
fn rows_are_repeated_and_converted() {
    let src: Vec<u8> = [0x00ff_0000u32, 0x0000_ff00, 0x1200_00ff]
        .iter()
        .flat_map(|p| p.to_le_bytes())
        .collect();
    let mut dst = vec![0u8; 4 * 7];
    // Room for 7 of the 9 pixels at 3×.
    assert_eq!(scale_row(&src, 3, PixelFormat::XRGB8888, &mut dst), 7);
    let px: Vec<u32> = dst
        .chunks(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert_eq!(
        px,
        [0xff0000, 0xff0000, 0xff0000, 0xff00, 0xff00, 0xff00, 0xff]
    );
    // BGR order and 5-6-5 depth.
    let bgr = PixelFormat {
        red: (8, 0),
        green: (8, 8),
        blue: (8, 16),
    };
    assert_eq!(bgr.convert(0x00_12_34_56), 0x00_56_34_12);
    let rgb565 = PixelFormat {
        red: (5, 11),
        green: (6, 5),
        blue: (5, 0),
    };
    assert_eq!(rgb565.convert(0x00ff_ffff), 0xffff);
    assert_eq!(rgb565.convert(0x0080_0000), 0x10 << 11);
    // 10-bit channels (2-10-10-10): full scale stays full scale.
    let deep = PixelFormat {
        red: (10, 20),
        green: (10, 10),
        blue: (10, 0),
    };
    assert_eq!(deep.convert(0x00ff_0000), 0x3fc << 20);
    assert_eq!(deep.convert(0x0000_0080), 0x200);
    // The X byte of a program's pixel never reaches the screen.
    assert_eq!(PixelFormat::XRGB8888.convert(0xff12_3456), 0x0012_3456);
}

fn k(scancode: u16, vk: u8, pressed: bool, repeat: bool, ch: Option<char>) -> Key {
    Key {
        scancode,
        vk,
        pressed,
        repeat,
        ch,
    }
}

#[test]
fn keystrokes_carry_win32_lparam_bits() {
    let [down, ch] = key(k(0x1e, b'A', true, false, Some('a')));
    assert_eq!(
        down,
        Some(Msg {
            message: wm::KEYDOWN,
            wparam: 0x41,
            lparam: 0x001e_0001
        })
    );
    assert_eq!(
        ch,
        Some(Msg {
            message: wm::CHAR,
            wparam: 'a' as u64,
            lparam: 0x001e_0001
        })
    );
    let [up, none] = key(k(0x1e, b'A', false, false, None));
    assert_eq!(
        up.map(|m| (m.message, m.lparam)),
        Some((wm::KEYUP, 0xc01e_0001))
    );
    assert_eq!(none, None);
    let [rep, _] = key(k(0x1e, b'A', true, true, Some('a')));
    assert_eq!(rep.map(|m| m.lparam), Some(0x401e_0001));
    // Extended (E0) keys set bit 24: right arrow is E0 4D.
    let [right, no_char] = key(k(0xe04d, 0x27, true, false, None));
    assert_eq!(right.map(|m| m.lparam), Some(0x014d_0001));
    assert_eq!(no_char, None);
    // Keys without a virtual key give nothing.
    assert_eq!(key(k(0x59, 0, true, false, None)), [None, None]);
}

#[test]
fn mouse_packets_become_moves_buttons_and_wheel() {
    let client = Rect {
        x: 100,
        y: 50,
        width: 320,
        height: 200,
    };
    let mut p = Pointer {
        x: 200,
        y: 100,
        buttons: 0,
    };
    let mut got = Vec::new();
    // Right 20, up 10 (PS/2 y is up-positive), left button down, wheel up.
    p.update((20, 10, 1, 1), (1280, 800), client, |m| got.push(m));
    assert_eq!((p.x, p.y, p.buttons), (220, 90, 1));
    let at = (120 | (40 << 16)) as i64;
    assert_eq!(
        got,
        [
            Msg {
                message: wm::MOUSEMOVE,
                wparam: 0,
                lparam: at
            },
            Msg {
                message: wm::LBUTTONDOWN,
                wparam: wm::MK_LBUTTON,
                lparam: at
            },
            Msg {
                message: wm::MOUSEWHEEL,
                wparam: (120 << 16) | wm::MK_LBUTTON,
                lparam: (220 | (90 << 16)) as i64
            },
        ]
    );
    got.clear();
    // Release without moving: one button-up, nothing else.
    p.update((0, 0, 0, 0), (1280, 800), client, |m| got.push(m));
    assert_eq!(
        got,
        [Msg {
            message: wm::LBUTTONUP,
            wparam: 0,
            lparam: at
        }]
    );
    // The pointer stops at the screen's edge; left of the client area the
    // client x is negative (16-bit signed in lParam).
    got.clear();
    p.update((-300, -2000, -1, 0), (1280, 800), client, |m| got.push(m));
    assert_eq!((p.x, p.y), (0, 799));
    assert_eq!(got[0].lparam, ((-100i16 as u16 as i64) | (749 << 16)));
    assert_eq!(got[1].wparam >> 16, (-120i16) as u16 as u64);
}

#[test]
fn the_queue_keeps_order_and_drops_the_newest_when_full() {
    let mut q: Queue<u32, 3> = Queue::new();
    assert!(q.push(1) && q.push(2) && q.push(3));
    assert!(!q.push(4));
    assert_eq!(q.dropped(), 1);
    assert_eq!(q.take(false), Some(1));
    assert_eq!(q.take(true), Some(1));
    assert!(q.push(5));
    let rest: Vec<u32> = std::iter::from_fn(|| q.take(true)).collect();
    assert_eq!(rest, [2, 3, 5]);
    assert!(q.is_empty());
}

proptest! {
    /// The scaled buffer always fits the client area, and no larger
    /// integer factor would fit.
    #[test]
    fn scaling_fits_and_is_maximal(cw in 1u32..4000, ch in 1u32..3000, w in 1u32..9000, h in 1u32..9000) {
        let s = scale((cw, ch), w, h);
        prop_assert!(s.area.x + s.area.width <= cw && s.area.y + s.area.height <= ch);
        prop_assert_eq!(s.area.width, s.columns * s.factor);
        prop_assert!(s.columns <= w && s.rows <= h);
        if s.columns == w && s.rows == h {
            let k = s.factor + 1;
            prop_assert!(w * k > cw || h * k > ch);
        } else {
            prop_assert_eq!(s.factor, 1);
        }
    }

    /// Rows of any length into any destination never write past it.
    #[test]
    fn scale_row_stays_inside(src in proptest::collection::vec(any::<u8>(), 0..64), factor in 0u32..10, len in 0usize..200) {
        let mut dst = vec![0u8; len];
        let n = scale_row(&src, factor, PixelFormat::XRGB8888, &mut dst);
        prop_assert!(n * 4 <= len);
        prop_assert!(n <= src.len() / 4 * factor.max(1) as usize);
    }

    /// The fast paths write what the plain rule says: each pixel `factor`
    /// times without its X byte, as far as the destination goes, and
    /// nothing after that.
    #[test]
    fn scale_row_matches_the_rule(src in proptest::collection::vec(any::<u8>(), 0..96), factor in 0u32..6, len in 0usize..400) {
        let mut dst = vec![0xeeu8; len];
        let n = scale_row(&src, factor, PixelFormat::XRGB8888, &mut dst);
        let f = factor.max(1) as usize;
        let want: Vec<u8> = src
            .chunks_exact(4)
            .flat_map(|p| std::iter::repeat_n([p[0], p[1], p[2], 0], f))
            .flatten()
            .take(len / 4 * 4)
            .collect();
        prop_assert_eq!(n * 4, want.len());
        prop_assert_eq!(&dst[..want.len()], &want[..]);
        prop_assert!(dst[want.len()..].iter().all(|&b| b == 0xee));
    }

    /// The pointer never leaves the screen, whatever the packets.
    #[test]
    fn the_pointer_stays_on_the_screen(packets in proptest::collection::vec((any::<i16>(), any::<i16>(), any::<i8>(), 0u8..8), 0..50)) {
        let mut p = Pointer::default();
        let client = Rect { x: 10, y: 10, width: 100, height: 100 };
        for pk in packets {
            let mut n = 0;
            p.update(pk, (640, 480), client, |_| n += 1);
            prop_assert!(n <= 5);
            prop_assert!((0..640).contains(&p.x) && (0..480).contains(&p.y));
            prop_assert_eq!(p.buttons, pk.3);
        }
    }
}

#[test]
fn absolute_reports_put_the_pointer_where_they_say() {
    let client = Rect {
        x: 0,
        y: 0,
        width: 1280,
        height: 800,
    };
    let mut p = Pointer::default();
    let mut got = Vec::new();
    // The middle of the screen, then the far corner, then the origin.
    p.place((0x4000, 0x4000, 0, 0), (1280, 800), client, |m| got.push(m));
    assert_eq!((p.x, p.y), (639, 399));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].message, wm::MOUSEMOVE);
    assert_eq!(got[0].lparam, (639 | (399 << 16)) as i64);
    p.place((0x7FFF, 0xFFFF, 0, 2), (1280, 800), client, |m| got.push(m));
    assert_eq!((p.x, p.y, p.buttons), (1279, 799, 2));
    assert_eq!(got[2].message, wm::RBUTTONDOWN);
    got.clear();
    p.place((0, 0, 0, 2), (1280, 800), client, |m| got.push(m));
    assert_eq!((p.x, p.y), (0, 0));
    assert_eq!(got.len(), 1, "a move alone: {got:?}");
    // The same place again says nothing.
    got.clear();
    p.place((0, 0, 0, 2), (1280, 800), client, |m| got.push(m));
    assert!(got.is_empty(), "{got:?}");
}
