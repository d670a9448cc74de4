//! Network (netvsc): NVSP over VMBus with RNDIS inside (sheet §6.5).
//!
//! Init: NVSP INIT (5, 4, 2, 1 until one succeeds) → SEND_NDIS_CONFIG (v2+)
//! and SEND_NDIS_VERSION (no completion, as Linux) → SEND_RECEIVE_BUFFER and
//! SEND_SEND_BUFFER with GPADL handles the caller created → RNDIS
//! INITIALIZE → QUERY permanent MAC, maximum frame size, media connect
//! status → SET packet filter 0xD → ready. RNDIS messages go out through
//! send-buffer sections; they come in as transfer-page packets pointing
//! into the receive buffer, each range validated against the buffer and
//! the section the host described, and every such packet is completed back
//! to the host so its receive sections are recycled.
//!
//! The kernel glue: [`Netvsc::new`] with a [`NetvscConfig`] (GPADL handles
//! and sizes of both buffers), [`Netvsc::start`], then every received
//! packet to [`Netvsc::handle`] together with the CPU view of the buffers
//! ([`NetBuffers`]); it writes `Output::sends` to the ring and acts on the
//! [`NetvscEvent`]s (`Ready { mac, mtu }`, `Frame`, `LinkUp` / `LinkDown`,
//! `SendComplete`). [`Netvsc::send_frame`] turns an Ethernet frame into a
//! packet to write; [`Netvsc::stop`] revokes the buffers before the channel
//! is closed.
//!
//! A hostile host gets error values: every length, offset and count is
//! checked, copies per packet are capped ([`MAX_RX_BYTES_PER_PACKET`]),
//! tables are bounded, repeated violations stop the driver (see
//! [`crate::budget`]), and a bring-up step that can no longer complete
//! stops it at once, so until Ready or Failed [`Netvsc::awaiting_host`]
//! always holds and a kernel timeout on it catches a silent host.

mod driver;
mod error;
mod init;
mod nvsp;
mod receive;
mod rndis;
mod rndis_packet;
mod sections;
mod teardown;

pub use driver::{
    NetBuffers, Netvsc, NetvscConfig, NetvscEvent, NetvscState, MAX_RX_BYTES_PER_PACKET,
    NVSP_VERSIONS,
};
pub use error::NetvscError;
pub use nvsp::*;
pub use rndis::*;
pub use rndis_packet::{
    decode_packet, encode_packet, PacketInfo, ReceivedFrame, VlanTag, MAX_PPI_RECORDS,
    MIN_FRAME_LEN, PACKET_BODY_LEN, PPI_CHECKSUM, PPI_HASH_VALUE, PPI_HEADER_LEN, PPI_INTERNAL,
    PPI_VLAN,
};
pub use sections::{Sections, MAX_SEND_SECTIONS};
