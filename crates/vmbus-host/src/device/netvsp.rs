//! The network back-end, netvsp: NVSP init, buffers and RNDIS transport
//! (sheet §6.5, §8.1, §8.3), with a loop-back, responder or capture peer.
//!
//! Host → guest RNDIS messages (control replies, received frames, link
//! indications) go into sub-allocations of the guest's receive buffer and
//! travel as transfer-page packets whose trans_id is the sub-allocation
//! index; the guest must complete each (NVSP type 108) to free it.

mod tx;

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::any::Any;

use super::net_rx::RxBuffer;
use super::pipe::kind_number;
use super::rndis::{self, Rndis};
use super::{Device, DeviceError, DeviceIo, OfferInfo};
use crate::guid::{NETWORK_CLASS, NETWORK_INSTANCE};
use crate::packet::{InKind, InPacket};
use crate::wire::{u16_at, u32_at, Builder};

/// NVSP message types (§6.5).
pub(crate) mod ty {
    pub(crate) const INIT: u32 = 1;
    pub(crate) const INIT_COMPLETE: u32 = 2;
    pub(crate) const SEND_NDIS_VERSION: u32 = 100;
    pub(crate) const SEND_RECEIVE_BUFFER: u32 = 101;
    pub(crate) const SEND_RECEIVE_BUFFER_COMPLETE: u32 = 102;
    pub(crate) const REVOKE_RECEIVE_BUFFER: u32 = 103;
    pub(crate) const SEND_SEND_BUFFER: u32 = 104;
    pub(crate) const SEND_SEND_BUFFER_COMPLETE: u32 = 105;
    pub(crate) const REVOKE_SEND_BUFFER: u32 = 106;
    pub(crate) const SEND_RNDIS_PACKET: u32 = 107;
    pub(crate) const SEND_RNDIS_PACKET_COMPLETE: u32 = 108;
    pub(crate) const SEND_NDIS_CONFIG: u32 = 125;
}

/// NVSP versions this host accepts, newest first (§6.5).
const VERSIONS: [u32; 6] = [
    0x0006_0001,
    0x0006_0000,
    0x0005_0000,
    0x0004_0000,
    0x0003_0002,
    0x0000_0002,
];
/// NVSP status SUCCESS / FAILURE.
const SUCCESS: u32 = 1;
const FAILURE: u32 = 2;
/// Send buffer section size (OpenVMM's fixed 6144, §6.5).
pub const SEND_SECTION: u32 = 6144;
/// Host → guest messages waiting for a free sub-allocation.
const RX_LIMIT: usize = 1024;

/// What the host side of the wire does with frames the guest sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetMode {
    /// Every frame comes straight back to the guest.
    Loopback,
    /// ARP, ICMP echo and UDP echo for one IPv4 address.
    Responder {
        /// The responder's MAC.
        mac: [u8; 6],
        /// The responder's IPv4 address.
        ip: [u8; 4],
    },
    /// Frames are only recorded.
    Capture,
}

/// NVSP protocol state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NvspState {
    /// Channel closed.
    Closed,
    /// Waiting for INIT.
    AwaitInit,
    /// INIT done; NDIS config/version and buffers arriving.
    Init,
    /// Receive buffer in place: RNDIS may flow.
    Ready,
}

/// The synthetic network adapter.
#[derive(Debug)]
pub struct Netvsp {
    mode: NetMode,
    state: NvspState,
    version: u32,
    ndis_config: bool,
    ndis_version: Option<(u32, u32)>,
    mtu: u32,
    rx: Option<RxBuffer>,
    tx_gpadl: Option<u32>,
    rndis: Rndis,
    pending: VecDeque<(u32, Vec<u8>)>,
    sent: VecDeque<Vec<u8>>,
}

impl Netvsp {
    /// An adapter with MAC `guest_mac` and the given peer.
    pub fn new(guest_mac: [u8; 6], mode: NetMode) -> Self {
        Netvsp {
            mode,
            state: NvspState::Closed,
            version: 0,
            ndis_config: false,
            ndis_version: None,
            mtu: 1514,
            rx: None,
            tx_gpadl: None,
            rndis: Rndis::new(guest_mac),
            pending: VecDeque::new(),
            sent: VecDeque::new(),
        }
    }

