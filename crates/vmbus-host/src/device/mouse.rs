//! The synthetic mouse, SynthHID over pipe framing (sheet §4.6, §6.2).
//!
//! PROTOCOL_REQUEST(2.0) → PROTOCOL_RESPONSE(approved) → INITIAL_DEVICE_INFO
//! → the guest's ACK → input reports. Once active any guest message stops
//! the device, as in OpenVMM.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::any::Any;

use super::pipe;
use super::{Device, DeviceError, DeviceIo, OfferInfo, CHN_FLAG_NAMED_PIPE};
use crate::guid::{MOUSE_CLASS, MOUSE_INSTANCE};
use crate::packet::InPacket;
use crate::wire::{u32_at, Builder};

/// SynthHID message types (§6.2).
mod ty {
    pub const PROTOCOL_REQUEST: u32 = 0;
    pub const PROTOCOL_RESPONSE: u32 = 1;
    pub const INITIAL_DEVICE_INFO: u32 = 2;
    pub const INITIAL_DEVICE_INFO_ACK: u32 = 3;
    pub const INPUT_REPORT: u32 = 4;
}

/// SynthHID version 2.0 (§6.2).
pub const VERSION_2_0: u32 = 0x0002_0000;
/// OpenVMM's receive buffer for guest messages (§4.6).
const RECEIVE_BUFFER: usize = 64;
/// Reports kept while the guest is slow to read.
const REPORT_LIMIT: usize = 1024;

/// This host's report descriptor (HID 1.11): one 7-byte report of
/// 3 buttons + 5 padding bits, absolute X and Y in 0..=0x7FFF, and a
/// relative 16-bit wheel — the layout of §6.2.
pub const REPORT_DESCRIPTOR: [u8; 65] = [
    0x05, 0x01, // Usage Page (Generic Desktop)
    0x09, 0x02, // Usage (Mouse)
    0xA1, 0x01, // Collection (Application)
    0x09, 0x01, //   Usage (Pointer)
    0xA1, 0x00, //   Collection (Physical)
    0x05, 0x09, //     Usage Page (Button)
    0x19, 0x01, //     Usage Minimum (1)
    0x29, 0x03, //     Usage Maximum (3)
    0x15, 0x00, //     Logical Minimum (0)
    0x25, 0x01, //     Logical Maximum (1)
    0x95, 0x03, //     Report Count (3)
    0x75, 0x01, //     Report Size (1)
    0x81, 0x02, //     Input (Data, Variable, Absolute)
    0x95, 0x01, //     Report Count (1)
    0x75, 0x05, //     Report Size (5)
    0x81, 0x03, //     Input (Constant)
    0x05, 0x01, //     Usage Page (Generic Desktop)
    0x09, 0x30, //     Usage (X)
    0x09, 0x31, //     Usage (Y)
    0x15, 0x00, //     Logical Minimum (0)
    0x26, 0xFF, 0x7F, // Logical Maximum (32767)
    0x75, 0x10, //     Report Size (16)
    0x95, 0x02, //     Report Count (2)
    0x81, 0x02, //     Input (Data, Variable, Absolute)
    0x09, 0x38, //     Usage (Wheel)
    0x16, 0x01, 0x80, // Logical Minimum (-32767)
    0x26, 0xFF, 0x7F, // Logical Maximum (32767)
    0x75, 0x10, //     Report Size (16)
    0x95, 0x01, //     Report Count (1)
    0x81, 0x06, //     Input (Data, Variable, Relative)
    0xC0, //   End Collection
    0xC0, // End Collection
];

/// Protocol state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MouseState {
    /// Channel closed.
    Closed,
    /// Waiting for an acceptable PROTOCOL_REQUEST.
    AwaitProtocol,
    /// INITIAL_DEVICE_INFO sent; waiting for the ACK.
    AwaitAck,
    /// Reports flow.
    Active,
}

/// The synthetic mouse.
#[derive(Debug)]
pub struct Mouse {
    state: MouseState,
    pad_device_info: bool,
    reports: VecDeque<[u8; 7]>,
    last: (u16, u16, u8),
}

impl Default for Mouse {
    fn default() -> Self {
        Self::new()
    }
}

impl Mouse {
    /// A mouse whose INITIAL_DEVICE_INFO body is zero-padded to 169 bytes
    /// like OpenVMM's (§6.2).
    pub fn new() -> Self {
        Mouse {
            state: MouseState::Closed,
            pad_device_info: true,
            reports: VecDeque::new(),
            last: (0, 0, 0),
        }
    }

