//! netvsp: NVSP init, buffers, RNDIS, and the ARP / ICMP / UDP responder,
//! driven by hand-written NVSP and RNDIS bytes (§6.5, §9.6).

mod common;

use common::*;
use vmbus_host::device::netvsp::{NetMode, Netvsp, NvspState};
use vmbus_host::{ChannelFailure, DeviceError, DeviceId, HostConfig};

const NIC_GUID: [u8; 16] = [
    0x63, 0x51, 0x61, 0xf8, 0x3e, 0xdf, 0xc5, 0x46, 0x91, 0x3f, 0xf2, 0xd2, 0xf9, 0x65, 0xed, 0x0e,
];
const GUEST_MAC: [u8; 6] = [0x00, 0x15, 0x5D, 0x00, 0x00, 0x01];
const HOST_MAC: [u8; 6] = [0x00, 0x15, 0x5D, 0xFF, 0xFF, 0xFE];
const HOST_IP: [u8; 4] = [10, 0, 0, 1];
const GUEST_IP: [u8; 4] = [10, 0, 0, 2];
const RX: u64 = 0x40_0000; // 16 pages
const TX: u64 = 0x50_0000; // 4 pages
const FRAME: u64 = 0x60_0000;

fn nvsp(words: &[u32]) -> Vec<u8> {
    let mut v = Vec::new();
    for w in words {
        push32(&mut v, *w);
    }
    v.resize(40, 0);
    v
}

type Packet = (u16, u16, u64, Vec<u8>);

struct Nic {
    h: TestHost,
    d: DeviceId,
    c: Chan,
    stash: Vec<Packet>,
}

impl Nic {
    /// Sends an in-band NVSP message with the completion flag and returns
    /// the COMP payload.
    fn call(&mut self, msg: &[u8]) -> Vec<u8> {
        let id = self.c.send_inband(&mut self.h, msg, true);
        self.take_completion(id)
    }

    fn fetch(&mut self) {
        self.h.run_until_idle(5);
        let got = self.c.recv(&mut self.h);
        self.stash.extend(got);
    }

    /// Removes the COMP packet for `id` and returns its payload.
    fn take_completion(&mut self, id: u64) -> Vec<u8> {
        self.fetch();
        let i = self
            .stash
            .iter()
            .position(|p| p.0 == 11 && p.2 == id)
            .expect("completion");
        let p = self.stash.remove(i);
        assert!(self.stash.iter().all(|p| p.0 == 7), "only receives left");
        p.3[16..].to_vec()
    }

    /// Sends RNDIS bytes in send-buffer section 0 (channel type `ct`).
    fn rndis(&mut self, ct: u32, msg: &[u8]) {
        write(&mut self.h, TX, msg);
        let done = self.call(&nvsp(&[107, ct, 0, msg.len() as u32]));
        assert_eq!(&done[..8], &[0x6c, 0, 0, 0, 1, 0, 0, 0]);
    }

    /// Reads every transfer-page packet, completes it (§9.6 bytes) and
    /// returns (channel_type, RNDIS message bytes).
    fn receive(&mut self) -> Vec<(u32, Vec<u8>)> {
        self.fetch();
        let mut out = Vec::new();
        for (ty, flags, tid, pkt) in std::mem::take(&mut self.stash) {
            assert_eq!((ty, flags), (7, 1));
            assert_eq!(le16(&pkt, 0x10), 0xCAFE);
            let n = le32(&pkt, 0x14) as usize;
            assert_eq!(n, 1);
            let (len, off) = (le32(&pkt, 0x18), le32(&pkt, 0x1C));
            let payload = &pkt[le16(&pkt, 2) as usize * 8..];
            assert_eq!(le32(payload, 0), 107);
            out.push((
                le32(payload, 4),
                read(&self.h, RX + u64::from(off), len as usize),
            ));
            let mut comp = Vec::new();
            push16(&mut comp, 11);
            push16(&mut comp, 2);
            push16(&mut comp, 3);
            push16(&mut comp, 0);
            push64(&mut comp, tid);
            comp.extend_from_slice(&[0x6c, 0, 0, 0, 1, 0, 0, 0]);
            assert!(self.c.send_raw(&mut self.h, &comp));
        }
        self.h.run_until_idle(5);
        out
    }

