//! The storvsc state machine: init sequence, disk probe, request table.

use super::io::srb_result;
use super::scsi::INQUIRY_LEN;
use super::scsi::{Command, DataDirection};
use super::srb::ScsiRequestBlock;
use super::vstor::{
    VstorPacket, OP_BEGIN_INITIALIZATION, OP_COMPLETE_IO, OP_END_INITIALIZATION, OP_ENUMERATE_BUS,
    OP_EVENT_NOTIFICATION, OP_EXECUTE_SRB, OP_FCHBA_DATA, OP_QUERY_PROPERTIES, OP_REMOVE_DEVICE,
    VSTOR_PACKET_LEN,
};
use super::{IoError, StorvscError};
use crate::budget::Strikes;
use crate::output::Output;
use crate::packet::{
    GpaRange, Incoming, IncomingKind, Outgoing, OutgoingKind, MAX_GPA_PAGES, PAGE_SIZE,
};
use crate::requests::{RequestTable, MAX_OUTSTANDING};

/// Protocol versions tried, in order (Linux's list: WIN10, WIN8.1, WIN8).
pub const PROTOCOL_VERSIONS: &[u16] = &[0x0602, 0x0600, 0x0501];
/// Largest transfer the driver will describe in one page list.
const MAX_TRANSFER: u32 = ((MAX_GPA_PAGES - 1) * PAGE_SIZE) as u32;

/// Identifies one submitted request in [`StorvscEvent::Completed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// What the kernel tells the driver before it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorvscConfig {
    /// path_id of the disk.
    pub path_id: u8,
    /// target_id of the disk (0 for a Gen2 boot disk, unconfirmed).
    pub target: u8,
    /// LUN of the disk.
    pub lun: u8,
    /// A DMA buffer of at least 36 bytes the driver uses for INQUIRY and
    /// READ CAPACITY during the probe; `handle` must be given its contents.
    pub scratch: GpaRange,
}

/// Where the storvsc driver is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorvscState {
    /// Created; `start` not called yet.
    Idle,
    /// BEGIN_INITIALIZATION sent.
    BeginInit,
    /// QUERY_PROTOCOL_VERSION for `PROTOCOL_VERSIONS[index]` sent.
    QueryVersion {
        /// Index into [`PROTOCOL_VERSIONS`].
        index: usize,
    },
    /// QUERY_PROPERTIES sent.
    QueryProperties,
    /// END_INITIALIZATION sent.
    EndInit,
    /// INQUIRY sent.
    Inquiry,
    /// TEST UNIT READY sent (attempt counts from 0).
    TestUnitReady {
        /// Attempt number.
        attempt: u8,
    },
    /// READ CAPACITY(10) sent.
    ReadCapacity10,
    /// READ CAPACITY(16) sent.
    ReadCapacity16,
    /// The disk takes I/O.
    Ready,
    /// Stopped for good.
    Failed,
}

/// What storvsc reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorvscEvent {
    /// Init and probe done.
    DiskReady {
        /// Bytes per block.
        sector_size: u32,
        /// Number of blocks.
        sectors: u64,
        /// Negotiated protocol version.
        protocol_version: u16,
        /// Largest transfer per request.
        max_transfer_bytes: u32,
    },
    /// A submitted request finished: bytes moved, or why not.
    Completed {
        /// The id `submit` returned.
        id: RequestId,
        /// Bytes actually transferred, or the failure.
        result: Result<u32, IoError>,
    },
    /// The host asked for a rescan (REMOVE_DEVICE / ENUMERATE_BUS).
    BusRescan,
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Purpose {
    Init,
    Probe { expected: u32 },
    User { expected: u32 },
}

/// Guest side of one storvsc channel, driving one disk.
#[derive(Debug)]
pub struct Storvsc {
    pub(super) config: StorvscConfig,
    pub(super) state: StorvscState,
    pub(super) table: RequestTable<Purpose>,
    pub(super) version: u16,
    pub(super) max_transfer: u32,
    pub(super) sector_size: u32,
    pub(super) sectors: u64,
    pub(super) strikes: Strikes,
}

impl Storvsc {
    /// A driver for a freshly opened storvsc channel.
    pub fn new(config: StorvscConfig) -> Self {
        Self {
            config,
            state: StorvscState::Idle,
            table: RequestTable::new(MAX_OUTSTANDING),
            version: 0,
            max_transfer: 0,
            sector_size: 0,
            sectors: 0,
            strikes: Strikes::default(),
        }
    }

