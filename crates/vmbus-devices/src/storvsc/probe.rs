//! The disk probe after END_INITIALIZATION: INQUIRY, TEST UNIT READY,
//! READ CAPACITY (10, then 16), all into the configured scratch buffer.

use super::driver::{Storvsc, StorvscEvent, StorvscState};
use super::scsi::{
    Capacity, Command, InquiryData, READ_CAPACITY10_LEN, SENSE_NOT_READY, SENSE_UNIT_ATTENTION,
};
use super::srb::SrbStatus;
use super::{IoError, StorvscError};
use crate::output::Output;

/// TEST UNIT READY attempts while the disk reports UNIT ATTENTION or NOT
/// READY (a fresh disk reports UNIT ATTENTION once after reset).
const TUR_ATTEMPTS: u8 = 8;

impl Storvsc {
    pub(super) fn probe_step(
        &mut self,
        result: Result<u32, IoError>,
        scratch: &[u8],
        out: &mut Output<StorvscEvent>,
    ) -> Result<(), StorvscError> {
        let data = scratch
            .get(..self.config.scratch.byte_count() as usize)
            .ok_or(StorvscError::BadScratch)?;
        match self.state {
            StorvscState::Inquiry => {
                let n = match result {
                    Ok(n) => n,
                    Err(IoError::Scsi { srb_status, .. })
                        if matches!(
                            srb_status.code(),
                            SrbStatus::INVALID_LUN | SrbStatus::SELECTION_TIMEOUT
                        ) =>
                    {
                        return Err(StorvscError::NoDevice)
                    }
                    Err(e) => return Err(StorvscError::ProbeFailed(e)),
                };
                let inq = InquiryData::parse(data)
                    .filter(|_| n >= 1)
                    .ok_or(StorvscError::BadScratch)?;
                if inq.qualifier != 0 || inq.device_type != 0 {
                    return Err(StorvscError::NotADisk {
                        qualifier: inq.qualifier,
                        device_type: inq.device_type,
                    });
                }
                self.send_probe(
                    Command::TestUnitReady,
                    StorvscState::TestUnitReady { attempt: 0 },
                    out,
                )
            }
            StorvscState::TestUnitReady { attempt } => match result {
                Ok(_) => {
                    self.send_probe(Command::ReadCapacity10, StorvscState::ReadCapacity10, out)
                }
                Err(IoError::Scsi { sense: Some(s), .. })
                    if matches!(s.key, SENSE_UNIT_ATTENTION | SENSE_NOT_READY)
                        && attempt + 1 < TUR_ATTEMPTS =>
                {
                    let next = StorvscState::TestUnitReady {
                        attempt: attempt + 1,
                    };
                    self.send_probe(Command::TestUnitReady, next, out)
                }
                Err(e) => Err(StorvscError::ProbeFailed(e)),
            },
            StorvscState::ReadCapacity10 => {
                let n = result.map_err(StorvscError::ProbeFailed)?;
                let cap = Capacity::parse10(data)
                    .filter(|_| n >= READ_CAPACITY10_LEN)
                    .ok_or(StorvscError::BadScratch)?;
                if cap.last_lba == 0xFFFF_FFFF {
                    return self.send_probe(
                        Command::ReadCapacity16,
                        StorvscState::ReadCapacity16,
                        out,
                    );
                }
                self.finish(cap, out)
            }
            StorvscState::ReadCapacity16 => {
                let n = result.map_err(StorvscError::ProbeFailed)?;
                let cap = Capacity::parse16(data)
                    .filter(|_| n >= 12)
                    .ok_or(StorvscError::BadScratch)?;
                self.finish(cap, out)
            }
            state => Err(StorvscError::Unexpected(state)),
        }
    }

    fn finish(
        &mut self,
        cap: Capacity,
        out: &mut Output<StorvscEvent>,
    ) -> Result<(), StorvscError> {
        let bad = StorvscError::BadCapacity {
            last_lba: cap.last_lba,
            block_len: cap.block_len,
        };
        if !cap.block_len.is_power_of_two() || !(512..=65536).contains(&cap.block_len) {
            return Err(bad);
        }
        let sectors = cap.last_lba.checked_add(1).ok_or(bad)?;
        sectors.checked_mul(u64::from(cap.block_len)).ok_or(bad)?;
        self.sector_size = cap.block_len;
        self.sectors = sectors;
        self.state = StorvscState::Ready;
        out.event(StorvscEvent::DiskReady {
            sector_size: cap.block_len,
            sectors,
            protocol_version: self.version,
            max_transfer_bytes: self.max_transfer,
        });
        Ok(())
    }
}
