//! The netvsc state machine: NVSP init, buffers, RNDIS bring-up, sending.

use super::nvsp::{
    NvspMessage, ReceiveSection, CHANNEL_CONTROL, CHANNEL_DATA, NVSP_V1, NVSP_V2, NVSP_V4, NVSP_V5,
};
use super::rndis::RndisMessage;
use super::rndis_packet::encode_packet;
use super::sections::Sections;
use super::NetvscError;
use crate::budget::Strikes;
use crate::output::Output;
use crate::packet::{Incoming, IncomingKind, Outgoing};
use crate::requests::RequestTable;

/// NVSP versions tried, newest first.
pub const NVSP_VERSIONS: &[u32] = &[NVSP_V5, NVSP_V4, NVSP_V2, NVSP_V1];
/// Most frame bytes copied out of one transfer-page packet.
pub const MAX_RX_BYTES_PER_PACKET: usize = 1 << 20;
/// Most NVSP requests in flight (sends included).
pub(super) const MAX_PENDING: usize = 256;
/// Smallest send section accepted: room for every control message.
pub(super) const MIN_SECTION_SIZE: u32 = 64;
/// Ethernet header bytes.
pub(super) const ETH_HEADER: u32 = 14;

/// Buffers and ids the kernel set up before starting the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetvscConfig {
    /// GPADL handle of the receive buffer.
    pub recv_gpadl: u32,
    /// Receive buffer size in bytes.
    pub recv_len: u32,
    /// Receive buffer id (Linux 0xCAFE); type-7 packets must name it.
    pub recv_id: u16,
    /// GPADL handle of the send buffer.
    pub send_gpadl: u32,
    /// Send buffer size in bytes.
    pub send_len: u32,
    /// Send buffer id (Linux 0).
    pub send_id: u16,
    /// MTU to announce in SEND_NDIS_CONFIG and to fall back on.
    pub mtu: u32,
}

impl NetvscConfig {
    /// Linux's ids (0xCAFE, 0) and a 1500-byte MTU.
    pub fn new(recv_gpadl: u32, recv_len: u32, send_gpadl: u32, send_len: u32) -> Self {
        Self {
            recv_gpadl,
            recv_len,
            recv_id: 0xCAFE,
            send_gpadl,
            send_len,
            send_id: 0,
            mtu: 1500,
        }
    }
}

/// The CPU view of the two buffers, passed to every call that touches them.
#[derive(Debug)]
pub struct NetBuffers<'a> {
    /// The receive buffer (host writes, guest reads).
    pub recv: &'a [u8],
    /// The send buffer (guest writes RNDIS messages into sections).
    pub send: &'a mut [u8],
}

/// Where the netvsc driver is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetvscState {
    /// Created; `start` not called yet.
    Idle,
    /// NVSP INIT for `NVSP_VERSIONS[index]` sent.
    Init {
        /// Index into [`NVSP_VERSIONS`].
        index: usize,
    },
    /// SEND_RECEIVE_BUFFER sent.
    ReceiveBuffer,
    /// SEND_SEND_BUFFER sent.
    SendBuffer,
    /// RNDIS INITIALIZE sent.
    RndisInit,
    /// QUERY permanent address sent.
    QueryMac,
    /// QUERY maximum frame size sent.
    QueryMtu,
    /// QUERY media connect status sent.
    QueryLink,
    /// SET packet filter sent.
    SetFilter,
    /// Frames flow.
    Ready,
    /// [`Netvsc::stop`] revoked the buffers; the channel may be closed.
    Stopped,
    /// Stopped for good after a host error.
    Failed,
}

/// What netvsc reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetvscEvent {
    /// The NIC is up: MAC address and MTU.
    Ready {
        /// Permanent MAC address.
        mac: [u8; 6],
        /// MTU (payload bytes per frame).
        mtu: u32,
    },
    /// Media connected.
    LinkUp,
    /// Media disconnected. A network change (the host moved the NIC) comes
    /// as `LinkDown` then `LinkUp`, as Linux bounces the carrier.
    LinkDown,
    /// A received frame.
    Frame(super::ReceivedFrame),
    /// The host finished with a frame sent by `send_frame`.
    SendComplete {
        /// trans_id of the packet `send_frame` returned.
        id: u64,
        /// The host reported success.
        ok: bool,
    },
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Pending {
    Init(usize),
    ReceiveBuffer,
    SendBuffer,
    Rndis { section: u32, data: bool },
}