    /// Current state.
    pub fn state(&self) -> StorvscState {
        self.state
    }

    /// Requests in flight.
    pub fn outstanding(&self) -> usize {
        self.table.len()
    }

    /// Bytes per block (Ready state).
    pub fn sector_size(&self) -> u32 {
        self.sector_size
    }

    /// Number of blocks (Ready state).
    pub fn sectors(&self) -> u64 {
        self.sectors
    }

    /// Largest transfer per request (after QUERY_PROPERTIES).
    pub fn max_transfer_bytes(&self) -> u32 {
        self.max_transfer
    }

    fn send_init(
        &mut self,
        vp: VstorPacket,
        out: &mut Output<StorvscEvent>,
    ) -> Result<(), StorvscError> {
        let id = self.table.insert(Purpose::Init).ok_or(StorvscError::Busy)?;
        out.send(Outgoing::in_band(id, true, vp.encode()));
        Ok(())
    }

    /// Sends BEGIN_INITIALIZATION.
    pub fn start(&mut self, out: &mut Output<StorvscEvent>) -> Result<(), StorvscError> {
        if self.state != StorvscState::Idle {
            return Err(StorvscError::AlreadyStarted);
        }
        if self.config.scratch.byte_count() < u32::from(INQUIRY_LEN) {
            self.state = StorvscState::Failed;
            return Err(StorvscError::BadScratch);
        }
        self.send_init(VstorPacket::request(OP_BEGIN_INITIALIZATION), out)?;
        self.state = StorvscState::BeginInit;
        Ok(())
    }

    pub(super) fn srb_packet(&self, id: u64, cmd: &Command, buffer: Option<&GpaRange>) -> Outgoing {
        let (cdb, len) = cmd.cdb();
        let c = &self.config;
        let xfer = buffer.map_or(0, GpaRange::byte_count);
        let srb = ScsiRequestBlock::request(
            (0, c.path_id, c.target, c.lun),
            &cdb[..len],
            cmd.direction(),
            xfer,
        );
        let mut vp = VstorPacket::request(OP_EXECUTE_SRB);
        vp.body.copy_from_slice(&srb.encode());
        let kind = match buffer {
            Some(b) => OutgoingKind::GpaDirect(b.clone()),
            None => OutgoingKind::InBand,
        };
        Outgoing {
            kind,
            trans_id: id,
            completion_requested: true,
            payload: vp.encode(),
        }
    }

    pub(super) fn send_probe(
        &mut self,
        cmd: Command,
        state: StorvscState,
        out: &mut Output<StorvscEvent>,
    ) -> Result<(), StorvscError> {
        let buffer = (cmd.direction() != DataDirection::None).then(|| self.config.scratch.clone());
        let expected = buffer.as_ref().map_or(0, GpaRange::byte_count);
        let id = self
            .table
            .insert(Purpose::Probe { expected })
            .ok_or(StorvscError::Busy)?;
        out.send(self.srb_packet(id, &cmd, buffer.as_ref()));
        self.state = state;
        Ok(())
    }

    /// Consumes one packet from the host. `scratch` is the current content
    /// of the configured scratch buffer (read only during the probe).
    pub fn handle(
        &mut self,
        packet: &Incoming<'_>,
        scratch: &[u8],
        out: &mut Output<StorvscEvent>,
    ) -> Result<(), StorvscError> {
        if self.state == StorvscState::Failed {
            return Err(StorvscError::Failed);
        }
        match self.step(packet, scratch, out) {
            Ok(()) => {
                self.strikes.good();
                Ok(())
            }
            Err((e, fatal)) => {
                if self.strikes.strike() || fatal {
                    self.state = StorvscState::Failed;
                }
                Err(e)
            }
        }
    }

    fn step(
        &mut self,
        packet: &Incoming<'_>,
        scratch: &[u8],
        out: &mut Output<StorvscEvent>,
    ) -> Result<(), (StorvscError, bool)> {
        match packet.kind {
            IncomingKind::Completion => self.completion(packet, scratch, out),
            IncomingKind::InBand => self
                .unsolicited(packet.payload, out)
                .map_err(|e| (e, false)),
            _ => Err((StorvscError::WrongPacketKind, false)),
        }
    }

