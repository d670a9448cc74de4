//! TCP: listeners that accept repeatedly, outgoing connections, streams.
//!
//! A listener id stands for a port, not for one smoltcp socket. The stack
//! keeps one socket in LISTEN on that port; when a SYN arrives that socket
//! *becomes the connection* (it moves to the listener's pending list) and
//! a fresh socket is put in LISTEN in its place, between frames of the
//! same poll. `tcp_accept` hands out the pending connections that have
//! finished the handshake, each under a new id, oldest first. At most
//! [`BACKLOG`] connections wait; while that many do, SYNs to the port are
//! refused with a reset until the server accepts.

use alloc::vec;
use core::net::Ipv4Addr;

use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::socket::tcp;
use smoltcp::time::Duration;
use smoltcp::wire::IpAddress;

use crate::device::NetDevice;
use crate::error::NetError;
use crate::stack::Stack;
use crate::table::{Entry, Listener, SocketId};

/// Receive and send buffer of each TCP connection, in bytes.
pub const TCP_BUFFER: usize = 16 * 1024;
/// Connections a listener holds for `tcp_accept`, handshaking or done.
pub const BACKLOG: usize = 4;
/// A connection aborts when the peer has sent nothing for this long.
/// smoltcp counts silence whether or not data is outstanding, so idle
/// connections send keep-alives ([`TCP_KEEPALIVE_MS`]) that a live peer
/// acknowledges; a vanished peer is detected within this time.
pub const TCP_TIMEOUT_MS: u64 = 90_000;
/// Keep-alive interval of an idle connection.
pub const TCP_KEEPALIVE_MS: u64 = 30_000;

/// A TCP socket's state (RFC 793 §3.2); a listener is always `Listen`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpState {
    /// No connection: refused, reset or timed out.
    Closed,
    /// A listener waiting for connections.
    Listen,
    /// Our SYN is out, no answer yet.
    SynSent,
    /// A peer's SYN answered, its ACK not yet in.
    SynReceived,
    /// Open both ways.
    Established,
    /// We closed; our FIN is not yet acknowledged.
    FinWait1,
    /// We closed and the peer acknowledged; it may still send.
    FinWait2,
    /// The peer closed; we may still send.
    CloseWait,
    /// Both closed at once; waiting for the peer's ACK.
    Closing,
    /// The peer closed, then we did; waiting for its ACK.
    LastAck,
    /// Both closed; waiting out stray segments.
    TimeWait,
}

impl From<tcp::State> for TcpState {
    fn from(s: tcp::State) -> Self {
        use tcp::State as S;
        match s {
            S::Closed => Self::Closed,
            S::Listen => Self::Listen,
            S::SynSent => Self::SynSent,
            S::SynReceived => Self::SynReceived,
            S::Established => Self::Established,
            S::FinWait1 => Self::FinWait1,
            S::FinWait2 => Self::FinWait2,
            S::CloseWait => Self::CloseWait,
            S::Closing => Self::Closing,
            S::LastAck => Self::LastAck,
            S::TimeWait => Self::TimeWait,
        }
    }
}

/// A fresh socket with the stack's buffers and timeout.
fn new_socket() -> tcp::Socket<'static> {
    let mut s = tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; TCP_BUFFER]),
        tcp::SocketBuffer::new(vec![0; TCP_BUFFER]),
    );
    s.set_timeout(Some(Duration::from_millis(TCP_TIMEOUT_MS)));
    s.set_keep_alive(Some(Duration::from_millis(TCP_KEEPALIVE_MS)));
    s
}

/// Whether a pending connection can be accepted.
pub(crate) fn acceptable(sockets: &SocketSet<'_>, handle: SocketHandle) -> bool {
    matches!(
        sockets.get::<tcp::Socket>(handle).state(),
        tcp::State::Established | tcp::State::CloseWait
    )
}

impl<D: NetDevice> Stack<D> {
    /// Opens a listener on `port`; connections come out of
    /// [`Stack::tcp_accept`], each under its own id, as often as peers
    /// connect. The listener id stands for the port: the socket that
    /// takes a SYN becomes that connection and a fresh one listens in its
    /// place (between frames of one poll, so simultaneous SYNs all find
    /// one). At most [`BACKLOG`] connections wait for `tcp_accept`; while
    /// that many do, further SYNs are refused with a reset.
    pub fn tcp_listen(&mut self, port: u16) -> Result<SocketId, NetError> {
        if port == 0 {
            return Err(NetError::InvalidArgument);
        }
        let taken = self
            .table
            .entries()
            .any(|e| matches!(e, Entry::Listener(l) if l.port == port));
        if taken {
            return Err(NetError::PortInUse);
        }
        if self.table.is_full() {
            return Err(NetError::TableFull);
        }
        let mut socket = new_socket();
        socket.listen(port).map_err(|_| NetError::InvalidArgument)?;
        let handle = self.sockets.add(socket);
        let entry = Entry::Listener(Listener {
            port,
            listening: Some(handle),
            pending: vec![],
        });
        self.table.insert(entry).inspect_err(|_| {
            self.sockets.remove(handle);
        })
    }

