//! Win32 virtual-key codes used in key events.
//!
//! Values are from the Win32 "Virtual-Key Codes" table (winuser.h). Letters
//! and digits are their ASCII capitals, `b'A'`..`b'Z'` and `b'0'`..`b'9'`.

/// VK_BACK: Backspace.
pub const BACK: u8 = 0x08;
/// VK_TAB: Tab.
pub const TAB: u8 = 0x09;
/// VK_CLEAR: Clear (numpad 5 with Num Lock off).
pub const CLEAR: u8 = 0x0C;
/// VK_RETURN: Enter (both Enter keys).
pub const RETURN: u8 = 0x0D;
/// VK_SHIFT: either Shift.
pub const SHIFT: u8 = 0x10;
/// VK_CONTROL: either Ctrl.
pub const CONTROL: u8 = 0x11;
/// VK_MENU: either Alt.
pub const MENU: u8 = 0x12;
/// VK_PAUSE: Pause.
pub const PAUSE: u8 = 0x13;
/// VK_CAPITAL: Caps Lock.
pub const CAPITAL: u8 = 0x14;
/// VK_KANA: IME Kana mode.
pub const KANA: u8 = 0x15;
/// VK_ESCAPE: Esc.
pub const ESCAPE: u8 = 0x1B;
/// VK_CONVERT: IME convert.
pub const CONVERT: u8 = 0x1C;
/// VK_NONCONVERT: IME nonconvert.
pub const NONCONVERT: u8 = 0x1D;
/// VK_SPACE: Space bar.
pub const SPACE: u8 = 0x20;
/// VK_PRIOR: Page Up.
pub const PRIOR: u8 = 0x21;
/// VK_NEXT: Page Down.
pub const NEXT: u8 = 0x22;
/// VK_END: End.
pub const END: u8 = 0x23;
/// VK_HOME: Home.
pub const HOME: u8 = 0x24;
/// VK_LEFT: Left arrow.
pub const LEFT: u8 = 0x25;
/// VK_UP: Up arrow.
pub const UP: u8 = 0x26;
/// VK_RIGHT: Right arrow.
pub const RIGHT: u8 = 0x27;
/// VK_DOWN: Down arrow.
pub const DOWN: u8 = 0x28;
/// VK_SNAPSHOT: Print Screen.
pub const SNAPSHOT: u8 = 0x2C;
/// VK_INSERT: Insert.
pub const INSERT: u8 = 0x2D;
/// VK_DELETE: Delete.
pub const DELETE: u8 = 0x2E;
/// VK_LWIN: left Windows key.
pub const LWIN: u8 = 0x5B;
/// VK_RWIN: right Windows key.
pub const RWIN: u8 = 0x5C;
/// VK_APPS: Applications (menu) key.
pub const APPS: u8 = 0x5D;
/// VK_NUMPAD0; VK_NUMPAD1..VK_NUMPAD9 follow at 0x61..0x69.
pub const NUMPAD0: u8 = 0x60;
/// VK_MULTIPLY: numpad `*`.
pub const MULTIPLY: u8 = 0x6A;
/// VK_ADD: numpad `+`.
pub const ADD: u8 = 0x6B;
/// VK_SUBTRACT: numpad `-`.
pub const SUBTRACT: u8 = 0x6D;
/// VK_DECIMAL: numpad `.`.
pub const DECIMAL: u8 = 0x6E;
/// VK_DIVIDE: numpad `/`.
pub const DIVIDE: u8 = 0x6F;
/// VK_F1; VK_F2..VK_F12 follow at 0x71..0x7B.
pub const F1: u8 = 0x70;
/// VK_NUMLOCK: Num Lock.
pub const NUMLOCK: u8 = 0x90;
/// VK_SCROLL: Scroll Lock.
pub const SCROLL: u8 = 0x91;
/// VK_BROWSER_HOME: browser start/home.
pub const BROWSER_HOME: u8 = 0xAC;
/// VK_VOLUME_MUTE.
pub const VOLUME_MUTE: u8 = 0xAD;
/// VK_VOLUME_DOWN.
pub const VOLUME_DOWN: u8 = 0xAE;
/// VK_VOLUME_UP.
pub const VOLUME_UP: u8 = 0xAF;
/// VK_MEDIA_NEXT_TRACK.
pub const MEDIA_NEXT_TRACK: u8 = 0xB0;
/// VK_MEDIA_PREV_TRACK.
pub const MEDIA_PREV_TRACK: u8 = 0xB1;
/// VK_MEDIA_STOP.
pub const MEDIA_STOP: u8 = 0xB2;
/// VK_MEDIA_PLAY_PAUSE.
pub const MEDIA_PLAY_PAUSE: u8 = 0xB3;
/// VK_LAUNCH_APP2: usually the calculator key.
pub const LAUNCH_APP2: u8 = 0xB7;
/// VK_OEM_1: `;:` on the US layout.
pub const OEM_1: u8 = 0xBA;
/// VK_OEM_PLUS: `=+`.
pub const OEM_PLUS: u8 = 0xBB;
/// VK_OEM_COMMA: `,<`.
pub const OEM_COMMA: u8 = 0xBC;
/// VK_OEM_MINUS: `-_`.
pub const OEM_MINUS: u8 = 0xBD;
/// VK_OEM_PERIOD: `.>`.
pub const OEM_PERIOD: u8 = 0xBE;
/// VK_OEM_2: `/?` on the US layout.
pub const OEM_2: u8 = 0xBF;
/// VK_OEM_3: `` `~ `` on the US layout.
pub const OEM_3: u8 = 0xC0;
/// VK_OEM_4: `[{` on the US layout.
pub const OEM_4: u8 = 0xDB;
/// VK_OEM_5: `\|` on the US layout.
pub const OEM_5: u8 = 0xDC;
/// VK_OEM_6: `]}` on the US layout.
pub const OEM_6: u8 = 0xDD;
/// VK_OEM_7: `'"` on the US layout.
pub const OEM_7: u8 = 0xDE;
/// VK_OEM_102: the extra ISO key left of Z.
pub const OEM_102: u8 = 0xE2;
