//! UDP sockets: bind a port, send datagrams, receive them with their
//! sender.

use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;
use core::net::Ipv4Addr;

use smoltcp::iface::SocketHandle;

use smoltcp::socket::udp;
use smoltcp::wire::{IpAddress, IpEndpoint};

use crate::device::NetDevice;
use crate::error::NetError;
use crate::stack::Stack;
use crate::stall::Stall;
use crate::table::{Entry, SocketId};

/// Datagrams a UDP socket buffers each way.
pub const UDP_PACKETS: usize = 8;
/// Payload bytes a UDP socket buffers each way, per datagram.
pub const UDP_PACKET_BYTES: usize = 2048;
/// The DHCP client's port (RFC 2131 §4.1), taken while DHCP runs.
pub(crate) const DHCP_CLIENT_PORT: u16 = 68;

/// A UDP socket in the table.
#[derive(Debug)]
pub(crate) struct UdpEntry {
    pub handle: SocketHandle,
    pub port: u16,
    pub stall: Stall,
    /// Datagrams kept from a socket rebuilt by the stall check; read first.
    pub spill: VecDeque<Spilled>,
}

/// A received datagram held outside smoltcp.
#[derive(Debug)]
pub(crate) struct Spilled {
    pub data: Vec<u8>,
    pub from: Ipv4Addr,
    pub port: u16,
}

/// A socket with the stack's buffers, bound to `port` (not 0).
pub(crate) fn new_udp_socket(port: u16) -> Result<udp::Socket<'static>, NetError> {
    let buffer = || {
        udp::PacketBuffer::new(
            vec![udp::PacketMetadata::EMPTY; UDP_PACKETS],
            vec![0; UDP_PACKETS * UDP_PACKET_BYTES],
        )
    };
    let mut socket = udp::Socket::new(buffer(), buffer());
    socket.bind(port).map_err(|_| NetError::InvalidArgument)?;
    Ok(socket)
}

/// A received datagram's length and sender.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Datagram {
    /// Bytes copied into the buffer.
    pub len: usize,
    /// Whether the datagram was longer than the buffer (the rest is lost).
    pub truncated: bool,
    /// The sender's address.
    pub from: Ipv4Addr,
    /// The sender's port.
    pub port: u16,
}

impl<D: NetDevice> Stack<D> {
    /// Opens a UDP socket on `port` (0: a free ephemeral port).
    pub fn udp_bind(&mut self, port: u16) -> Result<SocketId, NetError> {
        if self.table.is_full() {
            return Err(NetError::TableFull);
        }
        let port = if port == 0 {
            self.ephemeral_port(|s, p| s.udp_port_in_use(p))?
        } else if self.udp_port_in_use(port) {
            return Err(NetError::PortInUse);
        } else {
            port
        };
        let handle = self.sockets.add(new_udp_socket(port)?);
        let entry = Entry::Udp(UdpEntry {
            handle,
            port,
            stall: Stall::default(),
            spill: VecDeque::new(),
        });
        self.table.insert(entry).inspect_err(|_| {
            self.sockets.remove(handle);
        })
    }

    /// The port a UDP socket is bound to.
    pub fn udp_port(&self, id: SocketId) -> Result<u16, NetError> {
        match self.table.get(id)? {
            Entry::Udp(u) => Ok(u.port),
            _ => Err(NetError::WrongKind),
        }
    }

    /// Queues `data` as one datagram to `addr:port`; it leaves on the next
    /// poll.
    pub fn udp_send_to(
        &mut self,
        id: SocketId,
        addr: Ipv4Addr,
        port: u16,
        data: &[u8],
    ) -> Result<(), NetError> {
        let handle = self.udp_handle(id)?;
        if port == 0 {
            return Err(NetError::InvalidArgument);
        }
        self.route(addr)?;
        if data.len() > self.max_datagram().min(UDP_PACKET_BYTES) {
            return Err(NetError::TooLarge);
        }
        let endpoint = IpEndpoint::new(IpAddress::Ipv4(addr), port);
        self.sockets
            .get_mut::<udp::Socket>(handle)
            .send_slice(data, endpoint)
            .map_err(|e| match e {
                udp::SendError::BufferFull => NetError::BufferFull,
                udp::SendError::Unaddressable => NetError::InvalidArgument,
            })
    }

    /// Takes the oldest received datagram into `buf`, or `None` if none
    /// waits.
    pub fn udp_recv_from(
        &mut self,
        id: SocketId,
        buf: &mut [u8],
    ) -> Result<Option<Datagram>, NetError> {
        let handle = self.udp_handle(id)?;
        if let Ok(Entry::Udp(u)) = self.table.get_mut(id) {
            if let Some(d) = u.spill.pop_front() {
                let len = d.data.len().min(buf.len());
                buf[..len].copy_from_slice(&d.data[..len]);
                return Ok(Some(Datagram {
                    len,
                    truncated: len < d.data.len(),
                    from: d.from,
                    port: d.port,
                }));
            }
        }
        let Ok((data, meta)) = self.sockets.get_mut::<udp::Socket>(handle).recv() else {
            return Ok(None);
        };
        let len = data.len().min(buf.len());
        buf[..len].copy_from_slice(&data[..len]);
        let IpAddress::Ipv4(from) = meta.endpoint.addr;
        Ok(Some(Datagram {
            len,
            truncated: len < data.len(),
            from,
            port: meta.endpoint.port,
        }))
    }

    fn udp_handle(&self, id: SocketId) -> Result<SocketHandle, NetError> {
        match self.table.get(id)? {
            Entry::Udp(u) => Ok(u.handle),
            _ => Err(NetError::WrongKind),
        }
    }

    pub(crate) fn udp_port_in_use(&self, port: u16) -> bool {
        (self.dhcp.is_some() && port == DHCP_CLIENT_PORT)
            || self
                .table
                .entries()
                .any(|e| matches!(e, Entry::Udp(u) if u.port == port))
    }
}
