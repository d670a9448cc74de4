//! Sockets for system calls: a [`Socket`] owns one id of the stack's
//! table (closed when the last handle goes), and the calls that wait do so
//! by re-trying after each millisecond until their time-out, and stop
//! early when the thread is asked to exit.
#![forbid(unsafe_code)]

use super::{with_stack, Device};
use abi::Error;
use core::net::Ipv4Addr;
use net::{NetError, SocketId, Stack};

/// One socket of the stack's table.
pub struct Socket {
    id: SocketId,
}

impl Drop for Socket {
    fn drop(&mut self) {
        // Graceful for TCP: the stack finishes the close in later polls.
        let _ = with_stack(|s| s.close(self.id));
    }
}

/// The abi error for a stack error.
pub fn net_error(e: NetError) -> Error {
    match e {
        NetError::BadSocket | NetError::WrongKind => Error::InvalidHandle,
        NetError::TableFull | NetError::NoFreePort | NetError::BufferFull => Error::NoMemory,
        NetError::PortInUse => Error::AlreadyExists,
        NetError::NoAddress | NetError::NoRoute => Error::NetworkUnreachable,
        NetError::Closed | NetError::Reset => Error::ConnectionReset,
        NetError::InvalidArgument | NetError::TooLarge | NetError::BadMac => Error::InvalidArgument,
    }
}

/// Runs `op` on the stack.
fn on_stack<T>(op: impl FnOnce(&mut Stack<Device>) -> Result<T, NetError>) -> Result<T, Error> {
    with_stack(op)
        .ok_or(Error::NotSupported)?
        .map_err(net_error)
}

/// Re-tries `attempt` (under the stack's lock) until it gives a result,
/// `timeout_ms` passes (`TimedOut`) or the thread is asked to exit.
fn wait<T>(
    timeout_ms: u64,
    mut attempt: impl FnMut(&mut Stack<Device>) -> Result<Option<T>, NetError>,
) -> Result<T, Error> {
    let deadline = super::now_ms().saturating_add(timeout_ms);
    loop {
        if let Some(done) = on_stack(&mut attempt)? {
            return Ok(done);
        }
        let exiting = crate::task::sched::current().is_some_and(|t| t.exit_request().is_some());
        if exiting || super::now_ms() >= deadline {
            return Err(Error::TimedOut);
        }
        let _ = crate::task::sched::sleep_ns(1_000_000);
    }
}

impl Socket {
    /// A UDP socket on `port` (0: any).
    pub fn udp_bind(port: u16) -> Result<Self, Error> {
        on_stack(|s| s.udp_bind(port)).map(|id| Self { id })
    }

    /// A TCP listener on `port`.
    pub fn tcp_listen(port: u16) -> Result<Self, Error> {
        if port == 0 {
            return Err(Error::InvalidArgument);
        }
        on_stack(|s| s.tcp_listen(port)).map(|id| Self { id })
    }

    /// A connection to `address:port`, once it is established.
    pub fn tcp_connect(address: Ipv4Addr, port: u16, timeout_ms: u64) -> Result<Self, Error> {
        let socket = on_stack(|s| s.tcp_connect(address, port)).map(|id| Self { id })?;
        wait(timeout_ms, |s| match s.tcp_state(socket.id)? {
            net::TcpState::Established | net::TcpState::CloseWait => Ok(Some(())),
            net::TcpState::Closed => Err(NetError::Reset),
            _ => Ok(None),
        })?;
        Ok(socket)
    }

    /// The next connection of this listener.
    pub fn tcp_accept(&self, timeout_ms: u64) -> Result<Self, Error> {
        wait(timeout_ms, |s| s.tcp_accept(self.id)).map(|id| Self { id })
    }

    /// Sends a datagram.
    pub fn udp_send_to(&self, address: Ipv4Addr, port: u16, data: &[u8]) -> Result<(), Error> {
        on_stack(|s| s.udp_send_to(self.id, address, port, data))
    }

    /// Receives a datagram into `buf`.
    pub fn udp_recv_from(&self, buf: &mut [u8], timeout_ms: u64) -> Result<net::Datagram, Error> {
        wait(timeout_ms, |s| s.udp_recv_from(self.id, buf))
    }

    /// Queues bytes on a connection (at least one, once there is room).
    pub fn tcp_send(&self, data: &[u8], timeout_ms: u64) -> Result<usize, Error> {
        wait(timeout_ms, |s| {
            let n = s.tcp_send(self.id, data)?;
            Ok((n > 0 || data.is_empty()).then_some(n))
        })
    }

    /// Receives bytes; 0 once the peer has closed its side.
    pub fn tcp_recv(&self, buf: &mut [u8], timeout_ms: u64) -> Result<usize, Error> {
        wait(timeout_ms, |s| match s.tcp_recv(self.id, buf) {
            Ok(0) if !buf.is_empty() => Ok(None),
            Ok(n) => Ok(Some(n)),
            Err(NetError::Closed) => Ok(Some(0)),
            Err(e) => Err(e),
        })
    }
}
