//! A minimal guest for driving the simulated host from tests.
//!
//! It deliberately shares nothing with the library's layouts: every
//! message is spelled out with literal offsets taken from the facts sheet,
//! so a layout bug in the host cannot hide behind the same bug here.
#![allow(dead_code)]

use vmbus_host::{Host, HostConfig, MemoryPlatform, Platform};

pub const HC_PAGE: u64 = 0x1000;
pub const SIMP: u64 = 0x2000;
pub const SIEFP: u64 = 0x3000;
pub const INPUT: u64 = 0x4000;
pub const VECTOR: u8 = 0x51;
pub const RAM: u64 = 64 << 20;

pub type TestHost = Host<MemoryPlatform>;

pub fn le32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}
pub fn le16(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes(b[off..off + 2].try_into().unwrap())
}
pub fn le64(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().unwrap())
}
pub fn push32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_le_bytes());
}
pub fn push16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_le_bytes());
}
pub fn push64(v: &mut Vec<u8>, x: u64) {
    v.extend_from_slice(&x.to_le_bytes());
}

pub fn host(cfg: HostConfig) -> TestHost {
    Host::new(cfg, MemoryPlatform::with_ram(RAM))
}

pub fn read(h: &TestHost, gpa: u64, len: usize) -> Vec<u8> {
    h.platform().read_vec(gpa, len)
}
pub fn write(h: &mut TestHost, gpa: u64, b: &[u8]) {
    h.platform_mut().write_guest(gpa, b).unwrap();
}

/// §7 steps 2–3: guest OS id, hypercall page, SIMP, SIEFP, SINT2, SCONTROL.
pub fn synic_up(h: &mut TestHost) {
    h.wrmsr(0, 0x4000_0000, 0x8000_0000_0000_0001).unwrap();
    let hc = h.rdmsr(0, 0x4000_0001).unwrap();
    h.wrmsr(0, 0x4000_0001, (hc & 0xFFE) | HC_PAGE | 1).unwrap();
    h.wrmsr(0, 0x4000_0083, SIMP | 1).unwrap();
    h.wrmsr(0, 0x4000_0082, SIEFP | 1).unwrap();
    let s2 = h.rdmsr(0, 0x4000_0092).unwrap();
    h.wrmsr(
        0,
        0x4000_0092,
        (s2 & !0x1_00FF) | u64::from(VECTOR) | 1 << 17,
    )
    .unwrap();
    h.wrmsr(0, 0x4000_0080, 1).unwrap();
}

/// HvPostMessage (§1.5): builds the 256-byte block at INPUT, RCX = 0x5C.
pub fn post(h: &mut TestHost, conn: u32, payload: &[u8]) -> u16 {
    let mut b = vec![0u8; 256];
    b[0..4].copy_from_slice(&conn.to_le_bytes());
    b[8..12].copy_from_slice(&1u32.to_le_bytes());
    b[12..16].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    b[16..16 + payload.len()].copy_from_slice(payload);
    write(h, INPUT, &b);
    (h.hypercall(0, 0x5C, INPUT, 0) & 0xFFFF) as u16
}

/// Fast HvSignalEvent (§1.6): RCX = 0x1005D, RDX = connection id.
pub fn signal(h: &mut TestHost, conn: u32) -> u16 {
    (h.hypercall(0, 0x1_005D, u64::from(conn), 0) & 0xFFFF) as u16
}

/// Takes the message in SIMP slot 2 (§2.4): copy, clear type, EOM if
/// message_pending.
pub fn recv(h: &mut TestHost) -> Option<Vec<u8>> {
    let slot = read(h, SIMP + 0x200, 256);
    if le32(&slot, 0) == 0 {
        return None;
    }
    assert_eq!(le32(&slot, 0), 1, "VMBus messages have message_type 1");
    let size = slot[4] as usize;
    let payload = slot[16..16 + size.min(240)].to_vec();
    write(h, SIMP + 0x200, &[0, 0, 0, 0]);
    if slot[5] & 1 != 0 {
        h.eom(0);
    }
    Some(payload)
}