    /// Sends an Ethernet frame as PACKET_MSG via GPA-direct (section
    /// index 0xFFFFFFFF) and returns the frames that come back.
    fn send_frame(&mut self, frame: &[u8]) -> Vec<Vec<u8>> {
        let mut m = Vec::new();
        push32(&mut m, 1);
        push32(&mut m, (44 + frame.len()) as u32);
        push32(&mut m, 36);
        push32(&mut m, frame.len() as u32);
        m.resize(44, 0);
        m.extend_from_slice(frame);
        write(&mut self.h, FRAME, &m);
        let mut p = Vec::new();
        push16(&mut p, 9);
        push16(&mut p, 5);
        push16(&mut p, 5 + 5);
        push16(&mut p, 1);
        push64(&mut p, 77);
        push32(&mut p, 0);
        push32(&mut p, 1);
        push32(&mut p, m.len() as u32);
        push32(&mut p, 0);
        push64(&mut p, FRAME >> 12);
        p.extend_from_slice(&nvsp(&[107, 0, 0xFFFF_FFFF, 0]));
        assert!(self.c.send_raw(&mut self.h, &p));
        self.take_completion(77);
        self.receive()
            .into_iter()
            .map(|(ct, m)| {
                assert_eq!((ct, le32(&m, 0)), (0, 1));
                let (off, len) = (le32(&m, 8) as usize, le32(&m, 12) as usize);
                m[8 + off..8 + off + len].to_vec()
            })
            .collect()
    }
}

