//! API misuse: every wrong call is an error, never a panic.

mod common;

use std::net::Ipv4Addr;

use common::{Net, IP_A, IP_B, MAC_A};
use net::loopback::pair;
use net::{NetError, SocketId, Stack, TcpState, MAX_SOCKETS};
use proptest::prelude::*;

#[test]
fn ids_the_stack_never_issued_or_already_closed_are_refused() {
    let mut net = Net::new();
    let mut buf = [0u8; 8];
    for raw in [0, 1, 31, 32, 0xffff, 0x1_0000, u32::MAX] {
        let id = SocketId::from_raw(raw);
        assert_eq!(net.a.close(id), Err(NetError::BadSocket), "{raw:#x}");
        assert_eq!(net.a.can_recv(id), Err(NetError::BadSocket));
        assert_eq!(net.a.tcp_send(id, b"x"), Err(NetError::BadSocket));
        assert_eq!(net.a.udp_recv_from(id, &mut buf), Err(NetError::BadSocket));
    }
    let u = net.a.udp_bind(0).unwrap();
    net.a.close(u).unwrap();
    assert_eq!(net.a.close(u), Err(NetError::BadSocket));
    assert_eq!(
        net.a.udp_send_to(u, IP_B, 9, b"x"),
        Err(NetError::BadSocket)
    );
    assert_eq!(net.a.udp_port(u), Err(NetError::BadSocket));
    // The slot is reused; the old id stays dead.
    let v = net.a.udp_bind(0).unwrap();
    assert_ne!(u, v);
    assert_eq!(net.a.udp_recv_from(u, &mut buf), Err(NetError::BadSocket));
    assert_eq!(net.a.udp_recv_from(v, &mut buf), Ok(None));
    assert_eq!(SocketId::from_raw(v.raw()), v);
}

#[test]
fn calls_on_the_wrong_kind_of_socket_are_refused() {
    let mut net = Net::new();
    let mut buf = [0u8; 8];
    let u = net.a.udp_bind(0).unwrap();
    let l = net.a.tcp_listen(80).unwrap();
    let c = net.a.tcp_connect(IP_B, 80).unwrap();
    assert_eq!(net.a.tcp_send(u, b"x"), Err(NetError::WrongKind));
    assert_eq!(net.a.tcp_recv(u, &mut buf), Err(NetError::WrongKind));
    assert_eq!(net.a.tcp_accept(u), Err(NetError::WrongKind));
    assert_eq!(net.a.tcp_state(u), Err(NetError::WrongKind));
    assert_eq!(net.a.tcp_send(l, b"x"), Err(NetError::WrongKind));
    assert_eq!(net.a.tcp_recv(l, &mut buf), Err(NetError::WrongKind));
    assert_eq!(net.a.can_send(l), Err(NetError::WrongKind));
    assert_eq!(net.a.tcp_accept(c), Err(NetError::WrongKind));
    assert_eq!(
        net.a.udp_send_to(c, IP_B, 9, b"x"),
        Err(NetError::WrongKind)
    );
    assert_eq!(net.a.udp_recv_from(l, &mut buf), Err(NetError::WrongKind));
    assert_eq!(net.a.udp_port(l), Err(NetError::WrongKind));
    assert_eq!(net.a.tcp_state(l), Ok(TcpState::Listen));
    assert_eq!(net.a.tcp_accept(l), Ok(None));
}

#[test]
fn the_table_fills_and_frees() {
    let mut net = Net::new();
    let ids: Vec<SocketId> = (0..MAX_SOCKETS)
        .map(|_| net.a.udp_bind(0).unwrap())
        .collect();
    assert_eq!(net.a.udp_bind(0), Err(NetError::TableFull));
    assert_eq!(net.a.tcp_listen(80), Err(NetError::TableFull));
    assert_eq!(net.a.tcp_connect(IP_B, 80), Err(NetError::TableFull));
    net.a.close(ids[3]).unwrap();
    let l = net.a.tcp_listen(80).unwrap();
    // A connection that is ready is not lost while the table is full.
    let _c = net.b.tcp_connect(IP_A, 80).unwrap();
    assert!(net.run_until(2_000, |a, _| a.can_recv(l).unwrap()));
    assert_eq!(net.a.tcp_accept(l), Err(NetError::TableFull));
    net.a.close(ids[0]).unwrap();
    assert!(net.a.tcp_accept(l).unwrap().is_some());
}