    fn unsolicited(
        &mut self,
        payload: &[u8],
        out: &mut Output<StorvscEvent>,
    ) -> Result<(), StorvscError> {
        let vp = VstorPacket::decode(payload)?;
        match vp.operation {
            OP_REMOVE_DEVICE | OP_ENUMERATE_BUS => {
                out.event(StorvscEvent::BusRescan);
                Ok(())
            }
            OP_FCHBA_DATA | OP_EVENT_NOTIFICATION => Ok(()),
            op => Err(StorvscError::UnexpectedOperation(op)),
        }
    }

    fn completion(
        &mut self,
        packet: &Incoming<'_>,
        scratch: &[u8],
        out: &mut Output<StorvscEvent>,
    ) -> Result<(), (StorvscError, bool)> {
        let id = packet.trans_id;
        let purpose = self
            .table
            .take(id)
            .ok_or((StorvscError::UnknownCompletion(id), false))?;
        let init = !matches!(purpose, Purpose::User { .. });
        let bad = |e: StorvscError, out: &mut Output<StorvscEvent>| {
            if !init {
                out.event(StorvscEvent::Completed {
                    id: RequestId(id),
                    result: Err(IoError::BadReply),
                });
            }
            // A broken reply during init leaves nothing to continue with.
            (e, init)
        };
        if packet.payload.len() < VSTOR_PACKET_LEN {
            return Err(bad(StorvscError::ShortReply(packet.payload.len()), out));
        }
        let vp = VstorPacket::decode(packet.payload).map_err(|e| bad(e.into(), out))?;
        if vp.operation != OP_COMPLETE_IO {
            return Err(bad(StorvscError::NotCompleteIo(vp.operation), out));
        }
        match purpose {
            Purpose::User { expected } => {
                if self.state != StorvscState::Ready {
                    return Err((StorvscError::Unexpected(self.state), false));
                }
                out.event(StorvscEvent::Completed {
                    id: RequestId(id),
                    result: srb_result(&vp, expected),
                });
                Ok(())
            }
            Purpose::Init => self.init_step(&vp, out).map_err(|e| (e, true)),
            Purpose::Probe { expected } => {
                let result = srb_result(&vp, expected);
                self.probe_step(result, scratch, out).map_err(|e| (e, true))
            }
        }
    }

    fn init_step(
        &mut self,
        vp: &VstorPacket,
        out: &mut Output<StorvscEvent>,
    ) -> Result<(), StorvscError> {
        let failed = |operation| StorvscError::InitFailed {
            operation,
            status: vp.status,
        };
        match self.state {
            StorvscState::BeginInit => {
                if vp.status != 0 {
                    return Err(failed(OP_BEGIN_INITIALIZATION));
                }
                self.send_init(VstorPacket::query_version(PROTOCOL_VERSIONS[0]), out)?;
                self.state = StorvscState::QueryVersion { index: 0 };
            }
            StorvscState::QueryVersion { index } => {
                if vp.status != 0 {
                    // 0xC0000059 revision mismatch: try the next version.
                    let next = index + 1;
                    let version = *PROTOCOL_VERSIONS.get(next).ok_or(StorvscError::NoVersion)?;
                    self.send_init(VstorPacket::query_version(version), out)?;
                    self.state = StorvscState::QueryVersion { index: next };
                    return Ok(());
                }
                self.version = PROTOCOL_VERSIONS.get(index).copied().unwrap_or(0);
                self.send_init(VstorPacket::request(OP_QUERY_PROPERTIES), out)?;
                self.state = StorvscState::QueryProperties;
            }
            StorvscState::QueryProperties => {
                if vp.status != 0 {
                    return Err(failed(OP_QUERY_PROPERTIES));
                }
                let max = vp.properties().max_transfer_bytes;
                if (max as usize) < PAGE_SIZE {
                    return Err(StorvscError::BadProperties(max));
                }
                self.max_transfer = max.min(MAX_TRANSFER);
                self.send_init(VstorPacket::request(OP_END_INITIALIZATION), out)?;
                self.state = StorvscState::EndInit;
            }
            StorvscState::EndInit => {
                if vp.status != 0 {
                    return Err(failed(OP_END_INITIALIZATION));
                }
                self.send_probe(
                    Command::Inquiry {
                        alloc_len: INQUIRY_LEN,
                    },
                    StorvscState::Inquiry,
                    out,
                )?;
            }
            state => return Err(StorvscError::Unexpected(state)),
        }
        Ok(())
    }
}
