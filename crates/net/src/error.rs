//! The network stack's error type.

use core::fmt;

/// Why a stack call failed. Every call reports misuse and network trouble
/// here; none panics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetError {
    /// No open socket has this id (never issued, or closed).
    BadSocket,
    /// The socket is of another kind (a UDP call on a TCP id, data calls
    /// on a listener...).
    WrongKind,
    /// All [`crate::MAX_SOCKETS`] socket slots are in use.
    TableFull,
    /// Another socket of the same protocol is bound to the port.
    PortInUse,
    /// Every ephemeral port is in use.
    NoFreePort,
    /// An argument no packet can carry: port 0, the unspecified address,
    /// a broadcast or multicast peer where a unicast one is needed, a
    /// prefix longer than 32 bits.
    InvalidArgument,
    /// The interface has no IPv4 address yet (DHCP still running).
    NoAddress,
    /// The peer is off the local subnet and there is no gateway.
    NoRoute,
    /// The datagram is longer than one packet can carry (no fragmentation).
    TooLarge,
    /// The socket's send buffer is full; poll and try again.
    BufferFull,
    /// The TCP peer closed its side and every byte it sent has been read.
    Closed,
    /// The TCP connection is gone: reset by the peer, refused, or timed out.
    Reset,
    /// The MAC address the device reports is not a unicast address.
    BadMac,
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BadSocket => "no such socket",
            Self::WrongKind => "the socket is of another kind",
            Self::TableFull => "the socket table is full",
            Self::PortInUse => "the port is in use",
            Self::NoFreePort => "no ephemeral port is free",
            Self::InvalidArgument => "invalid address, port or prefix",
            Self::NoAddress => "the interface has no address",
            Self::NoRoute => "no route to the host",
            Self::TooLarge => "the datagram is too large",
            Self::BufferFull => "the send buffer is full",
            Self::Closed => "the peer closed the connection",
            Self::Reset => "the connection was reset",
            Self::BadMac => "the device's MAC address is not unicast",
        })
    }
}
