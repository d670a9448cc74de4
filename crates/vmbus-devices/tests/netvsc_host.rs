//! A scripted netvsc host (receive/send buffers in "guest memory") takes the
//! driver through §6.5: NVSP init, buffers, RNDIS bring-up, frames both
//! ways, link changes. Hostile hosts are in `netvsc_hostile.rs`.

mod common;

use common::net_fake::{config, feed, frame, indicate, pump, ready, rx_packet, Host, MAC, SUB};
use common::{hex, rd32, xfer_packet, Bytes};
use vmbus_devices::netvsc::{Netvsc, NetvscError, NetvscEvent, NetvscState};
use vmbus_devices::{OutgoingKind, Output};

#[test]
fn first_message_bytes() {
    let mut nic = Netvsc::new(config());
    let mut out = Output::new();
    nic.start(&mut out).unwrap();
    let mut init = hex("01 00 00 00 00 00 05 00 00 00 05 00");
    init.resize(40, 0);
    assert_eq!(out.sends[0].payload, init);
    assert!(out.sends[0].completion_requested);
}

#[test]
fn bring_up() {
    let mut host = Host::new();
    let (nic, events) = ready(&mut host);
    assert_eq!(
        events,
        [
            NetvscEvent::Ready {
                mac: MAC,
                mtu: 1500
            },
            NetvscEvent::LinkUp
        ]
    );
    assert_eq!(nic.state(), NetvscState::Ready);
    let types: Vec<u32> = host.seen.iter().map(|s| s.0).collect();
    assert_eq!(types, [1, 125, 100, 101, 104, 107, 107, 107, 107, 107]);
    // NDIS_CONFIG and NDIS_VERSION go without completion flag (Linux).
    let (_, cfg, c) = &host.seen[1];
    assert_eq!((rd32(cfg, 4), rd32(cfg, 12), *c), (1514, 8, false));
    let (_, ver, c) = &host.seen[2];
    assert_eq!((rd32(ver, 4), rd32(ver, 8), *c), (6, 30, false));
    let (_, rb, c) = &host.seen[3];
    assert_eq!(
        (rd32(rb, 4), rd32(rb, 8) & 0xFFFF, *c),
        (0x100, 0xCAFE, true)
    );
    let (_, sb, _) = &host.seen[4];
    assert_eq!((rd32(sb, 4), rd32(sb, 8) & 0xFFFF), (0x200, 0));
    let (_, first, _) = &host.seen[5];
    assert_eq!(
        (rd32(first, 4), rd32(first, 8), rd32(first, 12)),
        (1, 0, 24)
    );
    // The RNDIS bytes in the send sections are the §9.6 vectors.
    assert_eq!(
        host.rndis[0],
        hex("02 00 00 00 18 00 00 00 01 00 00 00 01 00 00 00 00 00 00 00 00 40 00 00")
    );
    assert_eq!(
        host.rndis[1],
        hex("04 00 00 00 1c 00 00 00 02 00 00 00 01 01 01 01 00 00 00 00 14 00 00 00 00 00 00 00")
    );
    let mut set = hex("05 00 00 00 20 00 00 00 03 00 00 00 0e 01 01 00 04 00 00 00 14 00 00 00 00 00 00 00 0d 00 00 00");
    set[8] = 5; // fifth request of this driver; the vector uses id 3
    assert_eq!(host.rndis[4], set);
    // Every receive was completed with the 8-byte SEND_RNDIS_PACKET_COMPLETE.
    assert_eq!(host.completions.len(), 5);
    for (_, p) in &host.completions {
        assert_eq!(p, &hex("6c 00 00 00 01 00 00 00"));
    }
    assert_eq!(nic.sections_in_use(), 0);
    assert_eq!(nic.outstanding(), 0);
}