#[test]
fn ports_in_use_and_bad_arguments_are_refused() {
    let mut net = Net::new();
    let u = net.a.udp_bind(500).unwrap();
    assert_eq!(net.a.udp_bind(500), Err(NetError::PortInUse));
    net.a.tcp_listen(500).unwrap();
    assert_eq!(net.a.tcp_listen(500), Err(NetError::PortInUse));
    assert_eq!(net.a.tcp_listen(0), Err(NetError::InvalidArgument));
    assert_eq!(
        net.a.udp_send_to(u, IP_B, 0, b"x"),
        Err(NetError::InvalidArgument)
    );
    assert_eq!(
        net.a.udp_send_to(u, Ipv4Addr::UNSPECIFIED, 9, b"x"),
        Err(NetError::InvalidArgument)
    );
    assert_eq!(net.a.tcp_connect(IP_B, 0), Err(NetError::InvalidArgument));
    assert_eq!(
        net.a.tcp_connect(Ipv4Addr::BROADCAST, 80),
        Err(NetError::InvalidArgument)
    );
    let far = Ipv4Addr::new(8, 8, 8, 8);
    assert_eq!(net.a.udp_send_to(u, far, 53, b"x"), Err(NetError::NoRoute));
    assert_eq!(net.a.tcp_connect(far, 80), Err(NetError::NoRoute));
    // Broadcast on the subnet is fine for UDP.
    net.a.udp_send_to(u, Ipv4Addr::BROADCAST, 9, b"x").unwrap();
    assert_eq!(
        net.a.set_static(IP_A, 33, None),
        Err(NetError::InvalidArgument)
    );
    assert_eq!(
        net.a.set_static(Ipv4Addr::new(224, 0, 0, 1), 24, None),
        Err(NetError::InvalidArgument)
    );
    assert_eq!(
        net.a.set_static(IP_A, 24, Some(Ipv4Addr::new(10, 0, 1, 1))),
        Err(NetError::InvalidArgument)
    );
    // After a refused change the old address still works.
    assert_eq!(net.a.lease().unwrap().address, IP_A);
}

#[test]
fn without_an_address_nothing_leaves() {
    let (a, _b) = pair(MAC_A, [2, 0, 0, 0, 0, 0xb]);
    let mut s = Stack::new(a, 0).unwrap();
    let u = s.udp_bind(0).unwrap();
    assert_eq!(s.udp_send_to(u, IP_B, 9, b"x"), Err(NetError::NoAddress));
    assert_eq!(s.tcp_connect(IP_B, 80), Err(NetError::NoAddress));
    assert_eq!(s.ping(IP_B, 1, 1, b""), Err(NetError::NoAddress));
    // A device with a group or zero MAC is refused.
    for mac in [[0xff; 6], [1, 0, 0x5e, 0, 0, 1], [0; 6]] {
        let (d, _) = pair(mac, MAC_A);
        assert!(matches!(Stack::new(d, 0), Err(NetError::BadMac)));
    }
}

#[test]
fn sending_after_the_peer_is_gone_is_an_error() {
    let mut net = Net::new();
    let l = net.b.tcp_listen(80).unwrap();
    let c = net.a.tcp_connect(IP_B, 80).unwrap();
    let mut s = None;
    assert!(net.run_until(2_000, |_, b| {
        s = s.or(b.tcp_accept(l).unwrap());
        s.is_some()
    }));
    // B's listener and connection go; a closed connection's id is dead,
    // and A learns of the close.
    net.b.close(s.unwrap()).unwrap();
    assert_eq!(net.b.tcp_send(s.unwrap(), b"x"), Err(NetError::BadSocket));
    assert!(net.run_until(2_000, |a, _| a.tcp_recv(c, &mut [0; 4])
        == Err(NetError::Closed)));
    // A keeps sending, but nobody on B will read: B's stack resets it.
    let _ = net.a.tcp_send(c, b"more");
    assert!(net.run_until(5_000, |a, _| a.tcp_send(c, b"x") == Err(NetError::Reset)));
    net.a.close(c).unwrap();
    assert_eq!(net.a.close(c), Err(NetError::BadSocket));
}

/// One call of a random API sequence.
#[derive(Clone, Debug)]
enum Op {
    UdpBind(u16),
    UdpSend(usize, u16, usize),
    UdpRecv(usize, usize),
    Listen(u16),
    Accept(usize),
    Connect(u16),
    TcpSend(usize, usize),
    TcpRecv(usize, usize),
    Close(usize),
    Query(usize),
    Raw(u32),
    Ping(u16),
    Poll(u64),
}

