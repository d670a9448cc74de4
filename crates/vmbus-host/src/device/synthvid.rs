//! Synthetic video, synthvid over pipe framing (sheet §4.6, §6.3, §8.3).
//!
//! The VRAM is guest memory at the GPA named in VRAM_LOCATION; tests read
//! pixels back through the platform with [`Synthvid::read_pixels`].

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::any::Any;

use super::pipe;
use super::{Device, DeviceError, DeviceIo, OfferInfo, CHN_FLAG_NAMED_PIPE};
use crate::guid::{SYNTHVID_CLASS, SYNTHVID_INSTANCE};
use crate::packet::InPacket;
use crate::platform::Platform;
use crate::wire::{u32_at, u64_at, u8_at, Builder};

/// synthvid message types (§6.3).
mod ty {
    pub const VERSION_REQUEST: u32 = 1;
    pub const VERSION_RESPONSE: u32 = 2;
    pub const VRAM_LOCATION: u32 = 3;
    pub const VRAM_LOCATION_ACK: u32 = 4;
    pub const SITUATION_UPDATE: u32 = 5;
    pub const SITUATION_UPDATE_ACK: u32 = 6;
    pub const POINTER_POSITION: u32 = 7;
    pub const POINTER_SHAPE: u32 = 8;
    pub const FEATURE_CHANGE: u32 = 9;
    pub const DIRT: u32 = 10;
    pub const BIOS_INFO_REQUEST: u32 = 11;
    pub const BIOS_INFO_RESPONSE: u32 = 12;
    pub const RESOLUTION_REQUEST: u32 = 13;
    pub const RESOLUTION_RESPONSE: u32 = 14;
    pub const CAPABILITY_REQUEST: u32 = 15;
    pub const CAPABILITY_RESPONSE: u32 = 16;
}

/// Receive buffer for guest messages (OpenVMM's 0x4000, §4.6).
const RECEIVE_BUFFER: usize = 0x4000;
/// Dirty rectangles kept for inspection.
const DIRT_LIMIT: usize = 1024;
/// The resolution list: OpenVMM reports these two, default index 0.
const RESOLUTIONS: [(u16, u16); 2] = [(1024, 768), (1280, 1024)];
/// RESOLUTION_REQUEST must ask for this many (§6.3).
const RESOLUTION_COUNT: u8 = 64;

/// Protocol state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoState {
    /// Channel closed.
    Closed,
    /// Waiting for a VERSION_REQUEST with major 3.
    AwaitVersion,
    /// Negotiated.
    Ready,
}

/// The guest's one video output (SITUATION_UPDATE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Situation {
    /// active.
    pub active: bool,
    /// vram_offset.
    pub vram_offset: u32,
    /// depth_bits.
    pub depth: u8,
    /// width.
    pub width: u32,
    /// height.
    pub height: u32,
    /// pitch_bytes.
    pub pitch: u32,
}

/// A dirty rectangle, x2/y2 exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    /// Left.
    pub x1: i32,
    /// Top.
    pub y1: i32,
    /// Right (exclusive).
    pub x2: i32,
    /// Bottom (exclusive).
    pub y2: i32,
}

/// The synthetic video device.
#[derive(Debug)]
pub struct Synthvid {
    state: VideoState,
    version: u32,
    vram: Option<u64>,
    situation: Option<Situation>,
    pointer: Option<(bool, i32, i32)>,
    shape: Option<(u32, u32)>,
    dirt: VecDeque<Rect>,
    feature_change: Option<[u8; 4]>,
}

impl Default for Synthvid {
    fn default() -> Self {
        Self::new()
    }
}

impl Synthvid {
    /// A video device with no VRAM mapped.
    pub fn new() -> Self {
        Synthvid {
            state: VideoState::Closed,
            version: 0,
            vram: None,
            situation: None,
            pointer: None,
            shape: None,
            dirt: VecDeque::new(),
            feature_change: None,
        }
    }

    /// Protocol state.
    pub fn state(&self) -> VideoState {
        self.state
    }