    /// NVSP state.
    pub fn state(&self) -> NvspState {
        self.state
    }

    /// Negotiated NVSP version (0 before INIT).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The RNDIS packet filter the guest set.
    pub fn packet_filter(&self) -> u32 {
        self.rndis.filter
    }

    /// True once RNDIS INITIALIZE was answered.
    pub fn rndis_initialized(&self) -> bool {
        self.rndis.initialized
    }

    /// Takes the frames the guest transmitted, oldest first.
    pub fn take_sent(&mut self) -> Vec<Vec<u8>> {
        self.sent.drain(..).collect()
    }

    /// Delivers `frame` to the guest (if the packet filter lets it in).
    pub fn inject_frame(&mut self, frame: &[u8]) -> bool {
        if !self.rndis.accepts(frame.get(0..6).unwrap_or(&[])) {
            return false;
        }
        self.queue(0, rndis::packet_msg(frame))
    }

    /// Changes the link state and tells the guest (INDICATE_STATUS).
    pub fn set_link(&mut self, up: bool) -> bool {
        self.rndis.link_up = up;
        let s = if up {
            rndis::STATUS_MEDIA_CONNECT
        } else {
            rndis::STATUS_MEDIA_DISCONNECT
        };
        self.rndis.initialized && self.queue(1, rndis::indicate_status(s))
    }

    /// Receive sub-allocations the guest has not completed yet.
    pub fn outstanding_receives(&self) -> usize {
        self.rx.as_ref().map_or(0, RxBuffer::outstanding)
    }

    fn queue(&mut self, channel_type: u32, msg: Vec<u8>) -> bool {
        if self.pending.len() >= RX_LIMIT {
            return false;
        }
        self.pending.push_back((channel_type, msg));
        true
    }

    /// NVSP messages are padded to 28 bytes, 40 from NVSP 6.1 (§6.5).
    fn nvsp(&self, b: Builder) -> Vec<u8> {
        b.pad_to(if self.version >= 0x0006_0001 { 40 } else { 28 })
            .finish()
    }

    fn init(&mut self, io: &mut DeviceIo<'_>, p: &InPacket, m: &[u8]) -> Result<(), DeviceError> {
        let (min, max) = (field(m, 4)?, field(m, 8)?);
        let chosen = VERSIONS.into_iter().find(|&v| min <= v && v <= max);
        let status = match chosen {
            Some(v) => {
                self.version = v;
                self.state = NvspState::Init;
                SUCCESS
            }
            None => 0, // NONE, as OpenVMM answers an unsupported version
        };
        let negotiated = if chosen == Some(2) { 2 } else { 0xFFFF_FFFF };
        let reply = self.nvsp(
            Builder::new()
                .u32(ty::INIT_COMPLETE)
                .u32(negotiated)
                .u32(34)
                .u32(status),
        );
        io.complete(p, reply);
        Ok(())
    }

    fn receive_buffer(
        &mut self,
        io: &mut DeviceIo<'_>,
        p: &InPacket,
        m: &[u8],
    ) -> Result<(), DeviceError> {
        if self.rx.is_some() || (self.version >= 0x0003_0002 && !self.ndis_config) {
            return Err(DeviceError::WrongState(ty::SEND_RECEIVE_BUFFER));
        }
        let gpadl = field(m, 4)?;
        let id = u16_at(m, 8).ok_or(DeviceError::TooShort(m.len() as u32))?;
        let len = io.gpadl_len(gpadl)?;
        let sub = 256 + self.mtu + 36;
        let count = (len / u64::from(sub)).min(0xFFFF) as u32;
        let status = if count == 0 { FAILURE } else { SUCCESS };
        if count > 0 {
            self.rx = Some(RxBuffer::new(gpadl, id, sub, count));
        }
        let reply = self.nvsp(
            Builder::new()
                .u32(ty::SEND_RECEIVE_BUFFER_COMPLETE)
                .u32(status)
                .u32(1)
                .u32(0)
                .u32(sub)
                .u32(count)
                .u32(sub * count),
        );
        io.complete(p, reply);
        if self.ndis_version.is_some() && self.rx.is_some() {
            self.state = NvspState::Ready;
        }
        Ok(())
    }

