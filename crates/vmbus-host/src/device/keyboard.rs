//! The synthetic keyboard back-end (sheet §6.1, §8.1, §8.3).
//!
//! No pipe header. The guest sends PROTOCOL_REQUEST; version 0x00010000 is
//! answered with status 1 and enables key events, anything else with
//! status 0 and the device keeps waiting for a new request.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::any::Any;

use super::pipe::inband;
use super::{Device, DeviceError, DeviceIo, OfferInfo};
use crate::guid::{KEYBOARD_CLASS, KEYBOARD_INSTANCE};
use crate::packet::InPacket;
use crate::wire::{u16_at, u32_at, Builder};

/// Message types (§6.1).
const PROTOCOL_REQUEST: u32 = 1;
const PROTOCOL_RESPONSE: u32 = 2;
const EVENT: u32 = 3;
const SET_LED_INDICATORS: u32 = 4;
/// Version 1.0 (§6.1).
pub const VERSION_1_0: u32 = 0x0001_0000;
/// OpenVMM's receive buffer for guest messages (§6.1).
const RECEIVE_BUFFER: usize = 64;
/// Key events kept while the guest is slow to read.
const EVENT_LIMIT: usize = 1024;

/// EVENT info bit 1: key up (§6.1).
pub const INFO_BREAK: u32 = 1 << 1;
/// EVENT info bit 2: E0 prefix.
pub const INFO_E0: u32 = 1 << 2;
/// EVENT info bit 3: E1 prefix.
pub const INFO_E1: u32 = 1 << 3;

/// Protocol state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyboardState {
    /// Channel closed.
    Closed,
    /// Open, waiting for an acceptable PROTOCOL_REQUEST.
    AwaitingRequest,
    /// Version accepted: key events flow.
    Ready,
}

/// The synthetic keyboard.
#[derive(Debug)]
pub struct Keyboard {
    state: KeyboardState,
    pending: VecDeque<(u16, u32)>,
    leds: Option<u16>,
    requests: u32,
}

impl Default for Keyboard {
    fn default() -> Self {
        Self::new()
    }
}

impl Keyboard {
    /// A keyboard with nothing pressed.
    pub fn new() -> Self {
        Keyboard {
            state: KeyboardState::Closed,
            pending: VecDeque::new(),
            leds: None,
            requests: 0,
        }
    }

    /// The protocol state.
    pub fn state(&self) -> KeyboardState {
        self.state
    }

    /// Injects a set-1 key: `scan` without the 0x80 bit, `up` for a
    /// release, `e0` for the E0 prefix. Dropped (returns false) unless the
    /// protocol is up, as a real host drops keys with no listener.
    pub fn press(&mut self, scan: u8, up: bool, e0: bool) -> bool {
        let info = if up { INFO_BREAK } else { 0 } | if e0 { INFO_E0 } else { 0 };
        self.key_event(u16::from(scan & 0x7F), info)
    }

    /// Injects a raw EVENT (`make_code`, `info` bits of §6.1).
    pub fn key_event(&mut self, make_code: u16, info: u32) -> bool {
        if self.state != KeyboardState::Ready || self.pending.len() >= EVENT_LIMIT {
            return false;
        }
        self.pending.push_back((make_code, info));
        true
    }

    /// The last SET_LED_INDICATORS flags (0x1 scroll, 0x2 num, 0x4 caps).
    pub fn leds(&self) -> Option<u16> {
        self.leds
    }

    /// PROTOCOL_REQUESTs received since open.
    pub fn requests(&self) -> u32 {
        self.requests
    }
}

/// PROTOCOL_RESPONSE bytes (§9.5).
pub(crate) fn protocol_response(accepted: bool) -> Vec<u8> {
    Builder::new()
        .u32(PROTOCOL_RESPONSE)
        .u32(u32::from(accepted))
        .finish()
}

/// EVENT bytes (§9.5).
pub(crate) fn event(make_code: u16, info: u32) -> Vec<u8> {
    Builder::new()
        .u32(EVENT)
        .u16(make_code)
        .u16(0)
        .u32(info)
        .finish()
}

impl Device for Keyboard {
    fn offer(&self) -> OfferInfo {
        OfferInfo {
            class: KEYBOARD_CLASS,
            instance: KEYBOARD_INSTANCE,
            flags: 0,
            mmio_megabytes: 0,
            pipe_mode: None,
            min_ring_data_pages: 1,
        }
    }

    fn open(&mut self, _io: &mut DeviceIo<'_>, _userdata: &[u8; 120]) -> Result<(), DeviceError> {
        self.state = KeyboardState::AwaitingRequest;
        self.pending.clear();
        self.requests = 0;
        Ok(())
    }

    fn close(&mut self) {
        self.state = KeyboardState::Closed;
        self.pending.clear();
    }

    fn packet(&mut self, io: &mut DeviceIo<'_>, p: &InPacket) -> Result<(), DeviceError> {
        let b = inband(p)?;
        let ty = u32_at(b, 0).ok_or(DeviceError::TooShort(b.len() as u32))?;
        if b.len() > RECEIVE_BUFFER {
            return Err(DeviceError::TooLong(b.len() as u32));
        }
        match ty {
            PROTOCOL_REQUEST => {
                let v = u32_at(b, 4).ok_or(DeviceError::TooShort(b.len() as u32))?;
                self.requests += 1;
                let ok = v == VERSION_1_0;
                self.state = if ok {
                    KeyboardState::Ready
                } else {
                    KeyboardState::AwaitingRequest
                };
                io.send_inband(protocol_response(ok));
                Ok(())
            }
            SET_LED_INDICATORS => {
                self.leds = Some(u16_at(b, 4).ok_or(DeviceError::TooShort(b.len() as u32))?);
                Ok(())
            }
            other => Err(DeviceError::UnknownMessage(other)),
        }
    }

    fn poll(&mut self, io: &mut DeviceIo<'_>) -> Result<(), DeviceError> {
        while let Some((code, info)) = self.pending.pop_front() {
            io.send_inband(event(code, info));
        }
        Ok(())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_of_sheet_9_5() {
        assert_eq!(protocol_response(true), [2, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(event(0x1E, 0), [3, 0, 0, 0, 0x1e, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            event(0x1E, INFO_BREAK),
            [3, 0, 0, 0, 0x1e, 0, 0, 0, 2, 0, 0, 0]
        );
        assert_eq!(
            event(0x1D, INFO_E0),
            [3, 0, 0, 0, 0x1d, 0, 0, 0, 4, 0, 0, 0]
        );
    }
}