    /// The oldest connection the listener `id` took that has finished its
    /// handshake, as a new connection id; `None` if none is ready.
    pub fn tcp_accept(&mut self, id: SocketId) -> Result<Option<SocketId>, NetError> {
        let Entry::Listener(l) = self.table.get(id)? else {
            return Err(NetError::WrongKind);
        };
        let Some(i) = l.pending.iter().position(|&h| acceptable(&self.sockets, h)) else {
            return Ok(None);
        };
        if self.table.is_full() {
            return Err(NetError::TableFull);
        }
        let Entry::Listener(l) = self.table.get_mut(id)? else {
            return Err(NetError::WrongKind);
        };
        let handle = l.pending.remove(i);
        let conn = self.table.insert(Entry::Tcp { handle });
        if conn.is_err() {
            // Not reached (checked above); do not leak the socket.
            self.sockets.get_mut::<tcp::Socket>(handle).abort();
            self.linger(handle, 0, true);
        }
        // A full backlog left the port without a listener; re-arm it.
        self.service_listeners();
        conn.map(Some)
    }

    /// Starts a connection to `addr:port` from an ephemeral port; it is
    /// established when [`Stack::tcp_state`] says so (or `can_send`).
    pub fn tcp_connect(&mut self, addr: Ipv4Addr, port: u16) -> Result<SocketId, NetError> {
        if port == 0 || addr.is_broadcast() || addr.is_multicast() {
            return Err(NetError::InvalidArgument);
        }
        self.route(addr)?;
        if self.table.is_full() {
            return Err(NetError::TableFull);
        }
        let local = self.ephemeral_port(|s, p| s.tcp_port_in_use(p))?;
        let mut socket = new_socket();
        socket
            .connect(self.iface.context(), (IpAddress::Ipv4(addr), port), local)
            .map_err(|_| NetError::NoAddress)?;
        let handle = self.sockets.add(socket);
        self.table.insert(Entry::Tcp { handle }).inspect_err(|_| {
            self.sockets.remove(handle);
        })
    }

    /// Queues bytes of `data` for sending; returns how many fit (0 while
    /// the handshake runs or the buffer is full).
    pub fn tcp_send(&mut self, id: SocketId, data: &[u8]) -> Result<usize, NetError> {
        let s = self.sockets.get_mut::<tcp::Socket>(self.conn_handle(id)?);
        match s.state() {
            tcp::State::SynSent | tcp::State::SynReceived => Ok(0),
            tcp::State::Established | tcp::State::CloseWait => {
                s.send_slice(data).map_err(|_| NetError::Reset)
            }
            _ => Err(NetError::Reset),
        }
    }

    /// Takes received bytes into `buf`: `Ok(n)` with `n > 0` bytes,
    /// `Ok(0)` if none have arrived yet, [`NetError::Closed`] once the
    /// peer closed and all its bytes were read, [`NetError::Reset`] if the
    /// connection broke.
    pub fn tcp_recv(&mut self, id: SocketId, buf: &mut [u8]) -> Result<usize, NetError> {
        let s = self.sockets.get_mut::<tcp::Socket>(self.conn_handle(id)?);
        if s.can_recv() {
            return s.recv_slice(buf).map_err(|_| NetError::Reset);
        }
        match s.state() {
            tcp::State::SynSent | tcp::State::SynReceived | tcp::State::Established => Ok(0),
            tcp::State::CloseWait => Err(NetError::Closed),
            _ => Err(NetError::Reset),
        }
    }

    /// The connection's (or listener's) TCP state.
    pub fn tcp_state(&self, id: SocketId) -> Result<TcpState, NetError> {
        match self.table.get(id)? {
            Entry::Listener(_) => Ok(TcpState::Listen),
            Entry::Tcp { handle } => Ok(self.sockets.get::<tcp::Socket>(*handle).state().into()),
            Entry::Udp(_) => Err(NetError::WrongKind),
        }
    }

    pub(crate) fn conn_handle(&self, id: SocketId) -> Result<SocketHandle, NetError> {
        match self.table.get(id)? {
            Entry::Tcp { handle } => Ok(*handle),
            _ => Err(NetError::WrongKind),
        }
    }

    /// Moves listening sockets that got a SYN to their pending list,
    /// drops pending ones that died, and re-arms each port; returns
    /// whether a connection moved.
    pub(crate) fn service_listeners(&mut self) -> bool {
        let sockets = &mut self.sockets;
        let mut moved = false;
        for entry in self.table.entries_mut() {
            let Entry::Listener(Listener {
                port,
                listening,
                pending,
            }) = entry
            else {
                continue;
            };
            if let Some(h) = *listening {
                if sockets.get::<tcp::Socket>(h).state() != tcp::State::Listen {
                    pending.push(h);
                    *listening = None;
                    moved = true;
                }
            }
            pending.retain(|&h| match sockets.get::<tcp::Socket>(h).state() {
                // A reset during the handshake sends smoltcp back to
                // LISTEN; a closed one was reset or timed out. Either way
                // nothing is left to accept.
                tcp::State::Listen | tcp::State::Closed => {
                    sockets.remove(h);
                    false
                }
                _ => true,
            });
            if listening.is_none() && pending.len() < BACKLOG {
                let mut socket = new_socket();
                if socket.listen(*port).is_ok() {
                    *listening = Some(sockets.add(socket));
                }
            }
        }
        moved
    }
}
