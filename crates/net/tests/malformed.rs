//! Untrusted frames: hand-made bad frames are dropped and counted; random
//! and mutated frames never panic the stack, which still answers pings.

mod common;

use common::frames::{arp, arp_request_frame, ethernet, ipv4, ping_frame, udp};
use common::{Net, IP_A, IP_B, MAC_A, MAC_B};
use net::{check_frame, Ignored, Malformation, Stats, Verdict};
use proptest::prelude::*;

const FROM_A: ([u8; 6], std::net::Ipv4Addr) = (MAC_A, IP_A);
const TO_B: ([u8; 6], std::net::Ipv4Addr) = (MAC_B, IP_B);

fn ip_frame(packet: &[u8]) -> Vec<u8> {
    ethernet(MAC_B, MAC_A, 0x0800, packet)
}

fn good_ip() -> Vec<u8> {
    ipv4(IP_A, IP_B, 17, &udp(1, 2, b"payload"))
}

/// A frame whose IPv4 header is changed by `f`, checksum fixed after.
fn ip_with(f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut p = good_ip();
    f(&mut p);
    let ihl = (usize::from(p[0] & 0xf) * 4).clamp(20, p.len());
    p[10..12].fill(0);
    let sum = net::internet_checksum(&p[..ihl]);
    p[10..12].copy_from_slice(&sum.to_be_bytes());
    ip_frame(&p)
}

fn arp_with(f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut a = arp(1, MAC_A, IP_A, [0; 6], IP_B);
    f(&mut a);
    ethernet([0xff; 6], MAC_A, 0x0806, &a)
}

fn bad_frames() -> Vec<(Vec<u8>, Malformation)> {
    use Malformation::*;
    let mut group_source = ping_frame(FROM_A, TO_B, 1, 1);
    group_source[6] = 0x01;
    let mut bad_sum = ip_frame(&good_ip());
    bad_sum[14 + 10] ^= 0xff;
    vec![
        (vec![], Runt),
        (vec![0xff; 13], Runt),
        (ip_frame(&vec![0; 1501]), Giant),
        (group_source, GroupSource),
        (ip_frame(&good_ip()[..19]), Ipv4Truncated),
        (ip_with(|p| p[0] = 0x65), Ipv4Version),
        (ip_with(|p| p[0] = 0x44), Ipv4HeaderLength),
        (ip_with(|p| p[0] = 0x4f), Ipv4HeaderLength),
        (
            ip_with(|p| p[2..4].copy_from_slice(&19u16.to_be_bytes())),
            Ipv4TotalLength,
        ),
        (
            ip_with(|p| p[2..4].copy_from_slice(&100u16.to_be_bytes())),
            Ipv4TotalLength,
        ),
        (bad_sum, Ipv4Checksum),
        (
            ethernet([0xff; 6], MAC_A, 0x0806, &[0, 1, 8, 0, 6, 4, 0, 1]),
            ArpTruncated,
        ),
        (arp_with(|a| a[1] = 6), ArpFormat),
        (arp_with(|a| a[2] = 0x86), ArpFormat),
        (arp_with(|a| a[4] = 8), ArpFormat),
        (arp_with(|a| a[5] = 16), ArpFormat),
        (arp_with(|a| a[7] = 3), ArpFormat),
    ]
}

#[test]
fn each_bad_frame_gets_its_verdict() {
    for (i, (frame, why)) in bad_frames().into_iter().enumerate() {
        assert_eq!(
            check_frame(&frame, 1500, MAC_B),
            Verdict::Malformed(why),
            "frame {i}"
        );
    }
    // The good ones pass, padding after the IPv4 total length included.
    let mut padded = ip_frame(&good_ip());
    padded.resize(60, 0);
    for good in [
        ping_frame(FROM_A, TO_B, 1, 1),
        arp_request_frame(FROM_A, IP_B),
        padded,
        ip_frame(&vec![0x45; 1500])
            .iter()
            .map(|_| 0)
            .take(0)
            .collect::<Vec<_>>(),
    ]
    .into_iter()
    .filter(|f| !f.is_empty())
    {
        assert_eq!(check_frame(&good, 1500, MAC_B), Verdict::Accept);
    }
}

#[test]
fn bad_frames_are_dropped_and_counted_exactly() {
    let mut net = Net::new();
    let bad = bad_frames();
    for (frame, _) in &bad {
        net.b.device().inject(frame);
    }
    // Longer than any buffer: the device itself refuses it.
    net.b.device().inject(&vec![0; 3000]);
    net.b.poll(1);
    let expect = bad.len() as u64 + 1;
    assert_eq!(
        net.b.stats(),
        Stats {
            rx_frames: expect,
            rx_dropped_malformed: expect,
            ..Stats::default()
        }
    );
    assert_eq!(net.b.device().sent(), 0, "B answered a bad frame");
}

#[test]
fn frames_not_for_this_stack_are_counted_apart() {
    let mut net = Net::new();
    let mut fragment = good_ip();
    fragment[6] = 0x20; // more fragments
    fragment[10..12].fill(0);
    let sum = net::internet_checksum(&fragment[..20]);
    fragment[10..12].copy_from_slice(&sum.to_be_bytes());
    let others = [
        (
            ethernet(MAC_B, MAC_A, 0x86dd, &[0x60; 40]),
            Ignored::EtherType(0x86dd),
        ),
        (
            ethernet(MAC_B, MAC_A, 0x8100, &[0; 46]),
            Ignored::EtherType(0x8100),
        ),
        (
            ethernet(MAC_B, MAC_A, 0x0040, &[0; 64]),
            Ignored::EtherType(0x0040),
        ),
        (
            ping_frame(FROM_A, ([0x02, 9, 9, 9, 9, 9], IP_B), 1, 1),
            Ignored::NotForUs,
        ),
        (ip_frame(&fragment), Ignored::Fragment),
    ];
    for (frame, why) in &others {
        assert_eq!(check_frame(frame, 1500, MAC_B), Verdict::Ignored(*why));
        net.b.device().inject(frame);
    }
    net.b.poll(1);
    let s = net.b.stats();
    assert_eq!(
        (s.rx_frames, s.rx_dropped_other, s.rx_dropped_malformed),
        (5, 5, 0)
    );
    assert_eq!(net.b.device().sent(), 0);
}

