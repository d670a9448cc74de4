//! SCSI controller (storvsc): vstor packets carrying SCSI requests (§6.4).
//!
//! Init: BEGIN_INITIALIZATION → QUERY_PROTOCOL_VERSION (6.2, 6.0, 5.1 until
//! one succeeds) → QUERY_PROPERTIES → END_INITIALIZATION, each an in-band
//! request with the completion flag, each answered by a COMP packet holding
//! a 64-byte vstor packet (operation COMPLETE_IO, NTSTATUS). Then the driver
//! probes its disk with INQUIRY, TEST UNIT READY and READ CAPACITY (10, then
//! 16 when the disk is too large) into a caller-supplied scratch buffer and
//! reports [`StorvscEvent::DiskReady`]. I/O requests are EXECUTE_SRB packets,
//! GPA-direct with one page range when they move data; completions are
//! matched to a request table by transaction id.

mod driver;
mod error;
mod io;
mod probe;
mod scsi;
mod srb;
mod vstor;

pub use crate::requests::MAX_OUTSTANDING;
pub use driver::{
    RequestId, Storvsc, StorvscConfig, StorvscEvent, StorvscState, PROTOCOL_VERSIONS,
};
pub use error::{IoError, StorvscError};
pub use scsi::{
    decode_sense, Capacity, Command, DataDirection, InquiryData, Sense, SENSE_NOT_READY,
    SENSE_UNIT_ATTENTION,
};
pub use srb::{ScsiRequestBlock, SrbStatus, SRB_LEN};
pub use vstor::{
    ChannelProperties, VstorPacket, OP_BEGIN_INITIALIZATION, OP_COMPLETE_IO, OP_END_INITIALIZATION,
    OP_ENUMERATE_BUS, OP_EXECUTE_SRB, OP_QUERY_PROPERTIES, OP_QUERY_PROTOCOL_VERSION,
    OP_REMOVE_DEVICE, VSTOR_FLAG_REQUEST_COMPLETION, VSTOR_PACKET_LEN,
};
