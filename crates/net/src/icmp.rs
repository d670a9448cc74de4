//! ICMP echo ("ping") requests and their replies.
//!
//! The interface itself answers echo requests addressed to it; this is the
//! asking side. Requests wait in a table of at most [`MAX_PINGS`]; a reply
//! that matches one (same peer, identifier and sequence number) is queued
//! for [`Stack::take_echo_reply`] with its round-trip time.

use alloc::vec;
use core::net::Ipv4Addr;

use smoltcp::iface::SocketHandle;
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::socket::icmp;
use smoltcp::storage::PacketMetadata;
use smoltcp::wire::{Icmpv4Packet, Icmpv4Repr, IpAddress};

use crate::device::NetDevice;
use crate::error::NetError;
use crate::stack::Stack;
use crate::stall::Stall;

/// Echo requests awaiting a reply, and replies awaiting collection, at
/// most; the oldest is forgotten first.
pub const MAX_PINGS: usize = 16;
/// Echo messages the ICMP socket buffers each way.
const ICMP_PACKETS: usize = 4;

/// An echo reply matched to its request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EchoReply {
    /// Who answered (the request's target).
    pub from: Ipv4Addr,
    /// The request's identifier.
    pub ident: u16,
    /// The request's sequence number.
    pub seq: u16,
    /// Milliseconds from the `ping` call to the poll that received the
    /// reply, on the stack's clock.
    pub rtt_ms: u64,
    /// Bytes of echo data in the reply.
    pub len: usize,
}

/// A request sent and not yet answered.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Outstanding {
    target: Ipv4Addr,
    ident: u16,
    seq: u16,
    /// The poll that sent it (`None` until one has run).
    sent_ms: Option<u64>,
}

/// The ICMP socket, bound to one identifier.
#[derive(Debug)]
pub(crate) struct IcmpSocket {
    pub handle: SocketHandle,
    pub ident: u16,
    pub stall: Stall,
}

impl<D: NetDevice> Stack<D> {
    /// Queues an echo request to `target` carrying `payload`; it leaves on
    /// the next poll, and that poll's `now_ms` is its send time. Switching to another `ident` drops replies
    /// to the previous one that no poll has collected yet.
    pub fn ping(
        &mut self,
        target: Ipv4Addr,
        ident: u16,
        seq: u16,
        payload: &[u8],
    ) -> Result<(), NetError> {
        if target.is_broadcast() || target.is_multicast() {
            return Err(NetError::InvalidArgument);
        }
        self.route(target)?;
        if payload.len() > self.max_datagram() {
            return Err(NetError::TooLarge);
        }
        let handle = self.icmp_socket(ident)?;
        let repr = Icmpv4Repr::EchoRequest {
            ident,
            seq_no: seq,
            data: payload,
        };
        let socket = self.sockets.get_mut::<icmp::Socket>(handle);
        let buf = socket
            .send(repr.buffer_len(), IpAddress::Ipv4(target))
            .map_err(|e| match e {
                icmp::SendError::BufferFull => NetError::BufferFull,
                icmp::SendError::Unaddressable => NetError::InvalidArgument,
            })?;
        repr.emit(
            &mut Icmpv4Packet::new_unchecked(buf),
            &ChecksumCapabilities::default(),
        );
        self.pings
            .retain(|p| !(p.target == target && p.ident == ident && p.seq == seq));
        if self.pings.len() >= MAX_PINGS {
            self.pings.pop_front();
        }
        self.pings.push_back(Outstanding {
            target,
            ident,
            seq,
            sent_ms: None,
        });
        Ok(())
    }

    /// The oldest echo reply not yet taken.
    pub fn take_echo_reply(&mut self) -> Option<EchoReply> {
        self.replies.pop_front()
    }

    /// Stamps the requests the poll at `now` sent.
    pub(crate) fn stamp_pings(&mut self) {
        for p in self.pings.iter_mut().filter(|p| p.sent_ms.is_none()) {
            p.sent_ms = Some(self.now);
        }
    }

    /// The ICMP socket bound to `ident`, made (or re-made) as needed.
    pub(crate) fn icmp_socket(&mut self, ident: u16) -> Result<SocketHandle, NetError> {
        match self.icmp.take() {
            Some(ic) if ic.ident == ident => {
                let handle = ic.handle;
                self.icmp = Some(ic);
                return Ok(handle);
            }
            Some(ic) => {
                self.sockets.remove(ic.handle);
            }
            None => {}
        }
        let bytes = ICMP_PACKETS * (self.max_datagram() + 8);
        let buffer =
            || icmp::PacketBuffer::new(vec![PacketMetadata::EMPTY; ICMP_PACKETS], vec![0; bytes]);
        let mut socket = icmp::Socket::new(buffer(), buffer());
        socket
            .bind(icmp::Endpoint::Ident(ident))
            .map_err(|_| NetError::InvalidArgument)?;
        let handle = self.sockets.add(socket);
        self.icmp = Some(IcmpSocket {
            handle,
            ident,
            stall: Stall::default(),
        });
        Ok(handle)
    }

    /// Matches received echo replies to requests; returns whether any did.
    pub(crate) fn collect_echo_replies(&mut self) -> bool {
        let Some(handle) = self.icmp.as_ref().map(|ic| ic.handle) else {
            return false;
        };
        let socket = self.sockets.get_mut::<icmp::Socket>(handle);
        let caps = ChecksumCapabilities::default();
        let mut any = false;
        while let Ok((data, from)) = socket.recv() {
            // IPv4 is the only address family the stack is built with.
            let IpAddress::Ipv4(from) = from;
            let Ok(packet) = Icmpv4Packet::new_checked(data) else {
                continue;
            };
            let Ok(Icmpv4Repr::EchoReply {
                ident,
                seq_no,
                data,
                ..
            }) = Icmpv4Repr::parse(&packet, &caps)
            else {
                continue;
            };
            let Some(i) = self
                .pings
                .iter()
                .position(|p| p.target == from && p.ident == ident && p.seq == seq_no)
            else {
                continue;
            };
            let Some(sent) = self.pings.remove(i) else {
                continue;
            };
            if self.replies.len() >= MAX_PINGS {
                self.replies.pop_front();
            }
            self.replies.push_back(EchoReply {
                from,
                ident,
                seq: seq_no,
                rtt_ms: self.now.saturating_sub(sent.sent_ms.unwrap_or(self.now)),
                len: data.len(),
            });
            any = true;
        }
        any
    }
}
