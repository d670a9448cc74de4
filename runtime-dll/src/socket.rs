//! Sockets, Ferrite's native interface to the network calls. Each
//! returns an `i64`: a handle or a byte count when it is 0 or more,
//! `-(abi::Error)` when it is not (`TimedOut` -12, `ConnectionReset` -13,
//! ...). Addresses are IPv4 numbers (`a << 24 | b << 16 | c << 8 | d`);
//! `CloseHandle` closes a socket.

use abi::{nr, SocketAddress};
use ferrite_sys::call;

fn result(r: abi::SysResult) -> i64 {
    match r {
        Ok(v) => v as i64,
        Err(e) => -(e as i64),
    }
}

/// A UDP socket on `port` (0: any free one).
#[unsafe(no_mangle)]
pub extern "C" fn UdpBind(port: u16) -> i64 {
    // SAFETY: UDP_BIND reads no memory.
    result(unsafe { call(nr::UDP_BIND, [u64::from(port), 0, 0, 0, 0]) })
}

/// Sends the `len` bytes at `buf` to `address:port` as one datagram.
///
/// # Safety
/// `buf` must be readable for `len` bytes (the kernel checks it too).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn UdpSendTo(
    socket: u64,
    buf: *const u8,
    len: usize,
    address: u32,
    port: u16,
) -> i64 {
    let a = [
        socket,
        buf as u64,
        len as u64,
        u64::from(address),
        u64::from(port),
    ];
    // SAFETY: the kernel only reads the buffer (checked).
    result(unsafe { call(nr::UDP_SEND_TO, a) })
}

/// Receives one datagram into `buf` (cut at `len`), waiting up to
/// `timeout_ms`; fills `*from` (may be null) with the sender.
///
/// # Safety
/// `buf` must be writable for `len` bytes, `from` null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn UdpReceiveFrom(
    socket: u64,
    buf: *mut u8,
    len: usize,
    from: *mut SocketAddress,
    timeout_ms: u64,
) -> i64 {
    let a = [socket, buf as u64, len as u64, from as u64, timeout_ms];
    // SAFETY: the kernel writes at most `len` bytes and one address, both
    // checked.
    result(unsafe { call(nr::UDP_RECEIVE_FROM, a) })
}

/// A TCP listener on `port`.
#[unsafe(no_mangle)]
pub extern "C" fn TcpListen(port: u16) -> i64 {
    // SAFETY: TCP_LISTEN reads no memory.
    result(unsafe { call(nr::TCP_LISTEN, [u64::from(port), 0, 0, 0, 0]) })
}

/// The next connection of `listener`, waiting up to `timeout_ms`.
#[unsafe(no_mangle)]
pub extern "C" fn TcpAccept(listener: u64, timeout_ms: u64) -> i64 {
    // SAFETY: TCP_ACCEPT reads no memory.
    result(unsafe { call(nr::TCP_ACCEPT, [listener, timeout_ms, 0, 0, 0]) })
}

/// A connection to `address:port`, waiting up to `timeout_ms`.
#[unsafe(no_mangle)]
pub extern "C" fn TcpConnect(address: u32, port: u16, timeout_ms: u64) -> i64 {
    let a = [u64::from(address), u64::from(port), timeout_ms, 0, 0];
    // SAFETY: TCP_CONNECT reads no memory.
    result(unsafe { call(nr::TCP_CONNECT, a) })
}

/// Queues up to `len` bytes of `buf` on a connection: the bytes taken.
///
/// # Safety
/// `buf` must be readable for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TcpSend(socket: u64, buf: *const u8, len: usize, timeout_ms: u64) -> i64 {
    let a = [socket, buf as u64, len as u64, timeout_ms, 0];
    // SAFETY: the kernel only reads the buffer (checked).
    result(unsafe { call(nr::TCP_SEND, a) })
}

/// Receives up to `len` bytes: the bytes read, 0 once the peer closed.
///
/// # Safety
/// `buf` must be writable for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn TcpReceive(socket: u64, buf: *mut u8, len: usize, timeout_ms: u64) -> i64 {
    let a = [socket, buf as u64, len as u64, timeout_ms, 0];
    // SAFETY: the kernel writes at most `len` bytes (checked).
    result(unsafe { call(nr::TCP_RECEIVE, a) })
}
