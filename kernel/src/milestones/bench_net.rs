//! Benchmarks 23 (`udp_echo_rtt`) and 24 (`tcp_echo_rtt`): round trips of
//! a 64-byte message to an echo peer on the host, through virtio-net,
//! QEMU's user network and its port forward.
//!
//! The host's peer (tests/src/echo.rs) reaches the guest's [`PORT`]
//! through the forward: it sends a UDP datagram until one comes back, and
//! connects over TCP until the guest accepts; from then on it echoes
//! whatever arrives. The kernel times one operation as: the message
//! queued and sent (the stack polled at once), and the same bytes back.
//! A reply that is not the message (a late hello) is skipped. Without a
//! peer within [`PEER_NS`] the benchmark is skipped with a message. The
//! peer ends the TCP connection once it has been idle for a while, and
//! the benchmark waits for its sockets to be gone before it returns.
#![forbid(unsafe_code)]

use super::bench::measure;
use crate::net::{now_ms, with_stack};
use net::SocketId;

/// The guest port the host's peer reaches.
pub const PORT: u16 = 8;
/// Bytes of one message.
const MESSAGE: usize = 64;
/// Round trips of each benchmark.
const ITERS: u64 = 200;
/// How long the benchmark waits for the peer.
const PEER_NS: u64 = 30_000_000_000;
/// How long one reply may take.
const REPLY_NS: u64 = 2_000_000_000;
/// How long the peer takes to close its end after the last round trip.
const PEER_CLOSE_NS: u64 = 5_000_000_000;
/// How long closed sockets may linger.
const LINGER_NS: u64 = 10_000_000_000;

/// Runs both when there is a network stack with an address.
pub fn network_benchmarks() {
    if with_stack(|s| s.lease()).flatten().is_none() {
        log::info!("bench: no network address; udp_echo_rtt and tcp_echo_rtt skipped");
        return;
    }
    let live = || with_stack(|s| s.live_sockets()).unwrap_or(0);
    let before = live();
    udp();
    tcp();
    // A closed TCP socket lingers until its close completes; wait for it,
    // so that what comes next (the leak checks of M8) finds the heap as
    // it would have without the benchmarks.
    let deadline = crate::time::now_ns().saturating_add(LINGER_NS);
    while live() > before {
        if crate::time::now_ns() >= deadline {
            log::warn!("bench: the benchmark sockets did not all go");
            break;
        }
        let _ = crate::task::sched::sleep_ns(1_000_000);
    }
}

fn message(n: u64) -> [u8; MESSAGE] {
    let mut m = [0u8; MESSAGE];
    for (i, b) in m.iter_mut().enumerate() {
        *b = (n as u8).wrapping_mul(31).wrapping_add(i as u8);
    }
    m
}

/// Runs `step` (which polls the stack) until it says done or `ns` pass.
fn until(ns: u64, mut step: impl FnMut() -> bool) -> bool {
    let deadline = crate::time::now_ns().saturating_add(ns);
    while crate::time::now_ns() < deadline {
        if step() {
            return true;
        }
        crate::task::sched::yield_now();
    }
    false
}

fn udp() {
    let Some(Ok(id)) = with_stack(|s| s.udp_bind(PORT)) else {
        log::error!("bench: cannot bind UDP port {PORT}; udp_echo_rtt skipped");
        return;
    };
    let mut buf = [0u8; 256];
    let mut peer = None;
    let found = until(PEER_NS, || {
        with_stack(|s| {
            s.poll(now_ms());
            if let Ok(Some(d)) = s.udp_recv_from(id, &mut buf) {
                peer = Some((d.from, d.port));
            }
        });
        peer.is_some()
    });
    match peer.filter(|_| found) {
        None => log::info!("bench: no peer on UDP port {PORT}; udp_echo_rtt skipped"),
        Some((addr, port)) => {
            let mut n = 0u64;
            let mut lost = 0u64;
            measure::<23>("udp_echo_rtt", ITERS, || {
                n += 1;
                let m = message(n);
                let sent = with_stack(|s| {
                    let r = s.udp_send_to(id, addr, port, &m);
                    s.poll(now_ms());
                    r
                });
                if !matches!(sent, Some(Ok(()))) {
                    lost += 1;
                    return;
                }
                let back = until(REPLY_NS, || {
                    with_stack(|s| {
                        s.poll(now_ms());
                        matches!(s.udp_recv_from(id, &mut buf), Ok(Some(d)) if buf[..d.len] == m)
                    })
                    .unwrap_or(false)
                });
                lost += u64::from(!back);
            });
            if lost > 0 {
                log::error!("bench: udp_echo_rtt lost {lost} round trip(s)");
            }
        }
    }
    let _ = with_stack(|s| s.close(id));
}

fn tcp() {
    let Some(Ok(listener)) = with_stack(|s| s.tcp_listen(PORT)) else {
        log::error!("bench: cannot listen on TCP port {PORT}; tcp_echo_rtt skipped");
        return;
    };
    let mut conn: Option<SocketId> = None;
    until(PEER_NS, || {
        conn = with_stack(|s| {
            s.poll(now_ms());
            s.tcp_accept(listener).ok().flatten()
        })
        .flatten();
        conn.is_some()
    });
    let _ = with_stack(|s| s.close(listener));
    let Some(id) = conn else {
        log::info!("bench: no peer on TCP port {PORT}; tcp_echo_rtt skipped");
        return;
    };
    let mut n = 0u64;
    let mut lost = 0u64;
    let mut buf = [0u8; MESSAGE];
    measure::<24>("tcp_echo_rtt", ITERS, || {
        n += 1;
        let m = message(n);
        let mut sent = 0;
        let mut got = 0;
        let done = until(REPLY_NS, || {
            with_stack(|s| {
                if sent < MESSAGE {
                    sent += s.tcp_send(id, &m[sent..]).unwrap_or(0);
                }
                s.poll(now_ms());
                if got < MESSAGE {
                    got += s.tcp_recv(id, &mut buf[got..]).unwrap_or(0);
                }
                got == MESSAGE
            })
            .unwrap_or(false)
        });
        lost += u64::from(!done || buf != m);
    });
    if lost > 0 {
        log::error!("bench: tcp_echo_rtt lost {lost} round trip(s)");
    }
    // The peer closes first once the exchange has stopped (so this side
    // has no TIME-WAIT to sit out); then this side closes.
    until(PEER_CLOSE_NS, || {
        with_stack(|s| {
            s.poll(now_ms());
            matches!(
                s.tcp_state(id),
                Ok(net::TcpState::CloseWait | net::TcpState::Closed) | Err(_)
            )
        })
        .unwrap_or(true)
    });
    let _ = with_stack(|s| s.close(id));
}