fn nic_up(mode: NetMode) -> Nic {
    let mut h = host(HostConfig::default());
    let d = h.add_device(Box::new(Netvsp::new(GUEST_MAC, mode)));
    let offers = connect(&mut h);
    let offer = find_offer(&offers, &NIC_GUID).to_vec();
    let c = open(&mut h, &offer, 0x10_0000, 4, 0xE1E10);
    let mut n = Nic {
        h,
        d,
        c,
        stash: Vec::new(),
    };
    // §9.6 NVSP INIT 5.0, padded to 40 bytes.
    let init = nvsp(&[1, 0x0005_0000, 0x0005_0000]);
    assert_eq!(&init[..12], &[1, 0, 0, 0, 0, 0, 5, 0, 0, 0, 5, 0]);
    let r = n.call(&init);
    assert_eq!(r.len(), 32, "28 bytes padded to 8");
    assert_eq!(
        &r[..16],
        &[2, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 34, 0, 0, 0, 1, 0, 0, 0]
    );
    n.c.send_inband(&mut n.h, &nvsp(&[125, 1514, 0, 8, 0]), false);
    n.c.send_inband(&mut n.h, &nvsp(&[100, 6, 0x1E]), false);
    n.fetch();
    assert!(n.stash.is_empty());
    for (base, pages, handle) in [(RX, 16u64, 0x100u32), (TX, 4, 0x101)] {
        let pfns: Vec<u64> = (0..pages).map(|i| (base >> 12) + i).collect();
        for m in gpadl_messages(n.c.relid, handle, &pfns) {
            assert_eq!(post(&mut n.h, 1, &m), 0);
        }
        assert_eq!(le32(&recv(&mut n.h).unwrap(), 16), 0);
    }
    let r = n.call(&nvsp(&[101, 0x100, 0xCAFE]));
    let count = 65536 / 1806;
    assert_eq!(&r[..28].to_vec(), &{
        let mut w = Vec::new();
        for x in [102, 1, 1, 0, 1806, count, 1806 * count] {
            push32(&mut w, x);
        }
        w
    });
    let r = n.call(&nvsp(&[104, 0x101, 0]));
    assert_eq!(&r[..12], &[105, 0, 0, 0, 1, 0, 0, 0, 0, 0x18, 0, 0]);
    assert_eq!(n.h.device::<Netvsp>(n.d).unwrap().state(), NvspState::Ready);
    // §9.6 RNDIS INITIALIZE_MSG, QUERY_MSG permanent MAC, SET_MSG filter 0xD.
    n.rndis(
        1,
        &[
            2, 0, 0, 0, 0x18, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0,
        ],
    );
    let m = n.receive();
    assert_eq!(m.len(), 1);
    assert_eq!(
        (m[0].0, le32(&m[0].1, 0), le32(&m[0].1, 4)),
        (1, 0x8000_0002, 52)
    );
    assert_eq!((le32(&m[0].1, 8), le32(&m[0].1, 12)), (1, 0));
    assert_eq!((le32(&m[0].1, 32), le32(&m[0].1, 40)), (8, 3));
    n.rndis(
        1,
        &[
            4, 0, 0, 0, 0x1c, 0, 0, 0, 2, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0x14, 0, 0, 0, 0, 0, 0,
            0,
        ],
    );
    let m = n.receive();
    let q = &m[0].1;
    assert_eq!(
        (le32(q, 0), le32(q, 8), le32(q, 12), le32(q, 16)),
        (0x8000_0004, 2, 0, 6)
    );
    let off = 8 + le32(q, 20) as usize;
    assert_eq!(&q[off..off + 6], &GUEST_MAC);
    n.rndis(
        1,
        &[
            5, 0, 0, 0, 0x20, 0, 0, 0, 3, 0, 0, 0, 0x0e, 1, 1, 0, 4, 0, 0, 0, 0x14, 0, 0, 0, 0, 0,
            0, 0, 0x0d, 0, 0, 0,
        ],
    );
    let m = n.receive();
    assert_eq!(m[0].1, [5, 0, 0, 0x80, 16, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(n.h.device::<Netvsp>(n.d).unwrap().packet_filter(), 0xD);
    assert_eq!(n.h.device::<Netvsp>(n.d).unwrap().outstanding_receives(), 0);
    n
}

fn eth(dst: [u8; 6], ty: u16, body: &[u8]) -> Vec<u8> {
    let mut f = dst.to_vec();
    f.extend_from_slice(&GUEST_MAC);
    f.extend_from_slice(&ty.to_be_bytes());
    f.extend_from_slice(body);
    f
}

fn csum(b: &[u8]) -> u16 {
    let mut s: u32 = b
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while s > 0xFFFF {
        s = (s & 0xFFFF) + (s >> 16);
    }
    !(s as u16)
}

fn ipv4(proto: u8, body: &[u8]) -> Vec<u8> {
    let mut h = vec![0x45, 0, 0, 0, 0x12, 0x34, 0, 0, 64, proto, 0, 0];
    h[2..4].copy_from_slice(&((20 + body.len()) as u16).to_be_bytes());
    h.extend_from_slice(&GUEST_IP);
    h.extend_from_slice(&HOST_IP);
    let c = csum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend_from_slice(body);
    h
}

#[test]
fn arp_request_gets_a_reply() {
    let mut n = nic_up(NetMode::Responder {
        mac: HOST_MAC,
        ip: HOST_IP,
    });
    let mut arp = vec![0, 1, 8, 0, 6, 4, 0, 1];
    arp.extend_from_slice(&GUEST_MAC);
    arp.extend_from_slice(&GUEST_IP);
    arp.extend_from_slice(&[0; 6]);
    arp.extend_from_slice(&HOST_IP);
    let back = n.send_frame(&eth([0xFF; 6], 0x0806, &arp));
    assert_eq!(back.len(), 1);
    let r = &back[0];
    assert_eq!(r.len(), 60);
    assert_eq!(&r[0..6], &GUEST_MAC);
    assert_eq!(&r[6..12], &HOST_MAC);
    assert_eq!(&r[12..22], &[0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 2]);
    assert_eq!(&r[22..28], &HOST_MAC);
    assert_eq!(&r[28..32], &HOST_IP);
    assert_eq!(&r[32..38], &GUEST_MAC);
    assert_eq!(&r[38..42], &GUEST_IP);
    assert_eq!(n.h.device_mut::<Netvsp>(n.d).unwrap().take_sent().len(), 1);
}

#[test]
fn icmp_echo_and_udp_echo() {
    let mut n = nic_up(NetMode::Responder {
        mac: HOST_MAC,
        ip: HOST_IP,
    });
    let mut icmp = vec![8, 0, 0, 0, 0x00, 0x01, 0x00, 0x07];
    icmp.extend_from_slice(b"ferrite ping");
    let c = csum(&icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    let back = n.send_frame(&eth(HOST_MAC, 0x0800, &ipv4(1, &icmp)));
    assert_eq!(back.len(), 1);
    let ip = &back[0][14..];
    assert_eq!(csum(&ip[..20]), 0, "IP header checksum");
    assert_eq!(&ip[12..16], &HOST_IP);
    assert_eq!(&ip[16..20], &GUEST_IP);
    let reply = &ip[20..20 + icmp.len()];
    assert_eq!(reply[0], 0, "echo reply");
    assert_eq!(csum(reply), 0, "ICMP checksum");
    assert_eq!(&reply[4..], &icmp[4..]);

    let mut udp = vec![0x30, 0x39, 0x00, 0x07, 0, 0, 0, 0];
    udp.extend_from_slice(b"echo me");
    let l = udp.len() as u16;
    udp[4..6].copy_from_slice(&l.to_be_bytes());
    let back = n.send_frame(&eth(HOST_MAC, 0x0800, &ipv4(17, &udp)));
    let ip = &back[0][14..];
    assert_eq!(ip[9], 17);
    let u = &ip[20..20 + udp.len()];
    assert_eq!(&u[0..4], &[0x00, 0x07, 0x30, 0x39]);
    assert_eq!(&u[8..], b"echo me");
    // UDP checksum over the pseudo-header verifies to 0.
    let mut pseudo = HOST_IP.to_vec();
    pseudo.extend_from_slice(&GUEST_IP);
    pseudo.extend_from_slice(&[0, 17]);
    pseudo.extend_from_slice(&l.to_be_bytes());
    pseudo.extend_from_slice(u);
    assert_eq!(csum(&pseudo), 0);
    // A ping to another address gets nothing.
    let mut other = ipv4(1, &icmp);
    other[19] = 9;
    other[10..12].fill(0);
    let c = csum(&other[..20]);
    other[10..12].copy_from_slice(&c.to_be_bytes());
    assert!(n.send_frame(&eth(HOST_MAC, 0x0800, &other)).is_empty());
}

#[test]
fn loopback_returns_the_frame_and_injection_reaches_the_guest() {
    let mut n = nic_up(NetMode::Loopback);
    let f = eth([0x02, 0, 0, 0, 0, 9], 0x88B5, b"hello loop");
    assert_eq!(n.send_frame(&f), std::slice::from_ref(&f));
    let inj = eth(GUEST_MAC, 0x88B5, b"from the host");
    assert!(n.h.device_mut::<Netvsp>(n.d).unwrap().inject_frame(&inj));
    let got = n.receive();
    assert_eq!(got.len(), 1);
    let m = &got[0].1;
    assert_eq!(&m[8 + 36..], &inj[..]);
}

#[test]
fn an_unknown_receive_completion_stops_the_nic() {
    let mut n = nic_up(NetMode::Capture);
    let mut comp = Vec::new();
    push16(&mut comp, 11);
    push16(&mut comp, 2);
    push16(&mut comp, 3);
    push16(&mut comp, 0);
    push64(&mut comp, 5);
    comp.extend_from_slice(&[0x6c, 0, 0, 0, 1, 0, 0, 0]);
    assert!(n.c.send_raw(&mut n.h, &comp));
    n.h.run_until_idle(5);
    assert_eq!(
        n.h.channel_failure(n.d),
        Some(ChannelFailure::Device(DeviceError::UnknownCompletion(5)))
    );
}