/// Guest side of the netvsc primary channel.
#[derive(Debug)]
pub struct Netvsc {
    pub(super) config: NetvscConfig,
    pub(super) state: NetvscState,
    pub(super) table: RequestTable<Pending>,
    pub(super) version: u32,
    pub(super) section: Option<ReceiveSection>,
    pub(super) sections: Option<Sections>,
    pub(super) next_rndis_id: u32,
    pub(super) rndis_pending: Option<u32>,
    pub(super) mac: [u8; 6],
    pub(super) mtu: u32,
    pub(super) link_up: bool,
    pub(super) next_plain_id: u64,
    pub(super) strikes: Strikes,
}

impl Netvsc {
    /// A driver for a freshly opened netvsc channel.
    pub fn new(config: NetvscConfig) -> Self {
        Self {
            config,
            state: NetvscState::Idle,
            table: RequestTable::new(MAX_PENDING),
            version: 0,
            section: None,
            sections: None,
            next_rndis_id: 1,
            rndis_pending: None,
            mac: [0; 6],
            mtu: config.mtu,
            link_up: true,
            next_plain_id: 1 << 62,
            strikes: Strikes::default(),
        }
    }

    /// Current state.
    pub fn state(&self) -> NetvscState {
        self.state
    }

    /// Negotiated NVSP version (0 before).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// MAC address (Ready state).
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// MTU (Ready state).
    pub fn mtu(&self) -> u32 {
        self.mtu
    }

    /// Last known link state.
    pub fn link_up(&self) -> bool {
        self.link_up
    }

    /// Send sections in use (frames and control messages not completed).
    pub fn sections_in_use(&self) -> usize {
        self.sections.as_ref().map_or(0, Sections::in_use)
    }

    /// Send sections free now (0 before the send buffer is in place and
    /// after `stop`).
    pub fn sections_free(&self) -> usize {
        self.sections.as_ref().map_or(0, |s| s.count() - s.in_use())
    }

    /// Requests in flight.
    pub fn outstanding(&self) -> usize {
        self.table.len()
    }

    /// Something sent is still unanswered: an NVSP request (frames
    /// included) or an RNDIS reply. Between `start` and Ready or Failed
    /// this always holds, so a timeout on it catches a host gone silent.
    pub fn awaiting_host(&self) -> bool {
        self.table.len() > 0 || self.rndis_pending.is_some()
    }

    pub(super) fn request(
        &mut self,
        msg: NvspMessage,
        p: Pending,
        out: &mut Output<NetvscEvent>,
    ) -> Result<(), NetvscError> {
        let id = self.table.insert(p).ok_or(NetvscError::Busy)?;
        out.send(Outgoing::in_band(id, true, msg.encode()));
        Ok(())
    }

    pub(super) fn notify(&mut self, msg: NvspMessage, out: &mut Output<NetvscEvent>) {
        // Ids for packets without completion live apart from the table's.
        let id = self.next_plain_id;
        self.next_plain_id = self.next_plain_id.wrapping_add(1).max(1 << 62);
        out.send(Outgoing::in_band(id, false, msg.encode()));
    }

    pub(super) fn init(
        &mut self,
        index: usize,
        out: &mut Output<NetvscEvent>,
    ) -> Result<(), NetvscError> {
        let v = *NVSP_VERSIONS.get(index).ok_or(NetvscError::NoVersion)?;
        let msg = NvspMessage::Init {
            min_version: v,
            max_version: v,
        };
        self.request(msg, Pending::Init(index), out)?;
        self.state = NetvscState::Init { index };
        Ok(())
    }

    /// Sends NVSP INIT with the newest version.
    pub fn start(&mut self, out: &mut Output<NetvscEvent>) -> Result<(), NetvscError> {
        if self.state != NetvscState::Idle {
            return Err(NetvscError::AlreadyStarted);
        }
        self.init(0, out)
    }

    /// Writes an RNDIS message into a free send section and emits the
    /// SEND_RNDIS_PACKET naming it.
    fn send_rndis(
        &mut self,
        msg: &[u8],
        data: bool,
        send: &mut [u8],
        out: &mut Output<NetvscEvent>,
    ) -> Result<u64, NetvscError> {
        let sections = self.sections.as_mut().ok_or(NetvscError::NotReady)?;
        if msg.len() > sections.size() as usize {
            return Err(NetvscError::FrameTooLarge(msg.len()));
        }
        let section = sections.alloc().ok_or(NetvscError::Busy)?;
        let range = sections.range(section);
        let Some(dst) = send.get_mut(range.start..range.start + msg.len()) else {
            sections.free(section);
            return Err(NetvscError::BufferTooSmall);
        };
        dst.copy_from_slice(msg);
        let Some(id) = self.table.insert(Pending::Rndis { section, data }) else {
            sections.free(section);
            return Err(NetvscError::Busy);
        };
        let nvsp = NvspMessage::SendRndisPacket {
            channel_type: if data { CHANNEL_DATA } else { CHANNEL_CONTROL },
            section_index: section,
            section_size: msg.len() as u32,
        };
        out.send(Outgoing::in_band(id, true, nvsp.encode()));
        Ok(id)
    }

