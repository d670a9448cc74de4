//! A storvsc host with a RAM disk in flat "guest memory" (§6.4, §8.3),
//! answering by reading the guest's packet bytes at the sheet's offsets.

use super::{rd16, rd32, rd64, Bytes};
use vmbus_devices::storvsc::{
    IoError, RequestId, Storvsc, StorvscConfig, StorvscError, StorvscEvent,
};
use vmbus_devices::{GpaRange, Incoming, Outgoing, Output};

pub const SCRATCH: u64 = 0x1000;
pub const MEM: usize = 4 << 20;

/// The host side: guest memory, a RAM disk, and knobs for failure paths.
pub struct Host {
    pub mem: Vec<u8>,
    pub disk: Vec<u8>,
    /// Report this last LBA instead of the RAM disk's.
    pub last_lba: Option<u64>,
    pub unit_attentions: u32,
    pub refuse_versions: Vec<u16>,
    pub no_lun: bool,
    pub medium_error_at: Option<u64>,
    pub seen_cdbs: Vec<u8>,
}

impl Host {
    pub fn new(sectors: usize) -> Self {
        Self {
            mem: vec![0; MEM],
            disk: (0..sectors * 512).map(|i| (i * 7 % 251) as u8).collect(),
            last_lba: None,
            unit_attentions: 2,
            // OpenVMM refuses 6.2 with REVISION_MISMATCH (§6.4).
            refuse_versions: vec![0x0602],
            no_lun: false,
            medium_error_at: None,
            seen_cdbs: Vec::new(),
        }
    }

    pub fn scratch(&self) -> &[u8] {
        &self.mem[SCRATCH as usize..SCRATCH as usize + 64]
    }

    /// Answers one guest packet with a completion image (§4.3 + §6.4),
    /// reading the guest's bytes by offset as the sheet lays them out.
    pub fn answer(&mut self, o: &Outgoing) -> Vec<u8> {
        let img = o.encode().unwrap();
        let ptype = rd16(&img, 0);
        let offset8 = rd16(&img, 2) as usize;
        assert_eq!(
            rd16(&img, 6) & 1,
            1,
            "OpenVMM stops on a packet without completion flag"
        );
        let trans_id = rd64(&img, 8);
        assert_ne!(trans_id, 0);
        let buf = if ptype == 9 {
            assert_eq!(rd32(&img, 0x14), 1, "exactly one range");
            let count = rd32(&img, 0x18) as usize;
            let off = rd32(&img, 0x1C) as usize;
            let pfn = rd64(&img, 0x20) as usize;
            Some((pfn * 4096 + off, count))
        } else {
            assert_eq!(ptype, 6);
            None
        };
        let req = &img[offset8 * 8..];
        assert_eq!(req.len(), 64, "vstor packets are 64 bytes");
        assert_eq!(rd32(req, 4) & 1, 1, "REQUEST_COMPLETION flag");
        let mut reply = req.to_vec();
        reply[0..4].copy_from_slice(&1u32.to_le_bytes());
        reply[4..8].copy_from_slice(&0u32.to_le_bytes());
        let status: u32 = match rd32(req, 0) {
            7 | 8 => 0,
            9 => {
                if self.refuse_versions.contains(&rd16(req, 12)) {
                    0xC000_0059
                } else {
                    0
                }
            }
            10 => {
                reply[12..36].fill(0);
                reply[16..18].copy_from_slice(&1u16.to_le_bytes());
                reply[24..28].copy_from_slice(&0x40000u32.to_le_bytes());
                0
            }
            3 => {
                self.srb(&mut reply[12..64], buf);
                0
            }
            op => panic!("unexpected operation {op}"),
        };
        reply[8..12].copy_from_slice(&status.to_le_bytes());
        Bytes::new()
            .u16(0x0B)
            .u16(2)
            .u16(10)
            .u16(0)
            .u64(trans_id)
            .raw(&reply)
            .done()
    }

    fn check_condition(srb: &mut [u8], key: u8, asc: u8) {
        srb[2] = 0x04 | 0x80;
        srb[3] = 0x02;
        srb[12..16].copy_from_slice(&0u32.to_le_bytes());
        let mut sense = [0u8; 20];
        sense[0] = 0x70;
        sense[2] = key;
        sense[7] = 10;
        sense[12] = asc;
        srb[16..36].copy_from_slice(&sense);
    }