#[test]
fn receive_frames() {
    let mut host = Host::new();
    let (mut nic, _) = ready(&mut host);
    let f = frame(60);
    let pkt = host.deliver(0, &rx_packet(&f, Some(0x0000_0643)));
    let mut out = Output::new();
    feed(&mut nic, &mut host, &pkt, &mut out).unwrap();
    let [NetvscEvent::Frame(rx)] = &out.events[..] else {
        panic!("{:?}", out.events)
    };
    assert_eq!(rx.data, f);
    assert_eq!(rx.checksum_info, Some(0x28));
    let v = rx.vlan.unwrap();
    assert_eq!((v.priority, v.cfi, v.vlan_id), (3, false, 0x64));
    // The guest completes the receive so the host can reuse the section.
    assert_eq!(out.sends.len(), 1);
    assert_eq!(out.sends[0].kind, OutgoingKind::Completion);
    assert_eq!(out.sends[0].payload, hex("6c 00 00 00 01 00 00 00"));
    // Two frames in one packet.
    let a = rx_packet(&frame(100), None);
    let b = rx_packet(&frame(1514), None);
    host.recv[..a.len()].copy_from_slice(&a);
    host.recv[SUB as usize..SUB as usize + b.len()].copy_from_slice(&b);
    let nvsp = Bytes::new().u32(107).u32(0).u32(0xFFFF_FFFF).u32(0).done();
    let pkt = xfer_packet(0, 0xCAFE, &[(SUB, 0), (SUB, SUB)], &nvsp);
    out.clear();
    feed(&mut nic, &mut host, &pkt, &mut out).unwrap();
    assert_eq!(out.events.len(), 2);
    assert_eq!(out.sends.len(), 1);
}

#[test]
fn send_frames_and_completions() {
    let mut host = Host::new();
    let (mut nic, _) = ready(&mut host);
    let f = frame(74);
    let pkt = nic.send_frame(&f, &mut host.send).unwrap();
    assert!(pkt.completion_requested);
    assert_eq!(nic.sections_in_use(), 1);
    let replies = host.answer(&pkt);
    let msg = host.rndis.last().unwrap().clone();
    assert_eq!(
        (rd32(&msg, 0), rd32(&msg, 4), rd32(&msg, 8), rd32(&msg, 12)),
        (1, 44 + 74, 36, 74)
    );
    assert!(msg[16..44].iter().all(|&b| b == 0), "no OOB/PPI/vc_handle");
    assert_eq!(&msg[44..], &f[..]);
    assert_eq!(
        rd32(&host.seen.last().unwrap().1, 4),
        0,
        "channel type data"
    );
    let mut out = Output::new();
    feed(&mut nic, &mut host, &replies[0], &mut out).unwrap();
    assert_eq!(
        out.events,
        [NetvscEvent::SendComplete {
            id: pkt.trans_id,
            ok: true
        }]
    );
    assert_eq!(nic.sections_in_use(), 0);
    // Frame limits.
    assert_eq!(
        nic.send_frame(&[0; 13], &mut host.send),
        Err(NetvscError::FrameTooLarge(13))
    );
    assert_eq!(
        nic.send_frame(&[0; 1519], &mut host.send),
        Err(NetvscError::FrameTooLarge(1519))
    );
    // Every section in flight: Busy until completions come back.
    let mut held = Vec::new();
    loop {
        match nic.send_frame(&f, &mut host.send) {
            Ok(p) => held.push(p),
            Err(e) => {
                assert_eq!(e, NetvscError::Busy);
                break;
            }
        }
    }
    assert_eq!(held.len(), 8);
    assert_eq!(nic.sections_free(), 0);
    let r = host.answer(&held[0]);
    feed(&mut nic, &mut host, &r[0], &mut out).unwrap();
    assert_eq!(nic.sections_free(), 1);
    assert!(nic.send_frame(&f, &mut host.send).is_ok());
}

#[test]
fn link_status_changes() {
    let mut host = Host::new();
    let (mut nic, _) = ready(&mut host);
    let mut out = Output::new();
    for (status, ev) in [
        (0x4001_000C, NetvscEvent::LinkDown),
        (0x4001_000B, NetvscEvent::LinkUp),
    ] {
        let pkt = host.deliver(1, &indicate(status));
        out.clear();
        feed(&mut nic, &mut host, &pkt, &mut out).unwrap();
        assert_eq!(out.events, [ev]);
    }
    assert!(nic.link_up());
    // Link speed change: nothing to report.
    let pkt = host.deliver(1, &indicate(0x4001_0013));
    out.clear();
    feed(&mut nic, &mut host, &pkt, &mut out).unwrap();
    assert!(out.events.is_empty());
}