    /// Sends the next RNDIS bring-up request and remembers its request id.
    /// If it cannot be sent (a host that packed several replies into one
    /// packet can use up the sections) the driver stops: nothing would be
    /// left to wait for.
    pub(super) fn control(
        &mut self,
        make: impl FnOnce(u32) -> RndisMessage<'static>,
        next: NetvscState,
        send: &mut [u8],
        out: &mut Output<NetvscEvent>,
    ) -> Result<(), NetvscError> {
        let rid = self.next_rndis_id;
        self.next_rndis_id = self.next_rndis_id.wrapping_add(1).max(1);
        if let Err(e) = self.send_rndis(&make(rid).encode(), false, send, out) {
            self.state = NetvscState::Failed;
            return Err(e);
        }
        self.rndis_pending = Some(rid);
        self.state = next;
        Ok(())
    }

    /// Queues one Ethernet frame (Ready state): copies it as a PACKET_MSG
    /// into a send section and returns the SEND_RNDIS_PACKET to write; its
    /// trans_id comes back in [`NetvscEvent::SendComplete`]. [`NetvscError::Busy`]
    /// means every section is in flight: retry after completions.
    pub fn send_frame(&mut self, frame: &[u8], send: &mut [u8]) -> Result<Outgoing, NetvscError> {
        if self.state != NetvscState::Ready {
            return Err(NetvscError::NotReady);
        }
        if send.len() < self.config.send_len as usize {
            return Err(NetvscError::BufferTooSmall);
        }
        if frame.len() < ETH_HEADER as usize
            || frame.len() > self.mtu.saturating_add(ETH_HEADER + 4) as usize
        {
            return Err(NetvscError::FrameTooLarge(frame.len()));
        }
        let mut out = Output::new();
        self.send_rndis(&encode_packet(frame), true, send, &mut out)?;
        out.sends.pop().ok_or(NetvscError::Busy)
    }

    /// Consumes one packet from the host.
    pub fn handle(
        &mut self,
        packet: &Incoming<'_>,
        bufs: &mut NetBuffers<'_>,
        out: &mut Output<NetvscEvent>,
    ) -> Result<(), NetvscError> {
        match self.state {
            NetvscState::Failed => return Err(NetvscError::Failed),
            NetvscState::Stopped => return Err(NetvscError::Stopped),
            _ => {}
        }
        if bufs.recv.len() < self.config.recv_len as usize
            || bufs.send.len() < self.config.send_len as usize
        {
            return Err(NetvscError::BufferTooSmall);
        }
        let r = match packet.kind {
            IncomingKind::Completion => self.completion(packet, bufs.send, out),
            IncomingKind::TransferPages(tp) => self.receive(packet, tp, bufs, out),
            IncomingKind::InBand => self.in_band(packet.payload),
            IncomingKind::GpaDirect => Err(NetvscError::WrongPacketKind),
        };
        match r {
            Ok(()) => {
                self.strikes.good();
                Ok(())
            }
            Err(e) => {
                if self.strikes.strike() || e.is_fatal() {
                    self.state = NetvscState::Failed;
                }
                Err(e)
            }
        }
    }

    fn in_band(&mut self, payload: &[u8]) -> Result<(), NetvscError> {
        match NvspMessage::decode(payload) {
            // 128..=136: VF association, switch data path, OID_QUERY_EX,
            // subchannels, indirection table, PD API: a minimal driver
            // ignores them (§6.5).
            Err(NetvscError::UnknownNvsp(128..=136)) => Ok(()),
            Err(e) => Err(e),
            Ok(m) => Err(NetvscError::UnexpectedNvsp(m.msg_type())),
        }
    }
}

impl NetvscError {
    /// Errors that always stop the driver. Any other error stops it too
    /// when it leaves a bring-up step with nothing left to wait for (a
    /// broken completion, a request that cannot be sent), or once the
    /// violation budget is spent; check [`Netvsc::state`].
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            Self::NoVersion
                | Self::InitFailed { .. }
                | Self::BadReceiveSection
                | Self::BadSendSection(_)
                | Self::RndisStatus { .. }
                | Self::BadMac
        )
    }
}