pub fn recv_all(h: &mut TestHost) -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    while let Some(m) = recv(h) {
        v.push(m);
    }
    v
}

/// §9.1 INITIATE_CONTACT 5.0 with monitor pages 0x100000 / 0x101000.
pub const CONTACT_50: [u8; 40] = [
    0x0e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x05, 0, 0, 0, 0, 0, //
    0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, //
    0, 0x10, 0x10, 0, 0, 0, 0, 0,
];

/// §9.1 INITIATE_CONTACT 6.0 as Hyper-V's UEFI sends it (56 bytes).
pub const CONTACT_60_UEFI: [u8; 56] = [
    0x0e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x06, 0, 0, 0, 0, 0, //
    0, 0, 0, 0, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, //
    0, 0, 0, 0, 0, 0, 0, 0, 0x64, 0x39, 0xdd, 0x18, 0x8a, 0x3e, 0x42, 0x4e, //
    0x86, 0xfa, 0xc8, 0xe6, 0xb1, 0x91, 0xee, 0x0e,
];

/// INITIATE_CONTACT for `version`, no monitor pages, msg_sint 2 (§3.4).
pub fn contact(version: u32) -> Vec<u8> {
    let mut m = vec![0u8; 40];
    m[0] = 14;
    m[8..12].copy_from_slice(&version.to_le_bytes());
    m[0x10] = 2;
    m
}

pub const REQUEST_OFFERS: [u8; 8] = [3, 0, 0, 0, 0, 0, 0, 0];
pub const UNLOAD: [u8; 8] = [16, 0, 0, 0, 0, 0, 0, 0];

/// Contact on id 1 with 5.0, request offers; returns the offers
/// (each 196 bytes) after checking ALLOFFERS_DELIVERED came last.
pub fn connect(h: &mut TestHost) -> Vec<Vec<u8>> {
    synic_up(h);
    assert_eq!(post(h, 1, &contact(0x0005_0000)), 0);
    let r = recv(h).expect("version response");
    assert_eq!(&r[..12], &[15, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
    assert_eq!(post(h, 1, &REQUEST_OFFERS), 0);
    let mut msgs = recv_all(h);
    assert_eq!(msgs.pop().unwrap(), [4, 0, 0, 0, 0, 0, 0, 0]);
    msgs
}

/// The offer whose if_type (offset 0x08) is `class` (16 wire bytes).
pub fn find_offer<'a>(offers: &'a [Vec<u8>], class: &[u8; 16]) -> &'a [u8] {
    offers
        .iter()
        .find(|o| &o[8..24] == class)
        .expect("offer for class")
}

pub const KEYBOARD_GUID: [u8; 16] = [
    0x6d, 0xad, 0x12, 0xf9, 0x17, 0x2b, 0xea, 0x48, 0xbd, 0x65, 0xf9, 0x27, 0xa6, 0x1c, 0x76, 0x84,
];

/// GPADL_HEADER + GPADL_BODY messages for one page-aligned range (§3.6):
/// up to 26 PFNs in the header, 28 per body.
pub fn gpadl_messages(relid: u32, gpadl: u32, pfns: &[u64]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut h = Vec::new();
    push32(&mut h, 8);
    push32(&mut h, 0);
    push32(&mut h, relid);
    push32(&mut h, gpadl);
    push16(&mut h, (8 + 8 * pfns.len()) as u16);
    push16(&mut h, 1);
    push32(&mut h, (pfns.len() * 4096) as u32);
    push32(&mut h, 0);
    let first = pfns.len().min(26);
    for p in &pfns[..first] {
        push64(&mut h, *p);
    }
    out.push(h);
    for chunk in pfns[first..].chunks(28) {
        let mut b = Vec::new();
        push32(&mut b, 9);
        push32(&mut b, 0);
        push32(&mut b, 0);
        push32(&mut b, gpadl);
        for p in chunk {
            push64(&mut b, *p);
        }
        out.push(b);
    }
    out
}