#[test]
fn network_change_bounces_the_link() {
    let mut host = Host::new();
    let (mut nic, _) = ready(&mut host);
    let mut out = Output::new();
    let pkt = host.deliver(1, &indicate(0x4001_0018));
    feed(&mut nic, &mut host, &pkt, &mut out).unwrap();
    assert_eq!(out.events, [NetvscEvent::LinkDown, NetvscEvent::LinkUp]);
    assert!(nic.link_up());
    // With the link down there is no carrier to bounce.
    for status in [0x4001_000C, 0x4001_0018] {
        let pkt = host.deliver(1, &indicate(status));
        out.clear();
        feed(&mut nic, &mut host, &pkt, &mut out).unwrap();
    }
    assert_eq!(out.events, []);
    assert!(!nic.link_up());
}

#[test]
fn link_down_at_start_and_no_frame_size() {
    let mut host = Host::new();
    host.link = 1;
    host.frame_size = None;
    let (_, events) = ready(&mut host);
    assert_eq!(
        events,
        [
            NetvscEvent::Ready {
                mac: MAC,
                mtu: 1500
            },
            NetvscEvent::LinkDown
        ]
    );
}

#[test]
fn version_fallback() {
    let mut host = Host::new();
    host.max_version = 0x0004_0000;
    let (nic, events) = ready(&mut host);
    assert_eq!(nic.version(), 0x0004_0000);
    assert!(matches!(events[0], NetvscEvent::Ready { .. }));
    // NVSP 4 announces NDIS 6.1.
    let ver = host.seen.iter().find(|s| s.0 == 100).unwrap();
    assert_eq!((rd32(&ver.1, 4), rd32(&ver.1, 8)), (6, 1));
    let mut host = Host::new();
    host.max_version = 0;
    let mut nic = Netvsc::new(config());
    let mut out = Output::new();
    nic.start(&mut out).unwrap();
    assert_eq!(
        pump(&mut nic, &mut host, &mut out),
        Err(NetvscError::NoVersion)
    );
    assert_eq!(nic.state(), NetvscState::Failed);
}

#[test]
fn stop_revokes_both_buffers() {
    let mut host = Host::new();
    let (mut nic, _) = ready(&mut host);
    let _in_flight = nic.send_frame(&frame(60), &mut host.send).unwrap();
    let mut out = Output::new();
    nic.stop(&mut out);
    let revokes: Vec<_> = out.sends.iter().map(|s| s.payload.clone()).collect();
    let mut recv = hex("67 00 00 00 fe ca");
    recv.resize(40, 0);
    let mut send = hex("6a 00 00 00 00 00");
    send.resize(40, 0);
    assert_eq!(revokes, [recv, send]);
    assert!(out.sends.iter().all(|s| !s.completion_requested));
    assert_eq!(nic.state(), NetvscState::Stopped);
    assert_eq!((nic.outstanding(), nic.sections_in_use()), (0, 0));
    assert_eq!(nic.sections_free(), 0, "no send buffer after the revoke");
    // Nothing more goes out, nothing more comes in.
    out.clear();
    nic.stop(&mut out);
    assert!(out.sends.is_empty());
    let pkt = host.deliver(0, &rx_packet(&frame(60), None));
    assert_eq!(
        feed(&mut nic, &mut host, &pkt, &mut out),
        Err(NetvscError::Stopped)
    );
    assert_eq!(
        nic.send_frame(&frame(60), &mut host.send),
        Err(NetvscError::NotReady)
    );
    // Stopped before the buffers were registered: nothing to revoke.
    let mut early = Netvsc::new(config());
    early.start(&mut out).unwrap();
    out.clear();
    early.stop(&mut out);
    assert!(out.sends.is_empty());
}
