//! echo.exe: serves UDP and TCP echo on port 7 (RFC 862) until the host
//! has been served once each way, or for at most the seconds its argument
//! gives (60 by default). Every datagram goes back to its sender as it
//! came; every TCP connection gets back what it sends until it closes its
//! side. It reports `udp_echo_served` and `tcp_echo_served` (M6) with
//! what it saw; the host (tests/src/echo.rs) checks the bytes it got back.
// A PE program for Ferrite, built for x86_64-pc-windows-msvc. On other
// targets (a host `cargo clippy --workspace`) it links std only so that it
// type-checks; it is never run there.
#![cfg_attr(windows, no_std)]
#![no_main]

use abi::SocketAddress;
use init::rt;
use testkit::{check, Report};

/// The echo port.
const PORT: u16 = 7;
/// How long one wait for a datagram or a connection lasts, in ms.
const SLICE_MS: u64 = 20;

#[cfg_attr(windows, link(name = "runtime", kind = "raw-dylib"))]
unsafe extern "C" {
    fn UdpBind(port: u16) -> i64;
    fn UdpSendTo(socket: u64, buf: *const u8, len: usize, address: u32, port: u16) -> i64;
    fn UdpReceiveFrom(
        socket: u64,
        buf: *mut u8,
        len: usize,
        from: *mut SocketAddress,
        timeout_ms: u64,
    ) -> i64;
    fn TcpListen(port: u16) -> i64;
    fn TcpAccept(listener: u64, timeout_ms: u64) -> i64;
    fn TcpSend(socket: u64, buf: *const u8, len: usize, timeout_ms: u64) -> i64;
    fn TcpReceive(socket: u64, buf: *mut u8, len: usize, timeout_ms: u64) -> i64;
}

init::main!(run);

fn now_ms() -> u64 {
    // SAFETY: GetTickCount64 reads no memory.
    unsafe { rt::GetTickCount64() }
}

/// The first argument as a number of seconds (60 if there is none).
fn seconds() -> u64 {
    // SAFETY: the command line is NUL-terminated and lives as long as the
    // process.
    let line = unsafe { core::ffi::CStr::from_ptr(rt::GetCommandLineA()) }.to_bytes();
    let n = line
        .iter()
        .skip_while(|b| !b.is_ascii_digit())
        .take_while(|b| b.is_ascii_digit())
        .fold(0u64, |n, b| n * 10 + u64::from(b - b'0'));
    if n == 0 {
        60
    } else {
        n
    }
}

/// One TCP connection: echoes until the peer closes; the bytes echoed,
/// or the error that ended it.
fn serve(conn: u64, buf: &mut [u8]) -> Result<u64, i64> {
    let mut total = 0u64;
    loop {
        // SAFETY: `buf` is writable for its length.
        let n = unsafe { TcpReceive(conn, buf.as_mut_ptr(), buf.len(), 10_000) };
        if n < 0 {
            return Err(n);
        }
        if n == 0 {
            return Ok(total);
        }
        let mut sent = 0usize;
        while sent < n as usize {
            // SAFETY: `buf[sent..n]` is readable.
            let k = unsafe { TcpSend(conn, buf[sent..].as_ptr(), n as usize - sent, 10_000) };
            if k <= 0 {
                return Err(k);
            }
            sent += k as usize;
        }
        total += n as u64;
    }
}

fn run() -> i32 {
    let mut r = Report::new();
    let deadline = now_ms() + seconds() * 1000;
    // SAFETY: no memory is passed.
    let (udp, tcp) = unsafe { (UdpBind(PORT), TcpListen(PORT)) };
    if udp < 0 || tcp < 0 {
        check!(
            r,
            "udp_echo_served",
            false,
            "UdpBind({PORT}) {udp}, TcpListen({PORT}) {tcp}"
        );
        return 1;
    }
    let mut buf = [0u8; 16 << 10];
    let (mut datagrams, mut udp_bytes, mut udp_from) = (0u32, 0u64, SocketAddress::default());
    let (mut sessions, mut tcp_bytes, mut tcp_error) = (0u32, 0u64, 0i64);
    while now_ms() < deadline && (datagrams == 0 || sessions == 0) {
        let mut from = SocketAddress::default();
        // SAFETY: `buf` and `from` are writable.
        let n = unsafe { UdpReceiveFrom(udp as u64, buf.as_mut_ptr(), 1472, &mut from, SLICE_MS) };
        if n >= 0 {
            // SAFETY: `buf[..n]` is readable.
            let back = unsafe {
                UdpSendTo(
                    udp as u64,
                    buf.as_ptr(),
                    n as usize,
                    from.address,
                    from.port,
                )
            };
            if back == n {
                datagrams += 1;
                udp_bytes += n as u64;
                udp_from = from;
            }
        }
        // SAFETY: no memory is passed.
        let conn = unsafe { TcpAccept(tcp as u64, SLICE_MS) };
        if conn >= 0 {
            match serve(conn as u64, &mut buf) {
                Ok(n) if n > 0 => {
                    sessions += 1;
                    tcp_bytes += n;
                }
                Ok(_) => {}
                Err(e) => tcp_error = e,
            }
            // SAFETY: `conn` is this process's handle, closed once.
            unsafe { rt::CloseHandle(conn as u64) };
        }
    }
    let a = udp_from.address.to_be_bytes();
    check!(
        r,
        "udp_echo_served",
        datagrams > 0,
        "{datagrams} datagram(s), {udp_bytes} bytes echoed, the last from {}.{}.{}.{}:{}",
        a[0],
        a[1],
        a[2],
        a[3],
        udp_from.port
    );
    check!(
        r,
        "tcp_echo_served",
        sessions > 0,
        "{sessions} connection(s) served to their close, {tcp_bytes} bytes echoed (last error {tcp_error})"
    );
    i32::from(!r.all_passed())
}