/// OPENCHANNEL, 148 bytes (§3.7).
pub fn open_channel(relid: u32, gpadl: u32, target_vp: u32, downstream: u32) -> Vec<u8> {
    let mut m = vec![0u8; 148];
    m[0] = 5;
    m[8..12].copy_from_slice(&relid.to_le_bytes());
    m[12..16].copy_from_slice(&relid.to_le_bytes());
    m[16..20].copy_from_slice(&gpadl.to_le_bytes());
    m[20..24].copy_from_slice(&target_vp.to_le_bytes());
    m[24..28].copy_from_slice(&downstream.to_le_bytes());
    m
}

/// One guest-side channel: ring pages at `base`, `out_pages` for the
/// guest → host ring and `in_pages` for the host → guest ring.
pub struct Chan {
    pub relid: u32,
    pub conn: u32,
    pub base: u64,
    pub out_pages: u64,
    pub in_pages: u64,
    pub gpadl: u32,
    pub next_id: u64,
}

impl Chan {
    pub fn out_hdr(&self) -> u64 {
        self.base
    }
    pub fn in_hdr(&self) -> u64 {
        self.base + self.out_pages * 4096
    }
    fn out_data(&self) -> u64 {
        (self.out_pages - 1) * 4096
    }
    fn in_data(&self) -> u64 {
        (self.in_pages - 1) * 4096
    }

    /// Writes one packet into the guest → host ring (§4.4), signalling if
    /// the ring was empty and the host's interrupt_mask is 0. Returns
    /// false if it did not fit.
    pub fn send_raw(&self, h: &mut TestHost, pkt: &[u8]) -> bool {
        let hdr = read(h, self.out_hdr(), 16);
        let (w, r, mask) = (le32(&hdr, 0) as u64, le32(&hdr, 4) as u64, le32(&hdr, 8));
        let d = self.out_data();
        let used = if w >= r { w - r } else { d - r + w };
        let total = pkt.len() as u64 + 8;
        if d - used <= total {
            return false;
        }
        let mut bytes = pkt.to_vec();
        push64(&mut bytes, w << 32);
        for (i, b) in bytes.iter().enumerate() {
            let pos = (w + i as u64) % d;
            write(h, self.base + 4096 + pos, &[*b]);
        }
        let nw = (w + total) % d;
        write(h, self.out_hdr(), &(nw as u32).to_le_bytes());
        if mask == 0 && r == w {
            assert_eq!(signal(h, self.conn), 0);
        }
        true
    }

    /// Like [`Chan::send_inband`] but ignores full rings and failed
    /// signals (for tolerant guests under hostile hosts).
    pub fn send_quiet(&mut self, h: &mut TestHost, payload: &[u8]) {
        let mut p = Vec::new();
        push16(&mut p, 6);
        push16(&mut p, 2);
        push16(&mut p, (2 + payload.len().div_ceil(8)) as u16);
        push16(&mut p, 1);
        push64(&mut p, self.next_id);
        self.next_id += 1;
        p.extend_from_slice(payload);
        p.resize(p.len().div_ceil(8) * 8, 0);
        let hdr = read(h, self.out_hdr(), 8);
        let w = u64::from(le32(&hdr, 0)) % self.out_data();
        let mut bytes = p;
        push64(&mut bytes, w << 32);
        for (i, b) in bytes.iter().enumerate() {
            let pos = (w + i as u64) % self.out_data();
            write(h, self.base + 4096 + pos, &[*b]);
        }
        let nw = ((w + bytes.len() as u64) % self.out_data()) as u32;
        write(h, self.out_hdr(), &nw.to_le_bytes());
        signal(h, self.conn);
    }

