//! Keyboard byte stream to key events: set 1 or set 2 via pc-keyboard.

use pc_keyboard::layouts::Us104Key;
use pc_keyboard::{
    DecodedKey, Error, HandleControl, KeyCode, KeyState, PS2Keyboard, ScancodeSet, ScancodeSet1,
    ScancodeSet2,
};

use crate::event::{KeyEvent, LockState};
use crate::keymap::key_info;
use crate::leds::LedLink;

/// Keyboard "special bytes" that are never scancodes: 0x00 / 0xFF key
/// detection error or overrun, 0xEE echo, 0xFC / 0xFD self-test failed
/// (OSDev "PS/2 Keyboard", Special Bytes). 0xAA (self-test passed) is left
/// out: in set 1 it is also Left Shift's break code.
const NOT_SCANCODES: [u8; 5] = [0x00, 0xFF, 0xEE, 0xFC, 0xFD];

/// The scancode set the keyboard bytes arrive in.
enum SetDecoder {
    One(ScancodeSet1),
    Two(ScancodeSet2),
}

impl ScancodeSet for SetDecoder {
    fn advance_state(&mut self, code: u8) -> Result<Option<pc_keyboard::KeyEvent>, Error> {
        match self {
            SetDecoder::One(set) => set.advance_state(code),
            SetDecoder::Two(set) => set.advance_state(code),
        }
    }
}

/// Which keys are down, one bit per pc-keyboard key code.
#[derive(Debug, Default)]
struct KeysDown([u64; 4]);

impl KeysDown {
    /// Records the key's new state and returns whether it was down before.
    fn set(&mut self, code: KeyCode, down: bool) -> bool {
        let index = usize::from(code as u8);
        let bit = 1u64 << (index % 64);
        let Some(word) = self.0.get_mut(index / 64) else {
            return false;
        };
        let was = *word & bit != 0;
        if down {
            *word |= bit;
        } else {
            *word &= !bit;
        }
        was
    }
}

/// Runtime keyboard state.
pub(crate) struct Keyboard {
    decoder: PS2Keyboard<Us104Key, SetDecoder>,
    down: KeysDown,
    /// pc-keyboard does not track Scroll Lock.
    scroll_lock: bool,
    /// The hidden E1-prefixed key was seen: the next Num Lock is Pause.
    pause_next: bool,
    leds: LedLink,
}

impl Keyboard {
    /// A decoder for set 1 (`translation` on) or set 2, all locks off.
    pub(crate) fn new(translation: bool) -> Self {
        let set = if translation {
            SetDecoder::One(ScancodeSet1::new())
        } else {
            SetDecoder::Two(ScancodeSet2::new())
        };
        let mut decoder = PS2Keyboard::new(set, Us104Key, HandleControl::MapLettersToUnicode);
        // pc-keyboard starts with Num Lock on; init turns every LED off, so
        // toggle it off to match.
        decoder.process_keyevent(pc_keyboard::KeyEvent::new(
            KeyCode::NumpadLock,
            KeyState::Down,
        ));
        Keyboard {
            decoder,
            down: KeysDown::default(),
            scroll_lock: false,
            pause_next: false,
            leds: LedLink::new(),
        }
    }

    /// The lock toggles as they stand.
    pub(crate) fn locks(&self) -> LockState {
        let m = self.decoder.get_modifiers();
        LockState {
            caps: m.capslock,
            num: m.numlock,
            scroll: self.scroll_lock,
        }
    }

    /// The next byte for port 0x60 (an LED command), if any.
    pub(crate) fn take_output(&mut self) -> Option<u8> {
        self.leds.take_output()
    }

    /// Decodes one byte from the keyboard.
    pub(crate) fn on_byte(&mut self, byte: u8) -> Option<KeyEvent> {
        if self.leds.on_reply(byte) || NOT_SCANCODES.contains(&byte) {
            return None;
        }
        // Unknown codes reset the crate's state machine; they are dropped.
        let raw = self.decoder.add_byte(byte).ok()??;
        self.key(raw)
    }

    fn key(&mut self, raw: pc_keyboard::KeyEvent) -> Option<KeyEvent> {
        let pause = core::mem::take(&mut self.pause_next);
        let code = match raw.code {
            // E1 1D / E1 14 starts Pause (its break half too): no key itself.
            KeyCode::RControl2 => {
                self.pause_next = true;
                return None;
            }
            KeyCode::NumpadLock if pause => KeyCode::PauseBreak,
            code => code,
        };
        let pressed = match raw.state {
            KeyState::Down => true,
            KeyState::Up => false,
            KeyState::SingleShot => return None,
        };
        let info = key_info(code, self.decoder.get_modifiers().numlock)?;
        let repeat = self.down.set(code, pressed) && pressed;
        self.leds.on_key();

        let ch = match code {
            KeyCode::PauseBreak => None,
            // A held lock key toggles once, not at the typematic rate.
            KeyCode::CapsLock | KeyCode::NumpadLock | KeyCode::ScrollLock if repeat => None,
            KeyCode::ScrollLock => {
                if pressed {
                    self.scroll_lock = !self.scroll_lock;
                    self.leds.request(self.locks().led_mask());
                }
                None
            }
            _ => {
                let decoded = self
                    .decoder
                    .process_keyevent(pc_keyboard::KeyEvent::new(code, raw.state));
                if pressed && matches!(code, KeyCode::CapsLock | KeyCode::NumpadLock) {
                    self.leds.request(self.locks().led_mask());
                }
                match decoded {
                    Some(DecodedKey::Unicode(c)) if pressed => Some(c),
                    _ => None,
                }
            }
        };
        Some(KeyEvent {
            scancode: info.scancode,
            pressed,
            repeat,
            vk: info.vk,
            ch,
        })
    }
}
