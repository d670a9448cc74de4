//! System calls on sockets: UDP_BIND, UDP_SEND_TO, UDP_RECEIVE_FROM,
//! TCP_LISTEN, TCP_ACCEPT, TCP_CONNECT, TCP_SEND, TCP_RECEIVE. Data moves
//! through a bounded kernel buffer; a bad user buffer is refused before the
//! stack is touched.
#![forbid(unsafe_code)]

use super::objects::{add, object};
use super::{check_user, uread, uwrite, with_user};
use crate::mm::user_copy;
use crate::net::Socket;
use crate::task::object::Object;
use abi::{Error, SysResult};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::net::Ipv4Addr;
use handles::Rights;

fn socket(handle: u64) -> Result<Arc<Socket>, Error> {
    match object(handle, Rights::READ | Rights::WRITE)? {
        Object::Socket(s) => Ok(s),
        _ => Err(Error::InvalidHandle),
    }
}

fn new_socket(s: Socket) -> SysResult {
    add(
        Object::Socket(Arc::new(s)),
        Rights::READ | Rights::WRITE | Rights::QUERY,
    )
}

fn port(p: u64) -> Result<u16, Error> {
    u16::try_from(p).map_err(|_| Error::InvalidArgument)
}

fn address(a: u64) -> Result<Ipv4Addr, Error> {
    u32::try_from(a)
        .map(Ipv4Addr::from)
        .map_err(|_| Error::InvalidArgument)
}

/// A zeroed kernel buffer of `len` bytes (fallible).
fn buffer(len: u64) -> Result<Vec<u8>, Error> {
    let mut buf = Vec::new();
    buf.try_reserve_exact(len as usize)
        .map_err(|_| Error::NoMemory)?;
    buf.resize(len as usize, 0);
    Ok(buf)
}

pub(super) fn udp_bind(p: u64) -> SysResult {
    new_socket(Socket::udp_bind(port(p)?)?)
}

pub(super) fn tcp_listen(p: u64) -> SysResult {
    new_socket(Socket::tcp_listen(port(p)?)?)
}

pub(super) fn tcp_accept(handle: u64, timeout_ms: u64) -> SysResult {
    let listener = socket(handle)?;
    new_socket(listener.tcp_accept(timeout_ms)?)
}

pub(super) fn tcp_connect(a: u64, p: u64, timeout_ms: u64) -> SysResult {
    new_socket(Socket::tcp_connect(address(a)?, port(p)?, timeout_ms)?)
}

pub(super) fn udp_send_to(handle: u64, ptr: u64, len: u64, a: u64, p: u64) -> SysResult {
    if len > abi::MAX_DATAGRAM {
        return Err(Error::InvalidArgument);
    }
    let (to, to_port) = (address(a)?, port(p)?);
    let s = socket(handle)?;
    let mut buf = buffer(len)?;
    uread(ptr, &mut buf)?;
    s.udp_send_to(to, to_port, &buf)?;
    Ok(len)
}

pub(super) fn udp_receive_from(
    handle: u64,
    ptr: u64,
    len: u64,
    from: u64,
    timeout_ms: u64,
) -> SysResult {
    let len = len.min(abi::MAX_DATAGRAM);
    check_user(ptr, len, true)?;
    let size = core::mem::size_of::<abi::SocketAddress>() as u64;
    if from != 0 {
        check_user(from, size, true)?;
    }
    let s = socket(handle)?;
    let mut buf = buffer(len)?;
    let d = s.udp_recv_from(&mut buf, timeout_ms)?;
    uwrite(ptr, &buf[..d.len])?;
    if from != 0 {
        let who = abi::SocketAddress {
            address: u32::from(d.from),
            port: d.port,
            truncated: u8::from(d.truncated),
            reserved: 0,
        };
        with_user(from, size, true, || user_copy::write_value(from, &who))?;
    }
    Ok(d.len as u64)
}

pub(super) fn tcp_send(handle: u64, ptr: u64, len: u64, timeout_ms: u64) -> SysResult {
    let len = len.min(abi::SOCKET_IO_MAX);
    let s = socket(handle)?;
    let mut buf = buffer(len)?;
    uread(ptr, &mut buf)?;
    s.tcp_send(&buf, timeout_ms).map(|n| n as u64)
}

pub(super) fn tcp_receive(handle: u64, ptr: u64, len: u64, timeout_ms: u64) -> SysResult {
    let len = len.min(abi::SOCKET_IO_MAX);
    check_user(ptr, len, true)?;
    let s = socket(handle)?;
    let mut buf = buffer(len)?;
    let n = s.tcp_recv(&mut buf, timeout_ms)?;
    uwrite(ptr, &buf[..n])?;
    Ok(n as u64)
}
