//! TCP between two stacks: echo, repeated accepts, closing and resets.

mod common;

use common::{pattern, Net, IP_B};
use net::loopback::WireEnd;
use net::{NetError, SocketId, Stack, TcpState, BACKLOG};

/// An echo server on B: every accepted connection gets its bytes back,
/// and is closed once the client has closed and all was echoed.
struct Echo {
    listener: SocketId,
    conns: Vec<(SocketId, Vec<u8>)>,
    accepted: usize,
}

impl Echo {
    fn new(stack: &mut Stack<WireEnd>, port: u16) -> Self {
        Self {
            listener: stack.tcp_listen(port).unwrap(),
            conns: Vec::new(),
            accepted: 0,
        }
    }

    fn service(&mut self, s: &mut Stack<WireEnd>) {
        while let Some(c) = s.tcp_accept(self.listener).unwrap() {
            self.conns.push((c, Vec::new()));
            self.accepted += 1;
        }
        let mut buf = [0u8; 4096];
        self.conns.retain_mut(|(id, out)| {
            let eof = loop {
                match s.tcp_recv(*id, &mut buf) {
                    Ok(0) => break false,
                    Ok(n) => out.extend_from_slice(&buf[..n]),
                    Err(NetError::Closed) => break true,
                    Err(e) => panic!("server recv: {e}"),
                }
            };
            let n = s.tcp_send(*id, out).unwrap();
            out.drain(..n);
            if eof && out.is_empty() {
                s.close(*id).unwrap();
                return false;
            }
            true
        });
    }
}

/// Sends `data` from a new connection on A to B:`port` and reads the echo.
fn echo_once(net: &mut Net, server: &mut Echo, port: u16, data: &[u8]) -> Vec<u8> {
    let c = net.a.tcp_connect(IP_B, port).unwrap();
    let (mut sent, mut back, mut closed) = (0, Vec::new(), false);
    let mut buf = [0u8; 8192];
    let done = net.run_until(60_000, |a, b| {
        server.service(b);
        if sent < data.len() {
            sent += a.tcp_send(c, &data[sent..]).unwrap();
        } else if !closed && back.len() == data.len() {
            a.close(c).unwrap();
            closed = true;
        }
        if !closed {
            loop {
                match a.tcp_recv(c, &mut buf) {
                    Ok(0) => break,
                    Ok(n) => back.extend_from_slice(&buf[..n]),
                    Err(e) => panic!("client recv: {e}"),
                }
            }
        }
        closed && server.conns.is_empty()
    });
    assert!(done, "echo stalled: sent {sent}, back {}", back.len());
    back
}

#[test]
fn an_echo_server_accepts_again_and_again_and_returns_every_byte() {
    let mut net = Net::new();
    let mut server = Echo::new(&mut net.b, 7);
    let baseline = (net.a.live_sockets(), net.b.live_sockets());
    for round in 0..3u32 {
        let data = pattern(round, 100_000);
        let back = echo_once(&mut net, &mut server, 7, &data);
        assert!(back == data, "round {round}: echo differs");
    }
    assert_eq!(server.accepted, 3);
    // Every closed connection finishes and is freed.
    assert!(
        net.run_until(120_000, |a, b| (a.live_sockets(), b.live_sockets())
            == baseline)
    );
}

#[test]
fn two_connections_at_once_are_both_accepted() {
    let mut net = Net::new();
    let listener = net.b.tcp_listen(80).unwrap();
    let c1 = net.a.tcp_connect(IP_B, 80).unwrap();
    let c2 = net.a.tcp_connect(IP_B, 80).unwrap();
    let mut accepted = Vec::new();
    assert!(net.run_until(2_000, |a, b| {
        accepted.extend(b.tcp_accept(listener).unwrap());
        accepted.len() == 2
            && a.tcp_state(c1) == Ok(TcpState::Established)
            && a.tcp_state(c2) == Ok(TcpState::Established)
    }));
    assert_eq!(net.b.tcp_state(listener), Ok(TcpState::Listen));
    assert_ne!(accepted[0], accepted[1]);
}

#[test]
fn end_of_stream_is_not_nothing_yet() {
    let mut net = Net::new();
    let listener = net.b.tcp_listen(80).unwrap();
    let c = net.a.tcp_connect(IP_B, 80).unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(net.a.tcp_recv(c, &mut buf), Ok(0));
    assert_eq!(net.a.tcp_send(c, b"early"), Ok(0));
    assert!(!net.a.can_send(c).unwrap());
    let mut s = None;
    assert!(net.run_until(2_000, |_, b| {
        s = s.or(b.tcp_accept(listener).unwrap());
        s.is_some()
    }));
    let s = s.unwrap();
    assert!(net.a.can_send(c).unwrap());
    assert!(!net.a.can_recv(c).unwrap());
    assert_eq!(net.a.tcp_recv(c, &mut buf), Ok(0));
    assert_eq!(net.b.tcp_send(s, b"bye"), Ok(3));
    net.b.close(s).unwrap();
    assert!(net.run_until(2_000, |a, _| a.tcp_state(c) == Ok(TcpState::CloseWait)));
    assert!(net.a.can_recv(c).unwrap());
    assert_eq!(net.a.tcp_recv(c, &mut buf), Ok(3));
    assert_eq!(&buf[..3], b"bye");
    assert_eq!(net.a.tcp_recv(c, &mut buf), Err(NetError::Closed));
    // The other direction is still open.
    assert_eq!(net.a.tcp_send(c, b"ok"), Ok(2));
}