    fn guest_completion(&mut self, p: &InPacket) -> Result<(), DeviceError> {
        let t = u32_at(&p.payload, 0).ok_or(DeviceError::TooShort(p.payload.len() as u32))?;
        if t != ty::SEND_RNDIS_PACKET_COMPLETE {
            return Err(DeviceError::UnknownMessage(t));
        }
        match self.rx.as_mut() {
            Some(rx) => rx.complete(p.trans_id),
            None => Err(DeviceError::UnknownCompletion(p.trans_id)),
        }
    }
}

fn field(m: &[u8], off: usize) -> Result<u32, DeviceError> {
    u32_at(m, off).ok_or(DeviceError::TooShort(m.len() as u32))
}

impl Device for Netvsp {
    fn offer(&self) -> OfferInfo {
        OfferInfo {
            class: NETWORK_CLASS,
            instance: NETWORK_INSTANCE,
            flags: 0,
            mmio_megabytes: 0,
            pipe_mode: None,
            min_ring_data_pages: 1,
        }
    }

    fn open(&mut self, _io: &mut DeviceIo<'_>, _userdata: &[u8; 120]) -> Result<(), DeviceError> {
        let mac = self.rndis.mac;
        *self = Netvsp {
            sent: core::mem::take(&mut self.sent),
            ..Netvsp::new(mac, self.mode)
        };
        self.state = NvspState::AwaitInit;
        Ok(())
    }

    fn close(&mut self) {
        self.state = NvspState::Closed;
        self.rx = None;
        self.tx_gpadl = None;
        self.pending.clear();
    }

    fn packet(&mut self, io: &mut DeviceIo<'_>, p: &InPacket) -> Result<(), DeviceError> {
        match p.kind {
            InKind::Completion => return self.guest_completion(p),
            InKind::Inband | InKind::GpaDirect(_) => {}
            ref k => return Err(DeviceError::UnexpectedPacket(kind_number(k))),
        }
        let m = p.payload.as_slice();
        let t = field(m, 0)?;
        if self.state == NvspState::AwaitInit && t != ty::INIT {
            return Err(DeviceError::WrongState(t));
        }
        match t {
            ty::INIT if self.state == NvspState::AwaitInit => self.init(io, p, m),
            ty::SEND_NDIS_CONFIG if self.state == NvspState::Init && !self.ndis_config => {
                self.mtu = field(m, 4)?.clamp(1514, 9216);
                self.rndis.frame_size = self.mtu;
                self.ndis_config = true;
                io.complete(p, Vec::new());
                Ok(())
            }
            ty::SEND_NDIS_VERSION
                if self.state == NvspState::Init && self.ndis_version.is_none() =>
            {
                self.ndis_version = Some((field(m, 4)?, field(m, 8)?));
                if self.rx.is_some() {
                    self.state = NvspState::Ready;
                }
                io.complete(p, Vec::new());
                Ok(())
            }
            ty::SEND_RECEIVE_BUFFER if self.state == NvspState::Init => {
                self.receive_buffer(io, p, m)
            }
            ty::SEND_SEND_BUFFER
                if self.tx_gpadl.is_none() && self.state != NvspState::AwaitInit =>
            {
                let g = field(m, 4)?;
                let ok = io.gpadl_len(g).is_ok_and(|l| l >= u64::from(SEND_SECTION));
                if ok {
                    self.tx_gpadl = Some(g);
                }
                let reply = self.nvsp(
                    Builder::new()
                        .u32(ty::SEND_SEND_BUFFER_COMPLETE)
                        .u32(if ok { SUCCESS } else { FAILURE })
                        .u32(SEND_SECTION),
                );
                io.complete(p, reply);
                Ok(())
            }
            ty::SEND_RNDIS_PACKET => self.rndis_packet(io, p, m),
            ty::REVOKE_RECEIVE_BUFFER => {
                self.rx = None;
                self.state = NvspState::Init;
                io.complete(p, Vec::new());
                Ok(())
            }
            ty::REVOKE_SEND_BUFFER => {
                self.tx_gpadl = None;
                io.complete(p, Vec::new());
                Ok(())
            }
            other => Err(DeviceError::WrongState(other)),
        }
    }

    fn poll(&mut self, io: &mut DeviceIo<'_>) -> Result<(), DeviceError> {
        match self.rx.as_mut() {
            Some(rx) => rx.deliver(io, &mut self.pending, self.version),
            None => Ok(()),
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}
