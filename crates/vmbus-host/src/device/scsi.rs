//! SCSI command emulation over a RAM disk for storvsp (sheet §6.4).
//!
//! Block size 512. The commands a guest needs to find, size, read and
//! write a disk: TEST UNIT READY, REQUEST SENSE, INQUIRY (standard and VPD
//! 0x00/0x80/0x83), MODE SENSE(6/10), READ CAPACITY(10/16), READ/WRITE(10/16),
//! SYNCHRONIZE CACHE(10/16), REPORT LUNS. CDB fields are big-endian (SBC/SPC).

use alloc::vec::Vec;

use super::{DeviceError, DeviceIo};
use crate::packet::GpaRange;
use crate::wire::{be16_at, be32_at, be64_at};

/// Bytes per sector.
pub const SECTOR: u64 = 512;

/// SRB status codes (§6.4).
pub(crate) mod srb {
    pub const SUCCESS: u8 = 0x01;
    pub const ERROR: u8 = 0x04;
    pub const INVALID_REQUEST: u8 = 0x06;
    pub const INVALID_LUN: u8 = 0x20;
    pub const AUTOSENSE_VALID: u8 = 0x80;
}

/// SCSI CHECK CONDITION status byte.
const CHECK_CONDITION: u8 = 0x02;
/// Sense key ILLEGAL REQUEST (SPC).
const ILLEGAL_REQUEST: u8 = 0x05;
/// ASC: invalid command operation code.
const ASC_INVALID_OPCODE: u8 = 0x20;
/// ASC: logical block address out of range.
const ASC_LBA_OUT_OF_RANGE: u8 = 0x21;
/// ASC: invalid field in CDB.
const ASC_INVALID_FIELD: u8 = 0x24;

/// The outcome of one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub srb_status: u8,
    pub scsi_status: u8,
    pub sense: Option<[u8; 18]>,
    pub moved: u32,
}

impl Outcome {
    fn good(moved: u32) -> Self {
        Outcome {
            srb_status: srb::SUCCESS,
            scsi_status: 0,
            sense: None,
            moved,
        }
    }

    fn check(asc: u8) -> Self {
        Outcome {
            srb_status: srb::ERROR | srb::AUTOSENSE_VALID,
            scsi_status: CHECK_CONDITION,
            sense: Some(fixed_sense(ILLEGAL_REQUEST, asc)),
            moved: 0,
        }
    }

    pub(crate) fn status(srb_status: u8) -> Self {
        Outcome {
            srb_status,
            scsi_status: 0,
            sense: None,
            moved: 0,
        }
    }
}

/// Fixed-format sense data, 18 bytes (SPC: response code 0x70,
/// additional length 10).
fn fixed_sense(key: u8, asc: u8) -> [u8; 18] {
    let mut s = [0u8; 18];
    s[0] = 0x70;
    s[2] = key;
    s[7] = 10;
    s[12] = asc;
    s
}

/// One request's data buffer: the GPA-direct range and its length.
pub(crate) struct Buffer<'r> {
    pub range: Option<&'r GpaRange>,
    pub len: u32,
    /// data_in: 0 write (to device), 1 read, 2 none (§6.4).
    pub data_in: u8,
}

fn data_in(
    io: &mut DeviceIo<'_>,
    buf: &Buffer<'_>,
    data: &[u8],
    alloc: usize,
) -> Result<Outcome, DeviceError> {
    let n = data.len().min(alloc).min(buf.len as usize);
    if n > 0 {
        let r = buf.range.ok_or(DeviceError::BadRange)?;
        io.write_range(r, 0, &data[..n])?;
    }
    Ok(Outcome::good(n as u32))
}

fn inquiry(cdb: &[u8], sectors: u64) -> Result<Vec<u8>, u8> {
    let evpd = cdb.get(1).copied().unwrap_or(0) & 1 != 0;
    let page = cdb.get(2).copied().unwrap_or(0);
    if !evpd {
        if page != 0 {
            return Err(ASC_INVALID_FIELD);
        }
        // Direct-access disk, SPC-3, response format 2, 36 bytes.
        let mut d = alloc::vec![0u8; 36];
        d[2] = 0x05;
        d[3] = 0x02;
        d[4] = 31;
        d[7] = 0x02; // CmdQue
        d[8..16].copy_from_slice(b"Msft    ");
        d[16..32].copy_from_slice(b"Virtual Disk    ");
        d[32..36].copy_from_slice(b"1.0 ");
        return Ok(d);
    }
    let body: Vec<u8> = match page {
        0x00 => alloc::vec![0x00, 0x80, 0x83],
        0x80 => b"FERRITE-SIM-0001".to_vec(),
        // One NAA-style binary designator derived from the size.
        0x83 => {
            let mut v = alloc::vec![0x01, 0x03, 0x00, 0x08];
            v.extend_from_slice(&(0x6000_0000_0000_0000 | sectors).to_be_bytes());
            v
        }
        _ => return Err(ASC_INVALID_FIELD),
    };
    let mut d = alloc::vec![0x00, page, 0, body.len() as u8];
    d.extend_from_slice(&body);
    Ok(d)
}

