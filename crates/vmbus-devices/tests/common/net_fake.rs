//! A netvsc host with receive/send buffers in "guest memory" (§6.5, §8.3):
//! answers NVSP, reads RNDIS from send sections, replies via type-7 packets.

use super::{rd32, xfer_packet, Bytes};
use vmbus_devices::netvsc::{NetBuffers, Netvsc, NetvscConfig, NetvscError, NetvscEvent};
use vmbus_devices::{Incoming, Outgoing, OutgoingKind, Output};

pub const RECV_LEN: usize = 64 * 1806;
pub const SEND_LEN: usize = 8 * 6144;
pub const SUB: u32 = 1806;
pub const MAC: [u8; 6] = [0x00, 0x15, 0x5D, 0x01, 0x02, 0x03];

pub struct Host {
    pub recv: Vec<u8>,
    pub send: Vec<u8>,
    pub next_sub: u32,
    pub max_version: u32,
    pub section: [u32; 4],
    pub send_section: u32,
    pub mac: [u8; 6],
    pub frame_size: Option<u32>,
    pub link: u32,
    /// Guest NVSP messages in order (type, payload).
    pub seen: Vec<(u32, Vec<u8>, bool)>,
    /// RNDIS messages the guest put in send sections.
    pub rndis: Vec<Vec<u8>>,
    /// Guest completions of type-7 packets: (trans_id, payload).
    pub completions: Vec<(u64, Vec<u8>)>,
}

pub fn comp(id: u64, payload: &[u8]) -> Vec<u8> {
    super::comp_packet(id, payload)
}

impl Host {
    pub fn new() -> Self {
        Self {
            recv: vec![0; RECV_LEN],
            send: vec![0; SEND_LEN],
            next_sub: 0,
            max_version: 0x0005_0000,
            section: [0, SUB, 64, 64 * SUB],
            send_section: 6144,
            mac: MAC,
            frame_size: Some(1500),
            link: 0,
            seen: Vec::new(),
            rndis: Vec::new(),
            completions: Vec::new(),
        }
    }

    /// Writes an RNDIS message into the next sub-allocation and returns the
    /// type-7 packet announcing it (range = the whole sub-allocation).
    pub fn deliver(&mut self, channel_type: u32, msg: &[u8]) -> Vec<u8> {
        let sub = self.next_sub % 64;
        self.next_sub += 1;
        let off = (sub * SUB) as usize;
        self.recv[off..off + msg.len()].copy_from_slice(msg);
        let nvsp = Bytes::new()
            .u32(107)
            .u32(channel_type)
            .u32(0xFFFF_FFFF)
            .u32(0)
            .zeros(12)
            .done();
        xfer_packet(
            u64::from(sub),
            0xCAFE,
            &[(msg.len() as u32, sub * SUB)],
            &nvsp,
        )
    }

    pub fn answer(&mut self, o: &Outgoing) -> Vec<Vec<u8>> {
        if o.kind == OutgoingKind::Completion {
            self.completions.push((o.trans_id, o.payload.clone()));
            return vec![];
        }
        assert_eq!(o.kind, OutgoingKind::InBand);
        let p = &o.payload;
        let ty = rd32(p, 0);
        self.seen.push((ty, p.clone(), o.completion_requested));
        match ty {
            1 => {
                let ok = rd32(p, 8) <= self.max_version;
                // OpenVMM answers NONE (0), not FAILURE, when it refuses.
                vec![comp(
                    o.trans_id,
                    &Bytes::new()
                        .u32(2)
                        .u32(0xFFFF_FFFF)
                        .u32(34)
                        .u32(ok as u32)
                        .done(),
                )]
            }
            100 | 125 => vec![],
            101 => {
                let [a, b, c, d] = self.section;
                vec![comp(
                    o.trans_id,
                    &Bytes::new()
                        .u32(102)
                        .u32(1)
                        .u32(1)
                        .u32(a)
                        .u32(b)
                        .u32(c)
                        .u32(d)
                        .done(),
                )]
            }
            104 => vec![comp(
                o.trans_id,
                &Bytes::new().u32(105).u32(1).u32(self.send_section).done(),
            )],
            107 => {
                let (idx, size) = (rd32(p, 8) as usize, rd32(p, 12) as usize);
                let at = idx * self.send_section as usize;
                let msg = self.send[at..at + size].to_vec();
                self.rndis.push(msg.clone());
                let done = comp(o.trans_id, &Bytes::new().u32(108).u32(1).done());
                let req = rd32(&msg, 8);
                let reply = match rd32(&msg, 0) {
                    2 => init_cmplt(req),
                    4 => match rd32(&msg, 12) {
                        0x0101_0101 => query_cmplt(req, 0, &self.mac),
                        0x0001_0106 => match self.frame_size {
                            Some(f) => query_cmplt(req, 0, &f.to_le_bytes()),
                            None => query_cmplt(req, 0x0001_0001, &[]),
                        },
                        0x0001_0114 => query_cmplt(req, 0, &self.link.to_le_bytes()),
                        oid => panic!("query {oid:#x}"),
                    },
                    5 => {
                        assert_eq!(rd32(&msg, 12), 0x0001_010E);
                        assert_eq!(rd32(&msg, 8 + 20), 0xD);
                        set_cmplt(req)
                    }
                    1 => return vec![done],
                    t => panic!("rndis {t:#x}"),
                };
                // The reply overtakes the completion of the request.
                vec![self.deliver(1, &reply), done]
            }
            t => panic!("nvsp {t}"),
        }
    }
}