    fn srb(&mut self, srb: &mut [u8], buf: Option<(usize, usize)>) {
        let cdb: Vec<u8> = srb[16..32].to_vec();
        self.seen_cdbs.push(cdb[0]);
        let xfer = rd32(srb, 12) as usize;
        if let Some((_, n)) = buf {
            assert_eq!(n, xfer, "range covers data_transfer_length");
        }
        if self.no_lun {
            srb[2] = 0x20;
            return;
        }
        srb[2] = 0x01;
        srb[3] = 0;
        let be32 = |b: &[u8]| u32::from_be_bytes(b.try_into().unwrap()) as u64;
        let sectors = (self.disk.len() / 512) as u64;
        let mut data: Vec<u8> = Vec::new();
        match cdb[0] {
            0x12 => {
                data = vec![0; 36];
                data[2] = 5;
                data[4] = 31;
                data[8..16].copy_from_slice(b"Msft    ");
                data[16..32].copy_from_slice(b"Virtual Disk    ");
            }
            0x00 => {
                if self.unit_attentions > 0 {
                    self.unit_attentions -= 1;
                    return Self::check_condition(srb, 0x06, 0x29);
                }
            }
            0x25 => {
                let last = self.last_lba.unwrap_or(sectors - 1).min(0xFFFF_FFFF) as u32;
                data = Bytes::new()
                    .raw(&last.to_be_bytes())
                    .raw(&512u32.to_be_bytes())
                    .done();
            }
            0x9E => {
                let last = self.last_lba.unwrap_or(sectors - 1);
                data = Bytes::new()
                    .raw(&last.to_be_bytes())
                    .raw(&512u32.to_be_bytes())
                    .zeros(20)
                    .done();
            }
            0x28 | 0x2A | 0x88 | 0x8A => {
                let (lba, blocks) = if cdb[0] < 0x80 {
                    (
                        be32(&cdb[2..6]),
                        u16::from_be_bytes([cdb[7], cdb[8]]) as u64,
                    )
                } else {
                    (
                        u64::from_be_bytes(cdb[2..10].try_into().unwrap()),
                        be32(&cdb[10..14]),
                    )
                };
                if Some(lba) == self.medium_error_at {
                    return Self::check_condition(srb, 0x03, 0x11);
                }
                let (gpa, n) = buf.unwrap();
                assert_eq!(n as u64, blocks * 512);
                let d = lba as usize * 512..(lba + blocks) as usize * 512;
                if cdb[0] == 0x28 || cdb[0] == 0x88 {
                    self.mem[gpa..gpa + n].copy_from_slice(&self.disk[d]);
                } else {
                    self.disk[d].copy_from_slice(&self.mem[gpa..gpa + n]);
                }
                return;
            }
            0x35 => {}
            op => panic!("unexpected CDB {op:#x}"),
        }
        if let Some((gpa, n)) = buf {
            let k = data.len().min(n);
            self.mem[gpa..gpa + k].copy_from_slice(&data[..k]);
            srb[12..16].copy_from_slice(&(k as u32).to_le_bytes());
        }
    }
}

pub fn config() -> StorvscConfig {
    StorvscConfig {
        path_id: 0,
        target: 0,
        lun: 0,
        scratch: GpaRange::contiguous(SCRATCH, 64).unwrap(),
    }
}

/// Feeds every packet the driver sends to the host and the answers back,
/// until the driver is quiet; returns the events.
pub fn pump(
    d: &mut Storvsc,
    host: &mut Host,
    mut out: Output<StorvscEvent>,
) -> Result<Vec<StorvscEvent>, StorvscError> {
    let mut events = Vec::new();
    while !out.sends.is_empty() {
        let sends = std::mem::take(&mut out.sends);
        for s in &sends {
            let reply = host.answer(s);
            let inc = Incoming::parse(&reply).unwrap();
            let scratch = host.scratch().to_vec();
            d.handle(&inc, &scratch, &mut out)?;
        }
        events.append(&mut out.events);
    }
    Ok(events)
}

pub fn ready(host: &mut Host) -> (Storvsc, Vec<StorvscEvent>) {
    let mut d = Storvsc::new(config());
    let mut out = Output::new();
    d.start(&mut out).unwrap();
    let events = pump(&mut d, host, out).unwrap();
    (d, events)
}

pub fn io(d: &mut Storvsc, host: &mut Host, req: (RequestId, Outgoing)) -> Result<u32, IoError> {
    let (id, pkt) = req;
    let mut out = Output::new();
    out.sends.push(pkt);
    let ev = pump(d, host, out).unwrap();
    match ev[..] {
        [StorvscEvent::Completed { id: got, result }] if got == id => result,
        _ => panic!("{ev:?}"),
    }
}