/// Runs one CDB against `disk`.
pub(crate) fn execute(
    disk: &mut [u8],
    cdb: &[u8],
    buf: &Buffer<'_>,
    io: &mut DeviceIo<'_>,
) -> Result<Outcome, DeviceError> {
    let sectors = disk.len() as u64 / SECTOR;
    let last = sectors.saturating_sub(1);
    let op = cdb.first().copied().unwrap_or(0xFF);
    let b16 = |o| usize::from(be16_at(cdb, o).unwrap_or(0));
    let b32 = |o| be32_at(cdb, o).unwrap_or(0) as usize;
    match op {
        0x00 | 0x35 | 0x91 => Ok(Outcome::good(0)),
        0x03 => {
            let s = fixed_sense(0, 0);
            data_in(io, buf, &s, usize::from(cdb.get(4).copied().unwrap_or(0)))
        }
        0x12 => match inquiry(cdb, sectors) {
            Ok(d) => data_in(io, buf, &d, b16(3)),
            Err(asc) => Ok(Outcome::check(asc)),
        },
        0x1A => data_in(
            io,
            buf,
            &[3, 0, 0, 0],
            usize::from(cdb.get(4).copied().unwrap_or(0)),
        ),
        0x5A => data_in(io, buf, &[0, 6, 0, 0, 0, 0, 0, 0], b16(7)),
        0x25 => {
            let mut d = [0u8; 8];
            d[..4].copy_from_slice(&(last.min(0xFFFF_FFFF) as u32).to_be_bytes());
            d[4..].copy_from_slice(&(SECTOR as u32).to_be_bytes());
            data_in(io, buf, &d, 8)
        }
        0x9E if cdb.get(1).copied().unwrap_or(0) & 0x1F == 0x10 => {
            let mut d = [0u8; 32];
            d[..8].copy_from_slice(&last.to_be_bytes());
            d[8..12].copy_from_slice(&(SECTOR as u32).to_be_bytes());
            data_in(io, buf, &d, b32(10))
        }
        0xA0 => {
            let mut d = [0u8; 16];
            d[3] = 8; // one LUN: LUN 0
            data_in(io, buf, &d, b32(6))
        }
        0x28 | 0x2A | 0x88 | 0x8A => {
            let (lba, count) = if op & 0x80 == 0 {
                (u64::from(be32_at(cdb, 2).unwrap_or(0)), b16(7) as u64)
            } else {
                (be64_at(cdb, 2).unwrap_or(u64::MAX), b32(10) as u64)
            };
            let write = op & 0x02 != 0;
            rw(disk, lba, count, write, buf, io)
        }
        _ => Ok(Outcome::check(ASC_INVALID_OPCODE)),
    }
}

fn rw(
    disk: &mut [u8],
    lba: u64,
    count: u64,
    write: bool,
    buf: &Buffer<'_>,
    io: &mut DeviceIo<'_>,
) -> Result<Outcome, DeviceError> {
    let sectors = disk.len() as u64 / SECTOR;
    if lba.checked_add(count).is_none_or(|end| end > sectors) {
        return Ok(Outcome::check(ASC_LBA_OUT_OF_RANGE));
    }
    if buf.data_in != if write { 0 } else { 1 } && count != 0 {
        return Ok(Outcome::status(srb::INVALID_REQUEST));
    }
    let bytes = count * SECTOR;
    if bytes > u64::from(buf.len) {
        return Ok(Outcome::check(ASC_INVALID_FIELD));
    }
    if bytes == 0 {
        return Ok(Outcome::good(0));
    }
    let r = buf.range.ok_or(DeviceError::BadRange)?;
    let start = (lba * SECTOR) as usize;
    let area = &mut disk[start..start + bytes as usize];
    if write {
        io.read_range(r, 0, area)?;
    } else {
        io.write_range(r, 0, area)?;
    }
    Ok(Outcome::good(bytes as u32))
}