#[test]
fn a_refused_connection_reports_reset() {
    let mut net = Net::new();
    let c = net.a.tcp_connect(IP_B, 81).unwrap();
    assert!(net.run_until(2_000, |a, _| a.tcp_state(c) == Ok(TcpState::Closed)));
    let mut buf = [0u8; 4];
    assert_eq!(net.a.tcp_recv(c, &mut buf), Err(NetError::Reset));
    assert_eq!(net.a.tcp_send(c, b"x"), Err(NetError::Reset));
    assert!(net.a.can_recv(c).unwrap() && net.a.can_send(c).unwrap());
    net.a.close(c).unwrap();
}

#[test]
fn the_backlog_is_bounded_and_closing_a_listener_resets_its_queue() {
    let mut net = Net::new();
    let listener = net.b.tcp_listen(80).unwrap();
    let clients: Vec<SocketId> = (0..BACKLOG + 2)
        .map(|_| net.a.tcp_connect(IP_B, 80).unwrap())
        .collect();
    net.run_until(3_000, |_, _| false);
    let states: Vec<TcpState> = clients
        .iter()
        .map(|&c| net.a.tcp_state(c).unwrap())
        .collect();
    let up = states
        .iter()
        .filter(|&&s| s == TcpState::Established)
        .count();
    let refused = states.iter().filter(|&&s| s == TcpState::Closed).count();
    assert_eq!((up, refused), (BACKLOG, 2), "{states:?}");
    // One accepted; closing the listener resets the other waiting ones.
    let kept = net.b.tcp_accept(listener).unwrap().unwrap();
    net.b.close(listener).unwrap();
    assert_eq!(net.b.tcp_accept(listener), Err(NetError::BadSocket));
    net.run_until(2_000, |_, _| false);
    let up = clients
        .iter()
        .filter(|&&c| net.a.tcp_state(c) == Ok(TcpState::Established))
        .count();
    assert_eq!(up, 1);
    assert_eq!(net.b.tcp_state(kept), Ok(TcpState::Established));
    // And the port is free again.
    net.b.tcp_listen(80).unwrap();
}

#[test]
fn a_close_the_peer_never_answers_is_reset_after_the_linger_time() {
    let mut net = Net::new();
    let baseline = net.a.live_sockets();
    let (c, s) = connected(&mut net);
    // A closes; B's application never does, so A waits in FIN-WAIT-2.
    net.a.close(c).unwrap();
    assert_eq!(net.a.tcp_state(c), Err(NetError::BadSocket));
    assert!(net.run_until(2_000, |_, b| b.tcp_state(s) == Ok(TcpState::CloseWait)));
    assert_eq!(net.a.live_sockets(), baseline + 1);
    assert!(net.run_until(70_000, |a, _| a.live_sockets() == baseline));
    assert!(net.now >= 60_000);
    // The reset reached B.
    assert!(net.run_until(2_000, |_, b| b.tcp_state(s) == Ok(TcpState::Closed)));
    assert_eq!(net.b.tcp_send(s, b"x"), Err(NetError::Reset));
}

#[test]
fn a_closed_connection_the_peer_never_drains_is_reset_after_the_linger_time() {
    let mut net = Net::new();
    let baseline = net.a.live_sockets();
    let (c, s) = connected(&mut net);
    // B's application never reads: its window closes with A's data still
    // queued, and B keeps answering A's window probes, so no TCP timer
    // ends it. A closes anyway.
    let data = pattern(9, 30_000);
    let mut sent = 0;
    assert!(net.run_until(5_000, |a, _| {
        sent += a.tcp_send(c, &data[sent..]).unwrap();
        sent == data.len()
    }));
    net.a.close(c).unwrap();
    let closed_at = net.now;
    net.run_until(30_000, |_, _| false);
    assert_eq!(net.a.live_sockets(), baseline + 1, "given up too early");
    assert!(net.run_until(60_000, |a, _| a.live_sockets() == baseline));
    assert!(net.now - closed_at >= 60_000);
    assert!(net.run_until(2_000, |_, b| b.tcp_state(s) == Ok(TcpState::Closed)));
}

/// A connection from A to B's port 80, accepted: (client, server).
fn connected(net: &mut Net) -> (SocketId, SocketId) {
    let listener = net.b.tcp_listen(80).unwrap();
    let c = net.a.tcp_connect(IP_B, 80).unwrap();
    let mut s = None;
    assert!(net.run_until(2_000, |_, b| {
        s = s.or(b.tcp_accept(listener).unwrap());
        s.is_some()
    }));
    (c, s.unwrap())
}

#[test]
fn an_idle_connection_stays_up_and_a_vanished_peer_is_noticed() {
    let mut net = Net::new();
    let (c, s) = connected(&mut net);
    // Ten idle minutes: keep-alives hold it up.
    net.run_until(600_000, |_, _| false);
    assert_eq!(net.a.tcp_state(c), Ok(TcpState::Established));
    assert_eq!(net.b.tcp_state(s), Ok(TcpState::Established));
    assert_eq!(net.a.tcp_send(c, b"still here"), Ok(10));
    let mut buf = [0u8; 16];
    assert!(net.run_until(1_000, |_, b| b.tcp_recv(s, &mut buf) == Ok(10)));
    // B drops off the wire: A gives up within the timeout.
    net.b.device().set_tap(|_| false);
    let gone = net.now;
    assert!(
        net.run_until(net::TCP_TIMEOUT_MS + 1_000, |a, _| a.tcp_recv(c, &mut buf)
            == Err(NetError::Reset))
    );
    assert!(net.now - gone >= net::TCP_KEEPALIVE_MS);
}