fn op() -> impl Strategy<Value = Op> {
    let port = prop_oneof![Just(0u16), 1u16..4, Just(68), 80u16..82];
    prop_oneof![
        port.clone().prop_map(Op::UdpBind),
        (any::<usize>(), port.clone(), 0usize..3000).prop_map(|(i, p, n)| Op::UdpSend(i, p, n)),
        (any::<usize>(), 0usize..2000).prop_map(|(i, n)| Op::UdpRecv(i, n)),
        port.clone().prop_map(Op::Listen),
        any::<usize>().prop_map(Op::Accept),
        port.prop_map(Op::Connect),
        (any::<usize>(), 0usize..40_000).prop_map(|(i, n)| Op::TcpSend(i, n)),
        (any::<usize>(), 0usize..40_000).prop_map(|(i, n)| Op::TcpRecv(i, n)),
        any::<usize>().prop_map(Op::Close),
        any::<usize>().prop_map(Op::Query),
        any::<u32>().prop_map(Op::Raw),
        any::<u16>().prop_map(Op::Ping),
        (0u64..5_000).prop_map(Op::Poll),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn random_call_sequences_never_panic_or_leak(ops in prop::collection::vec(op(), 1..80)) {
        let mut net = Net::new();
        // B is a peer with a listener on 80 and a UDP socket on 1.
        let bl = net.b.tcp_listen(80).unwrap();
        let _bu = net.b.udp_bind(1).unwrap();
        let baseline = net.a.live_sockets();
        let mut ids: Vec<SocketId> = Vec::new();
        let mut pinged = false;
        let pick = |ids: &Vec<SocketId>, i: usize| {
            if ids.is_empty() { SocketId::from_raw(i as u32) } else { ids[i % ids.len()] }
        };
        let data = vec![0x42u8; 40_000];
        let mut buf = vec![0u8; 40_000];
        for op in ops {
            match op {
                Op::UdpBind(p) => ids.extend(net.a.udp_bind(p).ok()),
                Op::UdpSend(i, p, n) => {
                    let _ = net.a.udp_send_to(pick(&ids, i), IP_B, p, &data[..n]);
                }
                Op::UdpRecv(i, n) => {
                    let _ = net.a.udp_recv_from(pick(&ids, i), &mut buf[..n]);
                }
                Op::Listen(p) => ids.extend(net.a.tcp_listen(p).ok()),
                Op::Accept(i) => {
                    if let Ok(Some(c)) = net.a.tcp_accept(pick(&ids, i)) {
                        ids.push(c);
                    }
                }
                Op::Connect(p) => ids.extend(net.a.tcp_connect(IP_B, p).ok()),
                Op::TcpSend(i, n) => {
                    if let Ok(k) = net.a.tcp_send(pick(&ids, i), &data[..n]) {
                        prop_assert!(k <= n);
                    }
                }
                Op::TcpRecv(i, n) => {
                    if let Ok(k) = net.a.tcp_recv(pick(&ids, i), &mut buf[..n]) {
                        prop_assert!(k <= n);
                    }
                }
                Op::Close(i) => {
                    let _ = net.a.close(pick(&ids, i));
                }
                Op::Query(i) => {
                    let id = pick(&ids, i);
                    let _ = (net.a.can_recv(id), net.a.can_send(id), net.a.tcp_state(id));
                    let _ = net.a.udp_port(id);
                }
                Op::Raw(r) => {
                    let _ = net.a.close(SocketId::from_raw(r));
                }
                Op::Ping(seq) => {
                    // Either way the ICMP socket now exists.
                    let r = net.a.ping(IP_B, 1, seq, b"p");
                    pinged |= matches!(r, Ok(()) | Err(NetError::BufferFull));
                }
                Op::Poll(ms) => {
                    net.run_until(ms, |_, b| {
                        while let Ok(Some(c)) = b.tcp_accept(bl) {
                            let _ = b.close(c);
                        }
                        false
                    });
                }
            }
        }
        // Closing everything and waiting frees every socket A made (the
        // ICMP socket, made by the first ping, stays).
        for id in ids {
            let _ = net.a.close(id);
        }
        let icmp = usize::from(pinged);
        prop_assert!(net.run_until(200_000, |a, b| {
            while let Ok(Some(c)) = b.tcp_accept(bl) {
                let _ = b.close(c);
            }
            a.live_sockets() <= baseline + icmp
        }), "A still holds {} sockets over {baseline}", net.a.live_sockets());
    }
}