    /// Negotiated version ((minor << 16) | major).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The VRAM GPA, once the guest named one.
    pub fn vram(&self) -> Option<u64> {
        self.vram
    }

    /// The last SITUATION_UPDATE.
    pub fn situation(&self) -> Option<Situation> {
        self.situation
    }

    /// The last POINTER_POSITION (visible, x, y).
    pub fn pointer(&self) -> Option<(bool, i32, i32)> {
        self.pointer
    }

    /// The last POINTER_SHAPE size.
    pub fn pointer_shape(&self) -> Option<(u32, u32)> {
        self.shape
    }

    /// Queues a FEATURE_CHANGE (is_dirt_needed, is_ptr_pos_needed,
    /// is_ptr_shape_needed, is_situ_needed). OpenVMM never sends one; Linux
    /// sends DIRT only after is_dirt_needed = 1 (§6.3). False unless ready.
    pub fn feature_change(
        &mut self,
        dirt: bool,
        ptr_pos: bool,
        ptr_shape: bool,
        situ: bool,
    ) -> bool {
        if self.state != VideoState::Ready {
            return false;
        }
        self.feature_change = Some([dirt, ptr_pos, ptr_shape, situ].map(u8::from));
        true
    }

    /// Takes the recorded dirty rectangles.
    pub fn take_dirt(&mut self) -> Vec<Rect> {
        self.dirt.drain(..).collect()
    }

    /// Reads a `w` × `h` block of 32-bit pixels at (`x`, `y`) from the
    /// VRAM in guest memory. `None` without VRAM, a depth-32 situation, or
    /// if the block leaves the screen or guest memory.
    pub fn read_pixels(
        &self,
        mem: &dyn Platform,
        x: u32,
        y: u32,
        w: u32,
        h: u32,
    ) -> Option<Vec<u32>> {
        let base = self.vram?;
        let s = self.situation?;
        if s.depth != 32 || x.checked_add(w)? > s.width || y.checked_add(h)? > s.height {
            return None;
        }
        let count = usize::try_from(u64::from(w) * u64::from(h)).ok()?;
        if count > 1 << 24 {
            return None; // more than a 4096 × 4096 screen
        }
        let mut out = Vec::with_capacity(count);
        let mut row = alloc::vec![0u8; w as usize * 4];
        for r in y..y + h {
            let gpa = base
                .checked_add(u64::from(s.vram_offset))?
                .checked_add(u64::from(r) * u64::from(s.pitch))?
                .checked_add(u64::from(x) * 4)?;
            mem.read_guest(gpa, &mut row).ok()?;
            out.extend(
                row.chunks(4)
                    .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            );
        }
        Some(out)
    }

    fn send(io: &mut DeviceIo<'_>, t: u32, body: &[u8]) {
        // The size word counts the body only, as OpenVMM's host sends it.
        let m = Builder::new()
            .u32(t)
            .u32(body.len() as u32)
            .bytes(body)
            .finish();
        io.send_inband(pipe::wrap(&m));
    }

