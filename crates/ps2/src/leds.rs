//! The keyboard LED command (0xED + mask) as a reply-driven state machine.
//!
//! One byte is in flight at a time: 0xED, then after its ACK the mask, then
//! after that ACK the link is idle again (OSDev "PS/2 Keyboard", command 0xED
//! and "Special Bytes" 0xFA ACK / 0xFE Resend).

use crate::device::{ACK, RESEND, SET_LEDS};

/// Key events seen while waiting before the reply counts as lost. A keyboard
/// answers a command at once; a few keys in between mean it never got the
/// command. Counted in key events, not bytes, so set 1 and set 2 agree.
pub(crate) const LOST_AFTER: u8 = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    Idle,
    /// `byte` was handed out; `resent` once already if the keyboard said 0xFE.
    Waiting {
        byte: u8,
        resent: bool,
    },
}

/// Sends LED updates and swallows the keyboard's replies.
#[derive(Debug)]
pub(crate) struct LedLink {
    link: Link,
    /// The byte the kernel should write next.
    out: Option<u8>,
    /// The mask the keyboard should end up showing.
    wanted: u8,
    /// `wanted` changed while a command was in flight.
    dirty: bool,
    /// Key events seen while waiting.
    strays: u8,
}

impl LedLink {
    pub(crate) fn new() -> Self {
        LedLink {
            link: Link::Idle,
            out: None,
            wanted: 0,
            dirty: false,
            strays: 0,
        }
    }

    /// Asks for the LEDs to show `mask` (bit 0 Scroll, 1 Num, 2 Caps).
    pub(crate) fn request(&mut self, mask: u8) {
        self.wanted = mask;
        match self.link {
            Link::Idle => self.hand_out(SET_LEDS),
            Link::Waiting { .. } => self.dirty = true,
        }
    }

    fn hand_out(&mut self, byte: u8) {
        self.out = Some(byte);
        self.link = Link::Waiting {
            byte,
            resent: false,
        };
        self.strays = 0;
    }

    fn finish(&mut self) {
        self.link = Link::Idle;
        self.out = None;
        if self.dirty {
            self.dirty = false;
            self.hand_out(SET_LEDS);
        }
    }

    /// The next byte to write to port 0x60, if any.
    pub(crate) fn take_output(&mut self) -> Option<u8> {
        self.out.take()
    }

    /// A key event was decoded; too many while waiting means the reply was
    /// lost, and the link is freed (restarting a pending update).
    pub(crate) fn on_key(&mut self) {
        if let Link::Waiting { .. } = self.link {
            self.strays = self.strays.saturating_add(1);
            if self.strays >= LOST_AFTER {
                self.finish();
            }
        }
    }

    /// Offers a keyboard byte; `true` if it was a reply (ACK or resend) and
    /// must not be decoded as a key.
    pub(crate) fn on_reply(&mut self, byte: u8) -> bool {
        match (byte, self.link) {
            (ACK, Link::Waiting { byte: SET_LEDS, .. }) => {
                // The mask sent now is the latest one.
                self.dirty = false;
                self.hand_out(self.wanted);
            }
            (ACK, Link::Waiting { .. }) => self.finish(),
            (
                RESEND,
                Link::Waiting {
                    byte,
                    resent: false,
                },
            ) => {
                self.out = Some(byte);
                self.link = Link::Waiting { byte, resent: true };
            }
            // Asked twice: give up on this update rather than loop.
            (RESEND, Link::Waiting { resent: true, .. }) => self.finish(),
            (ACK | RESEND, Link::Idle) => {}
            _ => return false,
        }
        true
    }
}
