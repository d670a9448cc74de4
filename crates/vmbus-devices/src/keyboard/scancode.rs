//! Keystrokes as PS/2 set 1 scan codes (§6.1).

use super::message::{INFO_BREAK, INFO_E0, INFO_E1, INFO_UNICODE};
use super::KeyboardError;

/// One keystroke from the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyEvent {
    /// Set-1 make code without the 0x80 release bit (0..=0x7F), or a UTF-16
    /// unit when `unicode` is set.
    pub make_code: u16,
    /// Key down (false: key up, the BREAK bit).
    pub pressed: bool,
    /// E0-prefixed (extended) key.
    pub e0: bool,
    /// E1-prefixed key (Pause).
    pub e1: bool,
    /// `make_code` is a UTF-16 unit (semantics unconfirmed, §6.1).
    pub unicode: bool,
}

/// Up to three set-1 bytes: optional E0/E1 prefix, then the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Set1Bytes {
    bytes: [u8; 3],
    len: u8,
}

impl Set1Bytes {
    /// The bytes in the order an i8042 would deliver them.
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    fn push(&mut self, b: u8) {
        self.bytes[usize::from(self.len)] = b;
        self.len += 1;
    }
}

impl KeyEvent {
    /// Builds an event from an EVENT message's fields, refusing make codes
    /// that carry the release bit or beyond (they do not exist in set 1) and
    /// E0 together with E1.
    pub fn from_wire(make_code: u16, info: u32) -> Result<Self, KeyboardError> {
        let unicode = info & INFO_UNICODE != 0;
        let e0 = info & INFO_E0 != 0;
        let e1 = info & INFO_E1 != 0;
        if (!unicode && make_code > 0x7F) || (e0 && e1) {
            return Err(KeyboardError::BadKey { make_code, info });
        }
        Ok(Self {
            make_code,
            pressed: info & INFO_BREAK == 0,
            e0,
            e1,
            unicode,
        })
    }

    /// The set-1 byte stream for this keystroke: 0xE0 or 0xE1 if flagged,
    /// then `make_code | 0x80` on release. Empty for a UNICODE event, which
    /// has no scan code.
    pub fn to_set1(&self) -> Set1Bytes {
        let mut out = Set1Bytes::default();
        if self.unicode {
            return out;
        }
        if self.e0 {
            out.push(0xE0);
        } else if self.e1 {
            out.push(0xE1);
        }
        let code = (self.make_code & 0x7F) as u8;
        out.push(if self.pressed { code } else { code | 0x80 });
        out
    }

    /// The scan code in the form the `ps2` crate's `KeyEvent::scancode`
    /// uses: the make code, 0xE0xx for E0 keys, 0xE1xx for E1 keys; None for
    /// UNICODE events.
    pub fn scancode(&self) -> Option<u16> {
        if self.unicode {
            return None;
        }
        let code = self.make_code & 0x7F;
        Some(if self.e0 {
            0xE000 | code
        } else if self.e1 {
            0xE100 | code
        } else {
            code
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set1_streams() {
        let a_down = KeyEvent::from_wire(0x1E, 0).unwrap();
        assert_eq!(a_down.to_set1().as_slice(), &[0x1E]);
        let a_up = KeyEvent::from_wire(0x1E, INFO_BREAK).unwrap();
        assert_eq!(a_up.to_set1().as_slice(), &[0x9E]);
        let rctrl = KeyEvent::from_wire(0x1D, INFO_E0).unwrap();
        assert_eq!(rctrl.to_set1().as_slice(), &[0xE0, 0x1D]);
        assert_eq!(rctrl.scancode(), Some(0xE01D));
        let rctrl_up = KeyEvent::from_wire(0x1D, INFO_E0 | INFO_BREAK).unwrap();
        assert_eq!(rctrl_up.to_set1().as_slice(), &[0xE0, 0x9D]);
        let pause = KeyEvent::from_wire(0x1D, INFO_E1).unwrap();
        assert_eq!(pause.to_set1().as_slice(), &[0xE1, 0x1D]);
        assert_eq!(pause.scancode(), Some(0xE11D));
        let uni = KeyEvent::from_wire(0x263A, INFO_UNICODE).unwrap();
        assert!(uni.to_set1().as_slice().is_empty());
        assert_eq!(uni.scancode(), None);
    }

    #[test]
    fn refuses_impossible_keys() {
        assert!(KeyEvent::from_wire(0x80, 0).is_err());
        assert!(KeyEvent::from_wire(0x1D, INFO_E0 | INFO_E1).is_err());
    }
}
