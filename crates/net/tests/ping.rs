//! ICMP echo between two stacks.

mod common;

use std::net::Ipv4Addr;

use common::{Net, IP_A, IP_B, MAC_A, MAC_B};
use net::{NetError, STALL_MS};

#[test]
fn a_pings_b_and_gets_the_reply_with_its_sequence_number() {
    let mut net = Net::new();
    net.now = 5_000;
    let sent_at = net.now;
    net.a.ping(IP_B, 0x4242, 7, b"are you there?").unwrap();
    net.a.ping(IP_B, 0x4242, 8, b"and again").unwrap();
    let mut replies = Vec::new();
    assert!(net.run_until(2_000, |a, _| {
        replies.extend(std::iter::from_fn(|| a.take_echo_reply()));
        replies.len() == 2
    }));
    let elapsed = net.now - sent_at;
    let mut seqs: Vec<u16> = replies.iter().map(|r| r.seq).collect();
    seqs.sort();
    assert_eq!(seqs, [7, 8]);
    for r in &replies {
        assert_eq!((r.from, r.ident), (IP_B, 0x4242));
        assert!(r.rtt_ms <= elapsed, "rtt {} over {elapsed}", r.rtt_ms);
    }
    assert_eq!(replies.iter().find(|r| r.seq == 7).unwrap().len, 14);
    // B answered from the interface, it asked nothing itself.
    assert!(net.b.take_echo_reply().is_none());
}

#[test]
fn the_round_trip_time_counts_from_the_ping_call() {
    let mut net = Net::new();
    // Warm the ARP caches, so the reply comes in the next polls.
    net.a.ping(IP_B, 1, 1, b"").unwrap();
    assert!(net.run_until(1_000, |a, _| a.take_echo_reply().is_some()));
    // A one-way delay: B's frames are held back for 40 ms of clock.
    net.now = 10_000;
    net.a.ping(IP_B, 1, 2, b"x").unwrap();
    net.a.poll(net.now);
    net.b.poll(net.now);
    net.now += 40;
    net.a.poll(net.now);
    let r = net
        .a
        .take_echo_reply()
        .expect("reply in the poll after B answered");
    assert_eq!((r.seq, r.rtt_ms), (2, 40));
}

#[test]
fn a_ping_to_a_silent_host_stops_blocking_the_queue_after_the_stall_time() {
    let mut net = Net::new();
    // Nobody has 10.0.0.9: ARP goes unanswered, so smoltcp keeps that
    // request at the head of the queue, and B's ping waits behind it.
    net.a.ping(Ipv4Addr::new(10, 0, 0, 9), 3, 1, b"").unwrap();
    net.a.ping(IP_B, 3, 2, b"").unwrap();
    let start = net.now;
    assert!(net.run_until(10_000, |a, _| a.stats().tx_flushed == 1));
    assert!(
        net.now - start >= STALL_MS,
        "flushed at {}",
        net.now - start
    );
    // B's ping went with it; a new one goes straight through.
    assert!(net.a.take_echo_reply().is_none());
    net.a.ping(IP_B, 3, 3, b"").unwrap();
    let start = net.now;
    assert!(net.run_until(1_000, |a, _| a
        .take_echo_reply()
        .is_some_and(|r| r.seq == 3)));
    // (within smoltcp's ARP rate limit: one request a second)
    assert!(
        net.now - start <= 1_100,
        "answered after {}",
        net.now - start
    );
}

#[test]
fn replies_to_another_identifier_are_not_ours() {
    let mut net = Net::new();
    net.a.ping(IP_B, 3, 2, b"").unwrap();
    net.b.ping(IP_A, 4, 2, b"").unwrap();
    assert!(net.run_until(1_000, |_, b| b.take_echo_reply().is_some()));
    net.run_until(100, |_, _| false);
    let r = net.a.take_echo_reply().unwrap();
    assert_eq!((r.ident, r.seq), (3, 2));
    assert!(net.a.take_echo_reply().is_none());
    // An echo reply nobody asked for (B's stack answers A's forged request
    // with ident 3, seq 99) is dropped.
    let forged = common::frames::ping_frame((MAC_A, IP_A), (MAC_B, IP_B), 3, 99);
    net.b.device().inject(&forged);
    net.run_until(100, |_, _| false);
    assert!(net.a.take_echo_reply().is_none());
}

#[test]
fn ping_refuses_what_cannot_leave() {
    let mut net = Net::new();
    let off_subnet = Ipv4Addr::new(192, 168, 1, 1);
    assert_eq!(net.a.ping(off_subnet, 1, 1, b""), Err(NetError::NoRoute));
    assert_eq!(
        net.a.ping(Ipv4Addr::BROADCAST, 1, 1, b""),
        Err(NetError::InvalidArgument)
    );
    assert_eq!(
        net.a.ping(Ipv4Addr::UNSPECIFIED, 1, 1, b""),
        Err(NetError::InvalidArgument)
    );
    let big = vec![0; net.a.max_datagram() + 1];
    assert_eq!(net.a.ping(IP_B, 1, 1, &big), Err(NetError::TooLarge));
    let most = vec![0x5a; net.a.max_datagram()];
    net.a.ping(IP_B, 1, 9, &most).unwrap();
    assert!(net.run_until(1_000, |a, _| a
        .take_echo_reply()
        .is_some_and(|r| r.len == most.len())));
}
