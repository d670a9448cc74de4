//! Hostile mode: each named case does its damage, and a tolerant guest
//! script survives every case without the host panicking.

mod common;

use common::*;
use vmbus_host::device::keyboard::Keyboard;
use vmbus_host::device::storvsp::Storvsp;
use vmbus_host::{HostConfig, HostileCase, HostileConfig, Note};

fn hostile(case: HostileCase) -> HostConfig {
    HostConfig {
        hostile: HostileConfig::single(case, 0x5EED),
        ..HostConfig::default()
    }
}

/// Contact + REQUESTOFFERS with two keyboards; returns every message.
fn offers_under(case: HostileCase) -> (TestHost, Vec<Vec<u8>>) {
    let mut h = host(hostile(case));
    h.add_device(Box::new(Keyboard::new()));
    h.add_device(Box::new(Keyboard::new()));
    synic_up(&mut h);
    let mut msgs = Vec::new();
    for m in [&contact(0x0005_0000)[..], &REQUEST_OFFERS[..]] {
        // Retry transient failures like Linux does (§1.5).
        let mut tries = 0;
        while post(&mut h, 1, m) == 0x13 {
            tries += 1;
            assert!(tries < 100);
        }
        msgs.extend(recv_all(&mut h));
    }
    (h, msgs)
}

#[test]
fn control_plane_cases_do_their_damage() {
    use HostileCase::*;
    let (_, m) = offers_under(DuplicateRelid);
    assert_eq!(le32(&m[1], 0xB8), le32(&m[2], 0xB8));
    let (_, m) = offers_under(ZeroRelid);
    assert_eq!(le32(&m[1], 0xB8), 0);
    let (_, m) = offers_under(AbsurdOffer);
    assert!(m
        .iter()
        .any(|o| o[0] == 1 && le16(o, 0x3A) == 0xFFFF && le32(o, 0xB8) == u32::MAX));
    let (_, m) = offers_under(UnsolicitedGpadlCreated);
    assert!(m.iter().any(|x| x[0] == 10 && le32(x, 12) == 0xBAD0_0001));
    let (_, m) = offers_under(UnsolicitedOpenResult);
    assert_eq!(m.iter().filter(|x| x[0] == 6).count(), 2);
    let (_, m) = offers_under(UnsolicitedResponses);
    assert_eq!(m.iter().filter(|x| [15, 17, 12].contains(&x[0])).count(), 4);
    let (_, m) = offers_under(MessageFlood);
    assert!(m.len() > 300);
    let (_, m) = offers_under(TruncatedMessages);
    assert_eq!(m[0].len(), 8, "VERSION_RESPONSE cut in half");
    let (mut h, _) = offers_under(LyingPayloadSize);
    assert_eq!(post(&mut h, 1, &contact(0x0005_0000)), 0);
    assert_eq!(read(&h, SIMP + 0x204, 1)[0], 255);
    let (_, mutated) = offers_under(MutateMessages);
    let mut clean = host(HostConfig::default());
    clean.add_device(Box::new(Keyboard::new()));
    clean.add_device(Box::new(Keyboard::new()));
    synic_up(&mut clean);
    post(&mut clean, 1, &contact(0x0005_0000));
    let mut normal = recv_all(&mut clean);
    post(&mut clean, 1, &REQUEST_OFFERS);
    normal.extend(recv_all(&mut clean));
    assert_eq!(normal.len(), mutated.len());
    assert_ne!(normal, mutated);
    let mut h = host(hostile(TransientPostFailures));
    synic_up(&mut h);
    assert_eq!(post(&mut h, 1, &contact(0x0005_0000)), 0x13);
    assert_eq!(post(&mut h, 1, &contact(0x0005_0000)), 0);
}

/// A keyboard opened under `case`; the guest sends PROTOCOL_REQUEST.
fn keyboard_under(case: HostileCase) -> (TestHost, Chan) {
    let mut h = host(hostile(case));
    h.add_device(Box::new(Keyboard::new()));
    let offers = connect(&mut h);
    let mut c = open(&mut h, &offers[0], 0x10_0000, 2, 9);
    c.send_inband(&mut h, &[1, 0, 0, 0, 0, 0, 1, 0], true);
    h.run_until_idle(10);
    (h, c)
}

#[test]
fn ring_cases_do_their_damage() {
    use HostileCase::*;
    let d = 4096u32;
    let (h, c) = keyboard_under(RingWriteIndexOutOfRange);
    assert!(le32(&read(&h, c.in_hdr(), 4), 0) >= d);
    let (h, c) = keyboard_under(RingWriteIndexUnaligned);
    assert_ne!(le32(&read(&h, c.in_hdr(), 4), 0) % 8, 0);
    let (h, c) = keyboard_under(PacketLongerThanRing);
    assert!(u32::from(le16(&read(&h, c.in_hdr() + 4096, 8), 4)) * 8 > d);
    let (h, c) = keyboard_under(PacketBadOffset);
    assert_eq!(le16(&read(&h, c.in_hdr() + 4096, 8), 2), 0);
    let (h, c) = keyboard_under(GuestRingReadIndexBogus);
    assert!(le32(&read(&h, c.out_hdr() + 4, 4), 0) >= d);
    let (h, c) = keyboard_under(PendingSendSizeAbsurd);
    assert_eq!(le32(&read(&h, c.in_hdr() + 12, 4), 0), u32::MAX);
    let (mut h, c) = keyboard_under(SpuriousCompletions);
    let p = c.recv(&mut h);
    assert!(p.iter().any(|x| x.0 == 11 && x.2 >> 63 == 1));
    let (h, _) = keyboard_under(EventStorm);
    let bits = read(&h, SIEFP + 0x200, 32);
    assert!(bits.iter().map(|b| b.count_ones()).sum::<u32>() >= 2);
    for case in HostileCase::ALL.iter().filter(|c| c.is_ring_case()) {
        let (h, _) = keyboard_under(*case);
        let fired = h.notes().any(|n| *n == Note::Hostile { case: *case });
        let silent = matches!(case, MutatePackets | SpuriousCompletions | EventStorm);
        assert!(fired || silent, "{}", case.name());
    }
}

