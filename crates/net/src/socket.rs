//! Calls on any socket id: readiness and close.
//!
//! Readiness is "the call would not come back empty": a thread that got
//! `Ok(0)` / `None` blocks, and after each poll that returned `true` checks
//! `can_recv` / `can_send` again.

use smoltcp::iface::SocketHandle;
use smoltcp::socket::{tcp, udp};

use crate::device::NetDevice;
use crate::error::NetError;
use crate::stack::{Lingering, Stack};
use crate::table::Entry;
use crate::tcp::acceptable;
use crate::SocketId;

/// Closed TCP connections the stack keeps finishing at once; past this the
/// oldest is dropped without ceremony.
pub const MAX_LINGERING: usize = 16;
/// How long a closed connection may take to finish before it is reset.
const LINGER_MS: u64 = 60_000;
/// How long a reset connection is kept for its reset to go out.
pub(crate) const ABORT_GRACE_MS: u64 = 1_000;

impl<D: NetDevice> Stack<D> {
    /// Whether a receive call would return something: a datagram (UDP),
    /// bytes, end of stream or an error (TCP), a connection (listener).
    pub fn can_recv(&self, id: SocketId) -> Result<bool, NetError> {
        Ok(match self.table.get(id)? {
            Entry::Udp(u) => {
                !u.spill.is_empty() || self.sockets.get::<udp::Socket>(u.handle).can_recv()
            }
            Entry::Listener(l) => l.pending.iter().any(|&h| acceptable(&self.sockets, h)),
            Entry::Tcp { handle } => {
                let s = self.sockets.get::<tcp::Socket>(*handle);
                s.can_recv()
                    || !matches!(
                        s.state(),
                        tcp::State::SynSent | tcp::State::SynReceived | tcp::State::Established
                    )
            }
        })
    }

    /// Whether a send call would take data (or fail at once, on a broken
    /// connection). Listeners never send ([`NetError::WrongKind`]).
    pub fn can_send(&self, id: SocketId) -> Result<bool, NetError> {
        match self.table.get(id)? {
            Entry::Udp(u) => Ok(self.sockets.get::<udp::Socket>(u.handle).can_send()),
            Entry::Listener(_) => Err(NetError::WrongKind),
            Entry::Tcp { handle } => {
                let s = self.sockets.get::<tcp::Socket>(*handle);
                Ok(match s.state() {
                    tcp::State::SynSent | tcp::State::SynReceived => false,
                    tcp::State::Established | tcp::State::CloseWait => s.can_send(),
                    _ => true,
                })
            }
        }
    }

    /// Closes the socket; the id is dead at once. A TCP connection closes
    /// gracefully: what was queued is still sent, then a FIN, and the
    /// stack finishes the exchange in later polls (resetting it if that
    /// takes over a minute). As no one will read it any more, a connection
    /// with unread received data, or that receives data after the close,
    /// is reset instead (RFC 2525 §2.17). A listener resets the
    /// connections it had not handed out.
    pub fn close(&mut self, id: SocketId) -> Result<(), NetError> {
        match self.table.remove(id)? {
            Entry::Udp(u) => {
                self.sockets.remove(u.handle);
            }
            Entry::Tcp { handle } => {
                let s = self.sockets.get_mut::<tcp::Socket>(handle);
                let unread = s.recv_queue() > 0;
                if unread {
                    s.abort();
                } else {
                    s.close();
                }
                if s.state() == tcp::State::Closed && s.remote_endpoint().is_none() {
                    self.sockets.remove(handle);
                } else if unread {
                    self.linger(handle, ABORT_GRACE_MS, true);
                } else {
                    self.linger(handle, LINGER_MS, false);
                }
            }
            Entry::Listener(l) => {
                if let Some(h) = l.listening {
                    self.sockets.remove(h);
                }
                for h in l.pending {
                    self.sockets.get_mut::<tcp::Socket>(h).abort();
                    self.linger(h, ABORT_GRACE_MS, true);
                }
            }
        }
        Ok(())
    }

    /// Keeps `handle` finishing for up to `ms`.
    pub(crate) fn linger(&mut self, handle: SocketHandle, ms: u64, aborted: bool) {
        if self.lingering.len() >= MAX_LINGERING {
            let oldest = self.lingering.remove(0);
            self.sockets.remove(oldest.handle);
        }
        self.lingering.push(Lingering {
            handle,
            deadline: self.now.saturating_add(ms),
            aborted,
        });
    }
}