    fn ready(&mut self, io: &mut DeviceIo<'_>, t: u32, b: &[u8]) -> Result<(), DeviceError> {
        let short = DeviceError::TooShort(b.len() as u32);
        let r32 = |o| u32_at(b, o).ok_or(short);
        let r8 = |o| u8_at(b, o).ok_or(short);
        match t {
            ty::VRAM_LOCATION => {
                let ctx = u64_at(b, 0).ok_or(short)?;
                let gpa = u64_at(b, 9).ok_or(short)?;
                self.vram = (r8(8)? != 0).then_some(gpa);
                Self::send(io, ty::VRAM_LOCATION_ACK, &ctx.to_le_bytes());
            }
            ty::SITUATION_UPDATE => {
                let ctx = u64_at(b, 0).ok_or(short)?;
                if r8(8)? >= 1 {
                    self.situation = Some(Situation {
                        active: r8(9)? != 0,
                        vram_offset: r32(10)?,
                        depth: r8(14)?,
                        width: r32(15)?,
                        height: r32(19)?,
                        pitch: r32(23)?,
                    });
                }
                Self::send(io, ty::SITUATION_UPDATE_ACK, &ctx.to_le_bytes());
            }
            ty::POINTER_POSITION => {
                self.pointer = Some((r8(0)? != 0, r32(2)? as i32, r32(6)? as i32));
            }
            ty::POINTER_SHAPE => self.shape = Some((r32(2)?, r32(6)?)),
            ty::DIRT => {
                let n = usize::from(r8(1)?);
                for i in 0..n {
                    let o = 2 + 16 * i;
                    if self.dirt.len() >= DIRT_LIMIT {
                        self.dirt.pop_front();
                    }
                    self.dirt.push_back(Rect {
                        x1: r32(o)? as i32,
                        y1: r32(o + 4)? as i32,
                        x2: r32(o + 8)? as i32,
                        y2: r32(o + 12)? as i32,
                    });
                }
            }
            ty::BIOS_INFO_REQUEST => {
                let mut body = [0u8; 16];
                body[0] = 1; // stop_device_supported
                Self::send(io, ty::BIOS_INFO_RESPONSE, &body);
            }
            ty::RESOLUTION_REQUEST => {
                let asked = r8(0)?;
                let list: &[(u16, u16)] = if asked >= RESOLUTION_COUNT {
                    &RESOLUTIONS
                } else {
                    &[]
                };
                let mut m = Builder::new().zeros(128).u8(list.len() as u8).u8(0).u8(0);
                for &(w, h) in list {
                    m = m.u16(w).u16(h);
                }
                Self::send(io, ty::RESOLUTION_RESPONSE, &m.finish());
            }
            ty::CAPABILITY_REQUEST => Self::send(io, ty::CAPABILITY_RESPONSE, &[0u8; 64]),
            other => return Err(DeviceError::UnknownMessage(other)),
        }
        Ok(())
    }
}

impl Device for Synthvid {
    fn offer(&self) -> OfferInfo {
        OfferInfo {
            class: SYNTHVID_CLASS,
            instance: SYNTHVID_INSTANCE,
            flags: CHN_FLAG_NAMED_PIPE,
            mmio_megabytes: 8,
            pipe_mode: Some(4),
            min_ring_data_pages: 1,
        }
    }

    fn open(&mut self, _io: &mut DeviceIo<'_>, _userdata: &[u8; 120]) -> Result<(), DeviceError> {
        self.state = VideoState::AwaitVersion;
        Ok(())
    }

    fn close(&mut self) {
        self.state = VideoState::Closed;
        self.feature_change = None;
    }

    fn packet(&mut self, io: &mut DeviceIo<'_>, p: &InPacket) -> Result<(), DeviceError> {
        let m = pipe::unwrap(p, RECEIVE_BUFFER)?;
        let t = u32_at(m, 0).ok_or(DeviceError::TooShort(m.len() as u32))?;
        if u32_at(m, 4).is_none() {
            return Err(DeviceError::TooShort(m.len() as u32));
        }
        let body = &m[8..];
        match (t, self.state) {
            (ty::VERSION_REQUEST, VideoState::AwaitVersion) => {
                let v = u32_at(body, 0).ok_or(DeviceError::TooShort(m.len() as u32))?;
                let ok = v & 0xFFFF == 3;
                if ok {
                    self.version = v;
                    self.state = VideoState::Ready;
                }
                let mut b = v.to_le_bytes().to_vec();
                b.extend_from_slice(&[u8::from(ok), 1]);
                Self::send(io, ty::VERSION_RESPONSE, &b);
                Ok(())
            }
            (ty::VERSION_REQUEST, _) | (_, VideoState::AwaitVersion) => {
                Err(DeviceError::WrongState(t))
            }
            (t, _) => self.ready(io, t, body),
        }
    }

    fn poll(&mut self, io: &mut DeviceIo<'_>) -> Result<(), DeviceError> {
        if let Some(f) = self.feature_change.take() {
            Self::send(io, ty::FEATURE_CHANGE, &f);
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