    /// An in-band packet (§4.3) with `payload`, completion flag optional.
    pub fn send_inband(&mut self, h: &mut TestHost, payload: &[u8], completion: bool) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let len8 = 2 + payload.len().div_ceil(8);
        let mut p = Vec::new();
        push16(&mut p, 6);
        push16(&mut p, 2);
        push16(&mut p, len8 as u16);
        push16(&mut p, u16::from(completion));
        push64(&mut p, id);
        p.extend_from_slice(payload);
        p.resize(len8 * 8, 0);
        assert!(self.send_raw(h, &p));
        id
    }

    /// Reads every packet of the host → guest ring (§4.5): returns
    /// (type, flags, trans_id, whole packet bytes).
    pub fn recv(&self, h: &mut TestHost) -> Vec<(u16, u16, u64, Vec<u8>)> {
        let hdr = read(h, self.in_hdr(), 8);
        let (w, mut r) = (le32(&hdr, 0) as u64, le32(&hdr, 4) as u64);
        let d = self.in_data();
        let mut out = Vec::new();
        while r != w {
            let rd = |h: &TestHost, off: u64, n: usize| -> Vec<u8> {
                (0..n)
                    .map(|i| read(h, self.in_hdr() + 4096 + (off + i as u64) % d, 1)[0])
                    .collect()
            };
            let desc = rd(h, r, 16);
            let len = le16(&desc, 4) as usize * 8;
            let pkt = rd(h, r, len);
            out.push((le16(&desc, 0), le16(&desc, 6), le64(&desc, 8), pkt));
            r = (r + len as u64 + 8) % d;
        }
        write(h, self.in_hdr() + 4, &(r as u32).to_le_bytes());
        out
    }

    /// Payloads of the received packets (from offset8 × 8).
    pub fn recv_payloads(&self, h: &mut TestHost) -> Vec<Vec<u8>> {
        self.recv(h)
            .into_iter()
            .map(|(_, _, _, p)| p[le16(&p, 2) as usize * 8..].to_vec())
            .collect()
    }
}

/// GPADL + OPENCHANNEL for the offer, rings of `pages` pages each, ring
/// memory at `base`. Returns the channel after OPENCHANNEL_RESULT 0.
pub fn open(h: &mut TestHost, offer: &[u8], base: u64, pages: u64, gpadl: u32) -> Chan {
    let relid = le32(offer, 0xB8);
    let conn = le32(offer, 0xC0);
    // Zero both header pages and set feature_bits = 1 like Linux (§4.2).
    for hdr in [base, base + pages * 4096] {
        write(h, hdr, &[0u8; 4096]);
        write(h, hdr + 0x40, &[1, 0, 0, 0]);
    }
    let pfns: Vec<u64> = (0..2 * pages).map(|i| (base >> 12) + i).collect();
    for m in gpadl_messages(relid, gpadl, &pfns) {
        assert_eq!(post(h, 1, &m), 0);
    }
    let created = recv(h).expect("GPADL_CREATED");
    let mut want = vec![10, 0, 0, 0, 0, 0, 0, 0];
    push32(&mut want, relid);
    push32(&mut want, gpadl);
    push32(&mut want, 0);
    assert_eq!(created, want);
    assert_eq!(post(h, 1, &open_channel(relid, gpadl, 0, pages as u32)), 0);
    let res = recv(h).expect("OPENCHANNEL_RESULT");
    let mut want = vec![6, 0, 0, 0, 0, 0, 0, 0];
    push32(&mut want, relid);
    push32(&mut want, relid);
    push32(&mut want, 0);
    assert_eq!(res, want);
    Chan {
        relid,
        conn,
        base,
        out_pages: pages,
        in_pages: pages,
        gpadl,
        next_id: 1,
    }
}

/// True if event flag `relid` is set in SIEFP's SINT2 bitmap; clears it.
pub fn take_event(h: &mut TestHost, relid: u32) -> bool {
    let gpa = SIEFP + 0x200 + u64::from(relid / 8);
    let b = read(h, gpa, 1)[0];
    let bit = 1u8 << (relid % 8);
    write(h, gpa, &[b & !bit]);
    b & bit != 0
}
