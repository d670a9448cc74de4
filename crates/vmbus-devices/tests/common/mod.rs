//! Helpers shared by the scripted-host tests: hand-built byte layouts.
#![allow(dead_code)]

pub mod disk_fake;
pub mod net_fake;
pub mod strategies;

use vmbus_devices::{Incoming, Outgoing, OutgoingKind};

/// Parses "01 00 ff ..." (whitespace separated) into bytes.
pub fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).expect("hex byte"))
        .collect()
}

/// Little-endian byte builder for host messages written by hand.
#[derive(Default, Clone)]
pub struct Bytes(pub Vec<u8>);

impl Bytes {
    pub fn new() -> Self {
        Self(Vec::new())
    }
    pub fn u8(mut self, v: u8) -> Self {
        self.0.push(v);
        self
    }
    pub fn u16(mut self, v: u16) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn u32(mut self, v: u32) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn i32(mut self, v: i32) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn u64(mut self, v: u64) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn raw(mut self, b: &[u8]) -> Self {
        self.0.extend_from_slice(b);
        self
    }
    pub fn zeros(mut self, n: usize) -> Self {
        self.0.resize(self.0.len() + n, 0);
        self
    }
    /// Pads to a multiple of 8, like a ring payload.
    pub fn padded(mut self) -> Self {
        while !self.0.len().is_multiple_of(8) {
            self.0.push(0);
        }
        self
    }
    pub fn done(self) -> Vec<u8> {
        self.0
    }
}

/// The u32 at `off` of `b`.
pub fn rd32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}

/// The u16 at `off` of `b`.
pub fn rd16(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes(b[off..off + 2].try_into().unwrap())
}

/// The u64 at `off` of `b`.
pub fn rd64(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().unwrap())
}

/// A hand-built in-band ring packet image (§4.3 descriptor + padded
/// payload), as the host would write it.
pub fn inband_packet(trans_id: u64, completion: bool, payload: &[u8]) -> Vec<u8> {
    let padded = payload.len().div_ceil(8) * 8;
    Bytes::new()
        .u16(6)
        .u16(2)
        .u16(((16 + padded) / 8) as u16)
        .u16(completion as u16)
        .u64(trans_id)
        .raw(payload)
        .padded()
        .done()
}

/// A hand-built completion packet image.
pub fn comp_packet(trans_id: u64, payload: &[u8]) -> Vec<u8> {
    let mut p = inband_packet(trans_id, false, payload);
    p[0] = 0x0B;
    p
}

/// A hand-built transfer-page packet image (type 7, completion requested).
pub fn xfer_packet(trans_id: u64, pageset: u16, ranges: &[(u32, u32)], payload: &[u8]) -> Vec<u8> {
    let header = 0x18 + 8 * ranges.len();
    let padded = payload.len().div_ceil(8) * 8;
    let mut b = Bytes::new()
        .u16(7)
        .u16((header / 8) as u16)
        .u16(((header + padded) / 8) as u16)
        .u16(1)
        .u64(trans_id)
        .u16(pageset)
        .u8(0)
        .u8(0)
        .u32(ranges.len() as u32);
    for &(count, offset) in ranges {
        b = b.u32(count).u32(offset);
    }
    b.raw(payload).padded().done()
}

/// Parses a packet image into the crate's boundary type.
pub fn parse(p: &[u8]) -> Incoming<'_> {
    Incoming::parse(p).expect("test packet parses")
}

/// Asserts `o` is an in-band packet and returns its payload.
pub fn inband_payload(o: &Outgoing) -> &[u8] {
    assert_eq!(o.kind, OutgoingKind::InBand, "expected in-band packet");
    &o.payload
}

/// OpenVMM's 67-byte mouse report descriptor (§6.2).
pub fn mouse_descriptor() -> Vec<u8> {
    vec![
        0x05, 0x01, 0x09, 0x02, 0xA1, 0x01, 0x09, 0x01, 0xA1, 0x00, 0x05, 0x09, 0x19, 0x01, 0x29,
        0x05, 0x15, 0x00, 0x25, 0x01, 0x95, 0x05, 0x75, 0x01, 0x81, 0x02, 0x95, 0x01, 0x75, 0x03,
        0x81, 0x01, 0x05, 0x01, 0x09, 0x30, 0x09, 0x31, 0x15, 0x00, 0x26, 0xFF, 0x7F, 0x75, 0x10,
        0x95, 0x02, 0x81, 0x02, 0x05, 0x01, 0x09, 0x38, 0x16, 0x01, 0x80, 0x26, 0xFF, 0x7F, 0x75,
        0x10, 0x95, 0x01, 0x81, 0x06, 0xC0, 0xC0,
    ]
}
