//! Key codes to set-1 make codes and Win32 virtual-key codes.
//!
//! Scancodes are Scan Code Set 1 (OSDev "PS/2 Keyboard", Scan Code Set 1;
//! Microsoft "Keyboard Scan Code Specification" for the media and JIS
//! keys); virtual keys are from the Win32 "Virtual-Key Codes" table as the
//! US layout (kbdus) assigns them.

use pc_keyboard::KeyCode;

use crate::event::PAUSE_SCANCODE;
use crate::vk;

/// Where a key sits and what Windows calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyInfo {
    /// Set-1 make code, 0xE0xx for extended keys.
    pub(crate) scancode: u16,
    /// Win32 virtual-key code.
    pub(crate) vk: u8,
}

const fn k(scancode: u16, vk: u8) -> Option<KeyInfo> {
    Some(KeyInfo { scancode, vk })
}

/// A numpad key: its digit VK with Num Lock on, its navigation VK off.
const fn pad(scancode: u16, numlock: bool, digit: u8, off: u8) -> Option<KeyInfo> {
    k(scancode, if numlock { vk::NUMPAD0 + digit } else { off })
}

/// The set-1 make code and virtual key of `code`; `None` for the crate's
/// pseudo keys (fake shifts, the Pause prefix, power-on, overrun, unknown).
pub(crate) fn key_info(code: KeyCode, numlock: bool) -> Option<KeyInfo> {
    use KeyCode as C;
    match code {
        C::Escape => k(0x01, vk::ESCAPE),
        C::F1 => k(0x3B, vk::F1),
        C::F2 => k(0x3C, vk::F1 + 1),
        C::F3 => k(0x3D, vk::F1 + 2),
        C::F4 => k(0x3E, vk::F1 + 3),
        C::F5 => k(0x3F, vk::F1 + 4),
        C::F6 => k(0x40, vk::F1 + 5),
        C::F7 => k(0x41, vk::F1 + 6),
        C::F8 => k(0x42, vk::F1 + 7),
        C::F9 => k(0x43, vk::F1 + 8),
        C::F10 => k(0x44, vk::F1 + 9),
        C::F11 => k(0x57, vk::F1 + 10),
        C::F12 => k(0x58, vk::F1 + 11),
        C::PrintScreen => k(0xE037, vk::SNAPSHOT),
        // Alt+Print Screen sends 0x54 instead.
        C::SysRq => k(0x54, vk::SNAPSHOT),
        C::ScrollLock => k(0x46, vk::SCROLL),
        C::PauseBreak => k(PAUSE_SCANCODE, vk::PAUSE),

        C::Oem8 => k(0x29, vk::OEM_3),
        C::Key1 => k(0x02, b'1'),
        C::Key2 => k(0x03, b'2'),
        C::Key3 => k(0x04, b'3'),
        C::Key4 => k(0x05, b'4'),
        C::Key5 => k(0x06, b'5'),
        C::Key6 => k(0x07, b'6'),
        C::Key7 => k(0x08, b'7'),
        C::Key8 => k(0x09, b'8'),
        C::Key9 => k(0x0A, b'9'),
        C::Key0 => k(0x0B, b'0'),
        C::OemMinus => k(0x0C, vk::OEM_MINUS),
        C::OemPlus => k(0x0D, vk::OEM_PLUS),
        C::Backspace => k(0x0E, vk::BACK),
        C::Insert => k(0xE052, vk::INSERT),
        C::Home => k(0xE047, vk::HOME),
        C::PageUp => k(0xE049, vk::PRIOR),
        C::NumpadLock => k(0x45, vk::NUMLOCK),
        C::NumpadDivide => k(0xE035, vk::DIVIDE),
        C::NumpadMultiply => k(0x37, vk::MULTIPLY),
        C::NumpadSubtract => k(0x4A, vk::SUBTRACT),

        C::Tab => k(0x0F, vk::TAB),
        C::Q => k(0x10, b'Q'),
        C::W => k(0x11, b'W'),
        C::E => k(0x12, b'E'),
        C::R => k(0x13, b'R'),
        C::T => k(0x14, b'T'),
        C::Y => k(0x15, b'Y'),
        C::U => k(0x16, b'U'),
        C::I => k(0x17, b'I'),
        C::O => k(0x18, b'O'),
        C::P => k(0x19, b'P'),
        C::Oem4 => k(0x1A, vk::OEM_4),
        C::Oem6 => k(0x1B, vk::OEM_6),
        // pc-keyboard's Oem7 is the US backslash key (set 1 0x2B) and its
        // Oem5 the extra ISO key (0x56).
        C::Oem7 => k(0x2B, vk::OEM_5),
        C::Oem5 => k(0x56, vk::OEM_102),
        C::Delete => k(0xE053, vk::DELETE),
        C::End => k(0xE04F, vk::END),
        C::PageDown => k(0xE051, vk::NEXT),
        C::Numpad7 => pad(0x47, numlock, 7, vk::HOME),
        C::Numpad8 => pad(0x48, numlock, 8, vk::UP),
        C::Numpad9 => pad(0x49, numlock, 9, vk::PRIOR),
        C::NumpadAdd => k(0x4E, vk::ADD),

        C::CapsLock => k(0x3A, vk::CAPITAL),
        C::A => k(0x1E, b'A'),
        C::S => k(0x1F, b'S'),
        C::D => k(0x20, b'D'),
        C::F => k(0x21, b'F'),
        C::G => k(0x22, b'G'),
        C::H => k(0x23, b'H'),
        C::J => k(0x24, b'J'),
        C::K => k(0x25, b'K'),
        C::L => k(0x26, b'L'),
        C::Oem1 => k(0x27, vk::OEM_1),
        C::Oem3 => k(0x28, vk::OEM_7),
        C::Return => k(0x1C, vk::RETURN),
        C::Numpad4 => pad(0x4B, numlock, 4, vk::LEFT),
        C::Numpad5 => pad(0x4C, numlock, 5, vk::CLEAR),
        C::Numpad6 => pad(0x4D, numlock, 6, vk::RIGHT),

        C::LShift => k(0x2A, vk::SHIFT),
        C::Z => k(0x2C, b'Z'),
        C::X => k(0x2D, b'X'),
        C::C => k(0x2E, b'C'),
        C::V => k(0x2F, b'V'),
        C::B => k(0x30, b'B'),
        C::N => k(0x31, b'N'),
        C::M => k(0x32, b'M'),
        C::OemComma => k(0x33, vk::OEM_COMMA),
        C::OemPeriod => k(0x34, vk::OEM_PERIOD),
        C::Oem2 => k(0x35, vk::OEM_2),
        C::RShift => k(0x36, vk::SHIFT),
        C::ArrowUp => k(0xE048, vk::UP),
        C::Numpad1 => pad(0x4F, numlock, 1, vk::END),
        C::Numpad2 => pad(0x50, numlock, 2, vk::DOWN),
        C::Numpad3 => pad(0x51, numlock, 3, vk::NEXT),
        C::NumpadEnter => k(0xE01C, vk::RETURN),

        C::LControl => k(0x1D, vk::CONTROL),
        C::LWin => k(0xE05B, vk::LWIN),
        C::LAlt => k(0x38, vk::MENU),
        C::Spacebar => k(0x39, vk::SPACE),
        C::RAltGr => k(0xE038, vk::MENU),
        C::RWin => k(0xE05C, vk::RWIN),
        C::Apps => k(0xE05D, vk::APPS),
        C::RControl => k(0xE01D, vk::CONTROL),
        C::ArrowLeft => k(0xE04B, vk::LEFT),
        C::ArrowDown => k(0xE050, vk::DOWN),
        C::ArrowRight => k(0xE04D, vk::RIGHT),
        C::Numpad0 => pad(0x52, numlock, 0, vk::INSERT),
        C::NumpadPeriod => k(0x53, if numlock { vk::DECIMAL } else { vk::DELETE }),

        // JIS keys (kbdjpn): NonConvert, Convert, Kana, Ro, Yen.
        C::Oem9 => k(0x7B, vk::NONCONVERT),
        C::Oem10 => k(0x79, vk::CONVERT),
        C::Oem11 => k(0x70, vk::KANA),
        C::Oem12 => k(0x73, vk::OEM_102),
        C::Oem13 => k(0x7D, vk::OEM_5),

        C::PrevTrack => k(0xE010, vk::MEDIA_PREV_TRACK),
        C::NextTrack => k(0xE019, vk::MEDIA_NEXT_TRACK),
        C::Mute => k(0xE020, vk::VOLUME_MUTE),
        C::Calculator => k(0xE021, vk::LAUNCH_APP2),
        C::Play => k(0xE022, vk::MEDIA_PLAY_PAUSE),
        C::Stop => k(0xE024, vk::MEDIA_STOP),
        C::VolumeDown => k(0xE02E, vk::VOLUME_DOWN),
        C::VolumeUp => k(0xE030, vk::VOLUME_UP),
        C::WWWHome => k(0xE032, vk::BROWSER_HOME),

        C::PowerOnTestOk | C::TooManyKeys | C::RControl2 | C::RAlt2 | C::Unknown => None,
    }
}
