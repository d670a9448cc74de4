//! UDP between two stacks.

mod common;

use common::{pattern, Net, IP_A, IP_B};
use net::{NetError, UDP_PACKETS};

#[test]
fn an_echo_server_returns_each_datagram_to_its_sender() {
    let mut net = Net::new();
    let server = net.b.udp_bind(7).unwrap();
    let client = net.a.udp_bind(0).unwrap();
    let client_port = net.a.udp_port(client).unwrap();
    assert!(client_port >= 49152);
    let messages: Vec<Vec<u8>> = (0..5).map(|i| pattern(i, 100 + 300 * i as usize)).collect();
    for m in &messages {
        net.a.udp_send_to(client, IP_B, 7, m).unwrap();
    }
    let mut echoed = Vec::new();
    let mut buf = [0u8; 2048];
    assert!(net.run_until(2_000, |a, b| {
        while let Some(d) = b.udp_recv_from(server, &mut buf).unwrap() {
            assert_eq!((d.from, d.port, d.truncated), (IP_A, client_port, false));
            b.udp_send_to(server, d.from, d.port, &buf[..d.len])
                .unwrap();
        }
        while let Some(d) = a.udp_recv_from(client, &mut buf).unwrap() {
            assert_eq!((d.from, d.port), (IP_B, 7));
            echoed.push(buf[..d.len].to_vec());
        }
        echoed.len() == messages.len()
    }));
    assert_eq!(echoed, messages);
}

#[test]
fn a_short_buffer_truncates_and_says_so() {
    let mut net = Net::new();
    let rx = net.b.udp_bind(9).unwrap();
    let tx = net.a.udp_bind(0).unwrap();
    net.a.udp_send_to(tx, IP_B, 9, &pattern(1, 1000)).unwrap();
    assert!(net.run_until(1_000, |_, b| b.can_recv(rx).unwrap()));
    let mut small = [0u8; 10];
    let d = net.b.udp_recv_from(rx, &mut small).unwrap().unwrap();
    assert_eq!((d.len, d.truncated), (10, true));
    assert_eq!(&small[..], &pattern(1, 1000)[..10]);
    assert_eq!(net.b.udp_recv_from(rx, &mut small), Ok(None));
}

#[test]
fn the_send_buffer_is_bounded() {
    let mut net = Net::new();
    let s = net.a.udp_bind(0).unwrap();
    for _ in 0..UDP_PACKETS {
        net.a.udp_send_to(s, IP_B, 9, b"x").unwrap();
    }
    assert!(!net.a.can_send(s).unwrap());
    assert_eq!(
        net.a.udp_send_to(s, IP_B, 9, b"x"),
        Err(NetError::BufferFull)
    );
    net.step();
    net.step();
    assert!(net.a.can_send(s).unwrap());
    let big = vec![0; net.a.max_datagram() + 1];
    assert_eq!(net.a.udp_send_to(s, IP_B, 9, &big), Err(NetError::TooLarge));
}

#[test]
fn a_silent_host_blocks_a_socket_only_until_the_stall_time_and_received_data_survives() {
    let mut net = Net::new();
    let a = net.a.udp_bind(5000).unwrap();
    let b = net.b.udp_bind(5001).unwrap();
    net.b.udp_send_to(b, IP_A, 5000, b"kept").unwrap();
    assert!(net.run_until(1_000, |a_stack, _| a_stack.can_recv(a).unwrap()));
    // 10.0.0.9 never answers ARP; the datagram to B queued behind it.
    net.a
        .udp_send_to(a, std::net::Ipv4Addr::new(10, 0, 0, 9), 9, b"lost")
        .unwrap();
    net.a.udp_send_to(a, IP_B, 5001, b"behind").unwrap();
    let start = net.now;
    assert!(net.run_until(10_000, |a_stack, _| a_stack.stats().tx_flushed == 1));
    assert!(net.now - start >= net::STALL_MS);
    let mut buf = [0u8; 64];
    let d = net.a.udp_recv_from(a, &mut buf).unwrap().unwrap();
    assert_eq!((&buf[..d.len], d.from, d.port), (&b"kept"[..], IP_B, 5001));
    assert_eq!(net.a.udp_recv_from(a, &mut buf), Ok(None));
    // The rebuilt socket is on the same port and sends again.
    net.a.udp_send_to(a, IP_B, 5001, b"after").unwrap();
    assert!(net.run_until(2_000, |_, b_stack| b_stack.can_recv(b).unwrap()));
    let d = net.b.udp_recv_from(b, &mut buf).unwrap().unwrap();
    assert_eq!((&buf[..d.len], d.port), (&b"after"[..], 5000));
}
