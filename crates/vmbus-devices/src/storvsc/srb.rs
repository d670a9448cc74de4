//! The vmscsi_request (SRB) inside EXECUTE_SRB packets (§6.4).

use super::scsi::DataDirection;

/// SRB size on Win8+ protocols (0x34).
pub const SRB_LEN: usize = 0x34;
/// Bytes of CDB / sense area at +0x10.
pub const SENSE_AREA_LEN: usize = 0x14;
/// srb_flags DATA_IN.
pub const SRB_FLAGS_DATA_IN: u32 = 0x40;
/// srb_flags DATA_OUT.
pub const SRB_FLAGS_DATA_OUT: u32 = 0x80;
/// srb_flags DISABLE_SYNCH_TRANSFER.
pub const SRB_FLAGS_DISABLE_SYNCH_TRANSFER: u32 = 0x08;
/// Time-out Linux uses, seconds.
pub const SRB_TIMEOUT_SECONDS: u32 = 60;

/// srb_status: bits 5:0 code, bit 6 queue frozen, bit 7 autosense valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SrbStatus(pub u8);

impl SrbStatus {
    /// Code SUCCESS.
    pub const SUCCESS: u8 = 0x01;
    /// Code ABORTED.
    pub const ABORTED: u8 = 0x02;
    /// Code ERROR.
    pub const ERROR: u8 = 0x04;
    /// Code INVALID_REQUEST.
    pub const INVALID_REQUEST: u8 = 0x06;
    /// Code SELECTION_TIMEOUT (no device at that target; Windows srb.h).
    pub const SELECTION_TIMEOUT: u8 = 0x0A;
    /// Code DATA_OVERRUN (in practice: fewer bytes moved than asked).
    pub const DATA_OVERRUN: u8 = 0x12;
    /// Code INVALID_LUN.
    pub const INVALID_LUN: u8 = 0x20;

    /// Bits 5:0.
    pub fn code(self) -> u8 {
        self.0 & 0x3F
    }

    /// Bit 6.
    pub fn queue_frozen(self) -> bool {
        self.0 & 0x40 != 0
    }

    /// Bit 7: the sense area holds sense data.
    pub fn autosense_valid(self) -> bool {
        self.0 & 0x80 != 0
    }
}

/// One vmscsi_request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScsiRequestBlock {
    /// srb_status (reply).
    pub srb_status: SrbStatus,
    /// SCSI status byte (reply; 0x02 CHECK CONDITION).
    pub scsi_status: u8,
    /// port_number.
    pub port: u8,
    /// path_id.
    pub path_id: u8,
    /// target_id.
    pub target_id: u8,
    /// lun.
    pub lun: u8,
    /// cdb_length.
    pub cdb_length: u8,
    /// sense_info_length (request 0x14).
    pub sense_info_length: u8,
    /// data_in: 0 write, 1 read, 2 no data.
    pub data_in: u8,
    /// data_transfer_length (request: buffer; reply: bytes moved).
    pub data_transfer_length: u32,
    /// CDB on request, sense data on reply.
    pub cdb_or_sense: [u8; SENSE_AREA_LEN],
    /// queue_tag.
    pub queue_tag: u8,
    /// queue_action.
    pub queue_action: u8,
    /// srb_flags.
    pub srb_flags: u32,
    /// time_out_value, seconds.
    pub time_out: u32,
    /// queue_sort_key.
    pub queue_sort_key: u32,
}

impl ScsiRequestBlock {
    /// A request the way Linux fills it (matches vector §9.6).
    pub fn request(
        target: (u8, u8, u8, u8),
        cdb: &[u8],
        direction: DataDirection,
        data_transfer_length: u32,
    ) -> Self {
        let mut area = [0u8; SENSE_AREA_LEN];
        let n = cdb.len().min(16);
        area[..n].copy_from_slice(&cdb[..n]);
        let (data_in, dir_flags) = match direction {
            DataDirection::ToDevice => (0, SRB_FLAGS_DATA_OUT),
            DataDirection::FromDevice => (1, SRB_FLAGS_DATA_IN),
            DataDirection::None => (2, 0),
        };
        Self {
            srb_status: SrbStatus(0),
            scsi_status: 0,
            port: target.0,
            path_id: target.1,
            target_id: target.2,
            lun: target.3,
            cdb_length: n as u8,
            sense_info_length: SENSE_AREA_LEN as u8,
            data_in,
            data_transfer_length,
            cdb_or_sense: area,
            queue_tag: 0,
            queue_action: 0,
            srb_flags: dir_flags | SRB_FLAGS_DISABLE_SYNCH_TRANSFER,
            time_out: SRB_TIMEOUT_SECONDS,
            queue_sort_key: 0,
        }
    }

    /// The 52-byte encoding.
    pub fn encode(&self) -> [u8; SRB_LEN] {
        let mut b = [0u8; SRB_LEN];
        b[0..2].copy_from_slice(&(SRB_LEN as u16).to_le_bytes());
        b[2] = self.srb_status.0;
        b[3] = self.scsi_status;
        b[4] = self.port;
        b[5] = self.path_id;
        b[6] = self.target_id;
        b[7] = self.lun;
        b[8] = self.cdb_length;
        b[9] = self.sense_info_length;
        b[10] = self.data_in;
        b[12..16].copy_from_slice(&self.data_transfer_length.to_le_bytes());
        b[16..36].copy_from_slice(&self.cdb_or_sense);
        b[38] = self.queue_tag;
        b[39] = self.queue_action;
        b[40..44].copy_from_slice(&self.srb_flags.to_le_bytes());
        b[44..48].copy_from_slice(&self.time_out.to_le_bytes());
        b[48..52].copy_from_slice(&self.queue_sort_key.to_le_bytes());
        b
    }

    /// Decodes the 52-byte union.
    pub fn decode(b: &[u8; SRB_LEN]) -> Self {
        let u32_at = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        let mut area = [0u8; SENSE_AREA_LEN];
        area.copy_from_slice(&b[16..36]);
        Self {
            srb_status: SrbStatus(b[2]),
            scsi_status: b[3],
            port: b[4],
            path_id: b[5],
            target_id: b[6],
            lun: b[7],
            cdb_length: b[8],
            sense_info_length: b[9],
            data_in: b[10],
            data_transfer_length: u32_at(12),
            cdb_or_sense: area,
            queue_tag: b[38],
            queue_action: b[39],
            srb_flags: u32_at(40),
            time_out: u32_at(44),
            queue_sort_key: u32_at(48),
        }
    }
}
