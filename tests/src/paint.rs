//! What the host does with paint.exe (the demo `make qemu` boots into):
//! picks red from the colour bar, draws a stroke, picks blue, draws
//! another, types `x`, takes the screendump, types `h` `i`, then presses
//! Alt+F4 (WM_CLOSE: paint.exe exits and the machine powers off). Used by the ISO
//! test and by `make screenshot`.

use crate::qmp::{Button, Event, Image};

/// The pointer starts at the screen's centre; the 640×400 window is
/// centred and shows the 320×200 canvas at 2×, so the colour bar (canvas
/// rows 0–11) is the window's top 24 rows and swatch `i` is canvas
/// columns `40 i .. 40 i + 40`.
/// To red (swatch 1): 200 left of the centre, 190 up (window (120, 10)).
pub const PICK_RED: &[Event<'static>] = &[
    Event::Move { dx: -200, dy: -190 },
    Event::Click(Button::Left),
];
/// Down into the canvas and a diagonal stroke to window (310, 210).
pub const STROKE_1: &[Event<'static>] = &[
    Event::Move { dx: 40, dy: 150 },
    Event::Press(Button::Left),
    Event::Move { dx: 30, dy: 10 },
    Event::Move { dx: 30, dy: 10 },
    Event::Move { dx: 30, dy: 10 },
    Event::Move { dx: 30, dy: 10 },
    Event::Move { dx: 30, dy: 10 },
    Event::Release(Button::Left),
];
/// To blue (swatch 5): window (440, 10).
pub const PICK_BLUE: &[Event<'static>] = &[
    Event::Move { dx: 130, dy: -200 },
    Event::Click(Button::Left),
];
/// A stroke back down and left.
pub const STROKE_2: &[Event<'static>] = &[
    Event::Move { dx: 0, dy: 120 },
    Event::Press(Button::Left),
    Event::Move { dx: -20, dy: 30 },
    Event::Move { dx: -20, dy: 30 },
    Event::Move { dx: -20, dy: 30 },
    Event::Move { dx: -20, dy: 30 },
    Event::Release(Button::Left),
];

/// The session, as a `&[Step]` whose screendump goes to `$screen` (in
/// the runner's scratch directory). QEMU's PS/2 mouse merges packets it
/// cannot queue (a click followed at once by a press comes out as one
/// held button), so each gesture gets its own pause; the screendump waits
/// until paint.exe has echoed an `x` typed after the strokes.
#[macro_export]
macro_rules! paint_script {
    ($screen:literal) => {
        &[
            $crate::qmp::Step {
                when: "paint: ready",
                actions: &[
                    $crate::qmp::Action::Pause($crate::paint::GESTURE),
                    $crate::qmp::Action::Events($crate::paint::PICK_RED),
                    $crate::qmp::Action::Pause($crate::paint::GESTURE),
                    $crate::qmp::Action::Events($crate::paint::STROKE_1),
                    $crate::qmp::Action::Pause($crate::paint::GESTURE),
                    $crate::qmp::Action::Events($crate::paint::PICK_BLUE),
                    $crate::qmp::Action::Pause($crate::paint::GESTURE),
                    $crate::qmp::Action::Events($crate::paint::STROKE_2),
                    $crate::qmp::Action::Pause($crate::paint::GESTURE),
                    $crate::qmp::Action::Keys(&["x"]),
                ],
            },
            $crate::qmp::Step {
                when: "paint: typed 'x'",
                actions: &[
                    $crate::qmp::Action::Screendump($screen),
                    $crate::qmp::Action::Keys(&["h", "i"]),
                    $crate::qmp::Action::Pause($crate::paint::GESTURE),
                    // Alt+F4: the window system's WM_CLOSE ends paint.exe.
                    $crate::qmp::Action::Keys(&["alt-f4"]),
                ],
            },
        ]
    };
}

/// The pause between gestures.
pub const GESTURE: std::time::Duration = std::time::Duration::from_millis(400);

/// The colours the strokes use (paint.exe's palette entries 1 and 5).
pub const RED: [u8; 3] = [0xff, 0x30, 0x30];
/// The second stroke's colour.
pub const BLUE: [u8; 3] = [0x40, 0xa0, 0xff];

/// Checks that both strokes are on the screen inside the window: at least
/// `min` pixels of each colour below the colour bar.
pub fn strokes_visible(image: &Image, min: usize) -> Result<String, String> {
    let bar_bottom = (image.height / 2).saturating_sub(200 - 24);
    let count = |c: [u8; 3]| {
        (bar_bottom..image.height)
            .flat_map(|y| (0..image.width).map(move |x| (x, y)))
            .filter(|&(x, y)| image.pixel(x, y) == Some(c))
            .count()
    };
    let (red, blue) = (count(RED), count(BLUE));
    if red >= min && blue >= min {
        Ok(format!("{red} red and {blue} blue stroke pixels"))
    } else {
        Err(format!(
            "strokes missing: {red} red and {blue} blue pixels below the bar (want {min} each)"
        ))
    }
}