#[test]
fn device_errors_are_counted_not_fatal() {
    let mut net = Net::new();
    net.b.device().fail_receives(2);
    net.b.device().inject(&ping_frame(FROM_A, TO_B, 5, 5));
    net.b.poll(1);
    net.b.poll(2);
    assert_eq!(net.b.stats().rx_device_errors, 2);
    assert_eq!(net.b.stats().rx_frames, 0);
    net.b.poll(3);
    assert_eq!(net.b.stats().rx_frames, 1);

    // A failed transmit loses that frame (the echo request), no more.
    net.a.ping(IP_B, 9, 8, b"").unwrap();
    assert!(net.run_until(2_000, |a, _| a.take_echo_reply().is_some()));
    net.a.device().fail_transmits(1);
    net.a.ping(IP_B, 9, 9, b"").unwrap();
    assert!(!net.run_until(2_000, |a, _| a.take_echo_reply().is_some()));
    assert_eq!(net.a.stats().tx_device_errors, 1);
    net.a.ping(IP_B, 9, 10, b"").unwrap();
    assert!(net.run_until(2_000, |a, _| a
        .take_echo_reply()
        .is_some_and(|r| r.seq == 10)));

    // A busy device sends nothing until it frees up.
    net.a.device().set_busy(true);
    let sent = net.a.stats().tx_frames;
    net.a.ping(IP_B, 9, 11, b"").unwrap();
    net.run_until(500, |_, _| false);
    assert_eq!(net.a.stats().tx_frames, sent);
    net.a.device().set_busy(false);
    assert!(net.run_until(2_000, |a, _| a.take_echo_reply().is_some()));
}

/// Frames A really sends B while talking (ARP, ICMP, UDP, TCP), to mutate.
fn captured_frames() -> Vec<Vec<u8>> {
    use std::{cell::RefCell, rc::Rc};
    let mut net = Net::new();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let tap = Rc::clone(&seen);
    net.a.device().set_tap(move |f| {
        tap.borrow_mut().push(f.clone());
        true
    });
    let l = net.b.tcp_listen(80).unwrap();
    let u = net.b.udp_bind(53).unwrap();
    let c = net.a.tcp_connect(IP_B, 80).unwrap();
    let s = net.a.udp_bind(0).unwrap();
    net.a.udp_send_to(s, IP_B, 53, b"query").unwrap();
    net.a.ping(IP_B, 1, 1, b"ping").unwrap();
    net.run_until(500, |a, b| {
        let _ = b.tcp_accept(l);
        let _ = a.tcp_send(c, b"data");
        let _ = b.udp_recv_from(u, &mut [0; 64]);
        false
    });
    let frames = seen.borrow().clone();
    frames
}

fn frame_strategy(templates: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let random = prop::collection::vec(any::<u8>(), 0..1600);
    let mutated = (
        prop::sample::select(templates),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        any::<prop::sample::Index>(),
        any::<bool>(),
    )
        .prop_map(|(mut f, flips, cut, truncate)| {
            for (at, x) in flips {
                let i = at.index(f.len());
                f[i] ^= x;
            }
            if truncate {
                f.truncate(cut.index(f.len() + 1));
            }
            f
        });
    prop_oneof![1 => random, 3 => mutated]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_and_mutated_frames_never_break_the_stack(
        frames in prop::collection::vec(frame_strategy(captured_frames()), 1..48)
    ) {
        let mut net = Net::new();
        let _listener = net.b.tcp_listen(80).unwrap();
        let _udp = net.b.udp_bind(53).unwrap();
        for f in &frames {
            net.b.device().inject(f);
        }
        net.b.poll(1);
        let s = net.b.stats();
        prop_assert_eq!(s.rx_frames, frames.len() as u64);
        prop_assert!(s.rx_dropped_malformed + s.rx_dropped_other <= s.rx_frames);
        // Whatever it made of them, it still answers: at once, or (if a
        // mutated ARP packet taught B a wrong MAC for A, as forged ARP
        // can) once that neighbour entry expires, after 60 s.
        let answered = (1..=70).any(|seq| {
            net.a.ping(IP_B, 77, seq, b"still there?").unwrap();
            net.run_until(1_000, |a, _| a.take_echo_reply().is_some())
        });
        prop_assert!(answered);
    }
}

#[test]
fn a_flood_is_read_in_bounded_polls() {
    let mut net = Net::new();
    let flood = net::RX_BUDGET + 44;
    for _ in 0..flood {
        net.b.device().inject(&[0u8; 10]);
    }
    net.b.poll(1);
    assert_eq!(net.b.stats().rx_frames, net::RX_BUDGET as u64);
    assert_eq!(net.b.poll_delay(1), Some(0), "more frames wait");
    net.b.poll(1);
    assert_eq!(net.b.stats().rx_frames, flood as u64);
    assert_eq!(net.b.stats().rx_dropped_malformed, flood as u64);
    assert_ne!(net.b.poll_delay(1), Some(0));
}
