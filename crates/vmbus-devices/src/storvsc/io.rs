//! storvsc I/O in the Ready state: SCSI commands, READ/WRITE with the 10-
//! or 16-byte CDB, cache flush, and reading an SRB completion.

use super::driver::{Purpose, RequestId, Storvsc, StorvscState};
use super::scsi::{decode_sense, Command, DataDirection, READ_CAPACITY10_LEN, READ_CAPACITY16_LEN};
use super::srb::{ScsiRequestBlock, SrbStatus, SRB_LEN};
use super::vstor::VstorPacket;
use super::{IoError, StorvscError};
use crate::packet::{GpaRange, Outgoing};

/// The result of a completed EXECUTE_SRB: bytes moved (at most
/// `expected`) or why not.
pub(super) fn srb_result(vp: &VstorPacket, expected: u32) -> Result<u32, IoError> {
    let mut raw = [0u8; SRB_LEN];
    raw.copy_from_slice(&vp.body);
    let srb = ScsiRequestBlock::decode(&raw);
    let code = srb.srb_status.code();
    if (code == SrbStatus::SUCCESS || code == SrbStatus::DATA_OVERRUN) && srb.scsi_status == 0 {
        return Ok(srb.data_transfer_length.min(expected));
    }
    // Linux's rule (§6.4): sense only with CHECK CONDITION and autosense.
    let sense = (srb.scsi_status == 0x02 && srb.srb_status.autosense_valid())
        .then(|| decode_sense(&srb.cdb_or_sense))
        .flatten();
    Err(IoError::Scsi {
        srb_status: srb.srb_status,
        scsi_status: srb.scsi_status,
        ntstatus: vp.status,
        sense,
    })
}

impl Storvsc {
    /// Submits a SCSI command (Ready state). Commands with a data phase need
    /// `buffer`; READ/WRITE must stay inside the disk and move exactly
    /// blocks × sector size bytes.
    pub fn submit(
        &mut self,
        cmd: Command,
        buffer: Option<GpaRange>,
    ) -> Result<(RequestId, Outgoing), StorvscError> {
        if self.state != StorvscState::Ready {
            return Err(StorvscError::NotReady);
        }
        let len = match (&buffer, cmd.direction()) {
            (None, DataDirection::None) => 0,
            (Some(b), DataDirection::ToDevice | DataDirection::FromDevice) => b.byte_count(),
            _ => return Err(StorvscError::BadRequest),
        };
        if len > self.max_transfer {
            return Err(StorvscError::BadRequest);
        }
        if let (Some(lba), Some(blocks)) = (cmd.lba(), cmd.blocks()) {
            let end = lba.checked_add(blocks).ok_or(StorvscError::BadRequest)?;
            if blocks == 0
                || end > self.sectors
                || blocks * u64::from(self.sector_size) != u64::from(len)
            {
                return Err(StorvscError::BadRequest);
            }
        }
        let min = match cmd {
            Command::ReadCapacity10 => READ_CAPACITY10_LEN,
            Command::ReadCapacity16 => READ_CAPACITY16_LEN,
            Command::Inquiry { alloc_len } => u32::from(alloc_len),
            _ => 0,
        };
        if len < min {
            return Err(StorvscError::BadRequest);
        }
        let id = self
            .table
            .insert(Purpose::User { expected: len })
            .ok_or(StorvscError::Busy)?;
        Ok((RequestId(id), self.srb_packet(id, &cmd, buffer.as_ref())))
    }

    /// READ `blocks` blocks from `lba` into `buffer`, choosing READ(10) when
    /// it can express the request, else READ(16).
    pub fn read(
        &mut self,
        lba: u64,
        blocks: u32,
        buffer: GpaRange,
    ) -> Result<(RequestId, Outgoing), StorvscError> {
        let cmd = match (u32::try_from(lba), u16::try_from(blocks)) {
            (Ok(l), Ok(b)) if lba + u64::from(blocks) <= 1 << 32 => {
                Command::Read10 { lba: l, blocks: b }
            }
            _ => Command::Read16 { lba, blocks },
        };
        self.submit(cmd, Some(buffer))
    }

    /// WRITE `blocks` blocks at `lba` from `buffer` (WRITE(10) or (16)).
    pub fn write(
        &mut self,
        lba: u64,
        blocks: u32,
        buffer: GpaRange,
    ) -> Result<(RequestId, Outgoing), StorvscError> {
        let cmd = match (u32::try_from(lba), u16::try_from(blocks)) {
            (Ok(l), Ok(b)) if lba + u64::from(blocks) <= 1 << 32 => {
                Command::Write10 { lba: l, blocks: b }
            }
            _ => Command::Write16 { lba, blocks },
        };
        self.submit(cmd, Some(buffer))
    }

    /// SYNCHRONIZE CACHE(10) of the whole disk.
    pub fn flush(&mut self) -> Result<(RequestId, Outgoing), StorvscError> {
        self.submit(Command::SynchronizeCache10, None)
    }
}