#[test]
fn mutate_packets_changes_bytes() {
    let mut seen_change = false;
    for seed in 1..20 {
        let mut h = host(HostConfig {
            hostile: HostileConfig {
                cases: vec![(HostileCase::MutatePackets, None)],
                seed,
                mutate_per_mille: 1000,
            },
            ..HostConfig::default()
        });
        h.add_device(Box::new(Keyboard::new()));
        let offers = connect(&mut h);
        let mut c = open(&mut h, &offers[0], 0x10_0000, 2, 9);
        c.send_inband(&mut h, &[1, 0, 0, 0, 0, 0, 1, 0], true);
        h.run_until_idle(10);
        let hdr = read(&h, c.in_hdr() + 4096, 24);
        if hdr[16..24] != [2, 0, 0, 0, 1, 0, 0, 0] || hdr[..8] != [6, 0, 2, 0, 3, 0, 0, 0] {
            seen_change = true;
        }
    }
    assert!(seen_change);
}

#[test]
fn names_round_trip() {
    for c in HostileCase::ALL {
        assert_eq!(HostileCase::from_name(c.name()), Some(c));
    }
    assert_eq!(HostileCase::from_name("nope"), None);
}

/// A tolerant guest: ignores anything odd and keeps going. Every case,
/// several seeds, two devices: the host must never panic.
#[test]
fn every_case_survives_a_tolerant_guest() {
    for case in HostileCase::ALL {
        for seed in 0..4u64 {
            let mut h = host(HostConfig {
                hostile: HostileConfig {
                    cases: vec![(case, None)],
                    seed,
                    mutate_per_mille: 500,
                },
                ..HostConfig::default()
            });
            let kb = h.add_device(Box::new(Keyboard::new()));
            h.add_device(Box::new(Storvsp::new(16)));
            synic_up(&mut h);
            for _ in 0..3 {
                post(&mut h, 1, &contact(0x0005_0000));
            }
            recv_all(&mut h);
            post(&mut h, 1, &REQUEST_OFFERS);
            post(&mut h, 1, &REQUEST_OFFERS);
            let msgs = recv_all(&mut h);
            // Use the host's own idea of the relid (messages may lie).
            let Some(relid) = h.relid(kb) else { continue };
            let base = 0x10_0000;
            write(&mut h, base, &[0u8; 4096]);
            write(&mut h, base + 2 * 4096, &[0u8; 4096]);
            for m in gpadl_messages(relid, 5, &[0x100, 0x101, 0x102, 0x103]) {
                post(&mut h, 1, &m);
            }
            post(&mut h, 1, &open_channel(relid, 5, 0, 2));
            recv_all(&mut h);
            let conn = h.connection_id(kb).unwrap_or(0);
            let mut c = Chan {
                relid,
                conn,
                base,
                out_pages: 2,
                in_pages: 2,
                gpadl: 5,
                next_id: 1,
            };
            c.send_quiet(&mut h, &[1, 0, 0, 0, 0, 0, 1, 0]);
            h.run_until_idle(20);
            if let Some(k) = h.device_mut::<Keyboard>(kb) {
                k.press(0x1E, false, false);
            }
            h.run_until_idle(20);
            h.rescind(kb);
            post(&mut h, 1, &UNLOAD);
            recv_all(&mut h);
            assert!(msgs.len() < 10_000);
        }
    }
}

#[test]
fn withheld_teardown_keeps_the_pages_the_hosts() {
    let (mut h, c) = keyboard_under(HostileCase::WithholdGpadlTeardown);
    let mut close = vec![7, 0, 0, 0, 0, 0, 0, 0];
    push32(&mut close, c.relid);
    assert_eq!(post(&mut h, 1, &close), 0);
    let mut td = vec![11, 0, 0, 0, 0, 0, 0, 0];
    push32(&mut td, c.relid);
    push32(&mut td, c.gpadl);
    assert_eq!(post(&mut h, 1, &td), 0);
    h.run_until_idle(10);
    let answers = recv_all(&mut h);
    assert!(
        answers.iter().all(|m| m[0] != 12),
        "GPADL_TORNDOWN came: {answers:?}"
    );
    assert_eq!(h.gpadl_pfns(), [0x100, 0x101, 0x102, 0x103]);
    assert!(h.notes().any(|n| *n
        == Note::Hostile {
            case: HostileCase::WithholdGpadlTeardown
        }));
}