/// INITIALIZE_CMPLT as OpenVMM sends it (§6.5).
pub fn init_cmplt(req: u32) -> Vec<u8> {
    Bytes::new()
        .u32(0x8000_0002)
        .u32(52)
        .u32(req)
        .u32(0)
        .u32(1)
        .u32(0)
        .u32(1)
        .u32(0)
        .u32(8)
        .u32(0xEFFF_FFFF)
        .u32(3)
        .u32(0)
        .u32(0)
        .done()
}

/// QUERY_CMPLT with the data right after the fields (offset 16).
pub fn query_cmplt(req: u32, status: u32, data: &[u8]) -> Vec<u8> {
    Bytes::new()
        .u32(0x8000_0004)
        .u32(24 + data.len() as u32)
        .u32(req)
        .u32(status)
        .u32(data.len() as u32)
        .u32(16)
        .raw(data)
        .done()
}

/// SET_CMPLT, success.
pub fn set_cmplt(req: u32) -> Vec<u8> {
    Bytes::new().u32(0x8000_0005).u32(16).u32(req).u32(0).done()
}

/// INDICATE_STATUS without a status buffer.
pub fn indicate(status: u32) -> Vec<u8> {
    Bytes::new().u32(7).u32(20).u32(status).u32(0).u32(0).done()
}

pub fn config() -> NetvscConfig {
    NetvscConfig::new(0x100, RECV_LEN as u32, 0x200, SEND_LEN as u32)
}

pub fn feed(
    nic: &mut Netvsc,
    host: &mut Host,
    packet: &[u8],
    out: &mut Output<NetvscEvent>,
) -> Result<(), NetvscError> {
    let inc = Incoming::parse(packet).unwrap();
    let mut bufs = NetBuffers {
        recv: &host.recv,
        send: &mut host.send,
    };
    nic.handle(&inc, &mut bufs, out)
}

pub fn pump(
    nic: &mut Netvsc,
    host: &mut Host,
    out: &mut Output<NetvscEvent>,
) -> Result<Vec<NetvscEvent>, NetvscError> {
    let mut events = Vec::new();
    loop {
        let sends = std::mem::take(&mut out.sends);
        if sends.is_empty() {
            break;
        }
        for s in &sends {
            for reply in host.answer(s) {
                feed(nic, host, &reply, out)?;
            }
        }
        events.append(&mut out.events);
    }
    Ok(events)
}

pub fn ready(host: &mut Host) -> (Netvsc, Vec<NetvscEvent>) {
    let mut nic = Netvsc::new(config());
    let mut out = Output::new();
    nic.start(&mut out).unwrap();
    let events = pump(&mut nic, host, &mut out).unwrap();
    (nic, events)
}

/// A PACKET_MSG filling one sub-allocation, with one checksum PPI and an
/// `n`-byte frame, laid out like OpenVMM's receive path.
pub fn rx_packet_bytes(n: usize) -> Vec<u8> {
    let ppi = Bytes::new().u32(16).u32(0).u32(12).u32(0x28).done();
    Bytes::new()
        .u32(1)
        .u32(SUB)
        .u32(36 + 16)
        .u32(n as u32)
        .u32(0)
        .u32(0)
        .u32(0)
        .u32(36)
        .u32(16)
        .u32(0)
        .u32(0)
        .raw(&ppi)
        .raw(&vec![0x5A; n])
        .zeros(SUB as usize - 60 - n)
        .done()
}

/// A received PACKET_MSG laid out like OpenVMM's: message_length = the
/// whole sub-allocation, checksum (+ VLAN) PPI right after the body.
pub fn rx_packet(frame: &[u8], vlan: Option<u32>) -> Vec<u8> {
    let mut ppi = Bytes::new().u32(16).u32(0).u32(12).u32(0x0000_0028);
    if let Some(v) = vlan {
        ppi = ppi.u32(16).u32(6).u32(12).u32(v);
    }
    let ppi = ppi.done();
    let data_offset = 36 + ppi.len() as u32;
    Bytes::new()
        .u32(1)
        .u32(SUB)
        .u32(data_offset)
        .u32(frame.len() as u32)
        .u32(0)
        .u32(0)
        .u32(0)
        .u32(36)
        .u32(ppi.len() as u32)
        .u32(0)
        .u32(0)
        .raw(&ppi)
        .raw(frame)
        .zeros(SUB as usize - 44 - ppi.len() - frame.len())
        .done()
}

/// An `n`-byte test frame with a recognisable pattern.
pub fn frame(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 256) as u8).collect()
}