    /// Sends INITIAL_DEVICE_INFO without the padding.
    pub fn unpadded(mut self) -> Self {
        self.pad_device_info = false;
        self
    }

    /// The protocol state.
    pub fn state(&self) -> MouseState {
        self.state
    }

    /// Injects an absolute position (0..=0x7FFF on both axes) and button
    /// bits (0x1 left, 0x2 right, 0x4 middle). False unless active.
    pub fn move_to(&mut self, x: u16, y: u16, buttons: u8) -> bool {
        self.last = (x.min(0x7FFF), y.min(0x7FFF), buttons & 7);
        self.report(0)
    }

    /// Injects a wheel movement at the last position.
    pub fn wheel(&mut self, delta: i16) -> bool {
        self.report(delta)
    }

    fn report(&mut self, wheel: i16) -> bool {
        if self.state != MouseState::Active || self.reports.len() >= REPORT_LIMIT {
            return false;
        }
        let (x, y, b) = self.last;
        let mut r = [0u8; 7];
        r[0] = b;
        r[1..3].copy_from_slice(&x.to_le_bytes());
        r[3..5].copy_from_slice(&y.to_le_bytes());
        r[5..7].copy_from_slice(&wheel.to_le_bytes());
        self.reports.push_back(r);
        true
    }

    /// The INITIAL_DEVICE_INFO synthhid message.
    pub(crate) fn device_info(&self) -> Vec<u8> {
        let desc = &REPORT_DESCRIPTOR;
        let size = 32 + 9 + desc.len();
        let b = Builder::new()
            .u32(ty::INITIAL_DEVICE_INFO)
            .u32(size as u32)
            // Device attributes: size, vendor, product, version, reserved.
            .u32(32)
            .u16(0x045E)
            .u16(0x0621)
            .u16(0x0001)
            .zeros(22)
            // HID descriptor: 9 bytes, type 0x21, HID 1.01, one report
            // descriptor (type 0x22) of `desc.len()` bytes.
            .u8(9)
            .u8(0x21)
            .u16(0x0101)
            .u8(0)
            .u8(1)
            .u8(0x22)
            .u16(desc.len() as u16)
            .bytes(desc);
        if self.pad_device_info {
            b.pad_to(8 + 32 + 9 + 128).finish()
        } else {
            b.finish()
        }
    }
}

fn synthhid(t: u32, body: &[u8]) -> Vec<u8> {
    Builder::new()
        .u32(t)
        .u32(body.len() as u32)
        .bytes(body)
        .finish()
}

impl Device for Mouse {
    fn offer(&self) -> OfferInfo {
        OfferInfo {
            class: MOUSE_CLASS,
            instance: MOUSE_INSTANCE,
            flags: CHN_FLAG_NAMED_PIPE,
            mmio_megabytes: 0,
            pipe_mode: Some(4),
            min_ring_data_pages: 1,
        }
    }

    fn open(&mut self, _io: &mut DeviceIo<'_>, _userdata: &[u8; 120]) -> Result<(), DeviceError> {
        self.state = MouseState::AwaitProtocol;
        self.reports.clear();
        Ok(())
    }

    fn close(&mut self) {
        self.state = MouseState::Closed;
        self.reports.clear();
    }

    fn packet(&mut self, io: &mut DeviceIo<'_>, p: &InPacket) -> Result<(), DeviceError> {
        let m = pipe::unwrap(p, RECEIVE_BUFFER)?;
        let t = u32_at(m, 0).ok_or(DeviceError::TooShort(m.len() as u32))?;
        match (t, self.state) {
            (ty::PROTOCOL_REQUEST, MouseState::AwaitProtocol) => {
                let v = u32_at(m, 8).ok_or(DeviceError::TooShort(m.len() as u32))?;
                let ok = v == VERSION_2_0;
                let mut body = v.to_le_bytes().to_vec();
                body.push(u8::from(ok));
                io.send_inband(pipe::wrap(&synthhid(ty::PROTOCOL_RESPONSE, &body)));
                if ok {
                    io.send_inband(pipe::wrap(&self.device_info()));
                    self.state = MouseState::AwaitAck;
                }
                Ok(())
            }
            (ty::INITIAL_DEVICE_INFO_ACK, MouseState::AwaitAck) => {
                self.state = MouseState::Active;
                Ok(())
            }
            (t, _) => Err(DeviceError::WrongState(t)),
        }
    }

    fn poll(&mut self, io: &mut DeviceIo<'_>) -> Result<(), DeviceError> {
        while let Some(r) = self.reports.pop_front() {
            io.send_inband(pipe::wrap(&synthhid(ty::INPUT_REPORT, &r)));
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
