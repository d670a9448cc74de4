//! Mouse byte stream to packets: 3-byte standard, 4-byte IntelliMouse.
//!
//! Packet layout from OSDev "PS/2 Mouse" (Formats of Packets, IntelliMouse
//! Extensions): byte 0 = Y overflow, X overflow, Y sign, X sign, always 1,
//! middle, right, left (bit 7..0); bytes 1 and 2 = the low 8 bits of X and
//! Y; byte 3 = wheel (id 3: signed byte; id 4: low nibble signed, bits 4–5
//! buttons 4 and 5).

use crate::event::MouseEvent;

const LEFT_RIGHT_MIDDLE: u8 = 0b0000_0111;
const ALWAYS_ONE: u8 = 1 << 3;
const X_SIGN: u8 = 1 << 4;
const Y_SIGN: u8 = 1 << 5;
const X_OVERFLOW: u8 = 1 << 6;
const Y_OVERFLOW: u8 = 1 << 7;

/// Collects packet bytes and decodes complete packets.
#[derive(Debug)]
pub(crate) struct MouseDecoder {
    packet: [u8; 4],
    /// Bytes of the current packet collected so far.
    have: usize,
    /// 3, or 4 for a wheel mouse.
    len: usize,
    /// Device id: 4 means the fourth byte also carries buttons 4 and 5.
    id: u8,
}

impl MouseDecoder {
    /// A decoder for the mouse whose device id is `id` (3 and 4 send 4 bytes).
    pub(crate) fn new(id: u8) -> Self {
        let len = if matches!(id, 3 | 4) { 4 } else { 3 };
        MouseDecoder {
            packet: [0; 4],
            have: 0,
            len,
            id,
        }
    }

    /// Takes one byte; returns the packet it completes, unless that packet
    /// overflowed.
    pub(crate) fn on_byte(&mut self, byte: u8) -> Option<MouseEvent> {
        // A first byte always has bit 3 set; anything else means we are out
        // of step, so drop bytes until one fits.
        if self.have == 0 && byte & ALWAYS_ONE == 0 {
            return None;
        }
        *self.packet.get_mut(self.have)? = byte;
        self.have += 1;
        if self.have < self.len {
            return None;
        }
        self.have = 0;
        self.decode()
    }

    fn decode(&self) -> Option<MouseEvent> {
        let [flags, x, y, z] = self.packet;
        if flags & (X_OVERFLOW | Y_OVERFLOW) != 0 {
            return None;
        }
        let mut buttons = flags & LEFT_RIGHT_MIDDLE;
        let wheel = match (self.len, self.id) {
            (3, _) => 0,
            (_, 4) => {
                buttons |= (z >> 1) & 0b0001_1000;
                // Sign-extend the low nibble.
                ((z << 4) as i8) >> 4
            }
            _ => z as i8,
        };
        Some(MouseEvent {
            dx: nine_bit(x, flags & X_SIGN != 0),
            dy: nine_bit(y, flags & Y_SIGN != 0),
            wheel,
            buttons,
        })
    }
}

/// The 9-bit two's-complement value with `low` as bits 0–7 and `sign` as bit 8.
fn nine_bit(low: u8, sign: bool) -> i16 {
    i16::from(low) - if sign { 256 } else { 0 }
}
