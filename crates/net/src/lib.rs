//! The network stack: IPv4 over an Ethernet [`NetDevice`], on smoltcp.
//!
//! A [`Stack`] owns one device (virtio-net now, Hyper-V netvsc later), a
//! smoltcp interface and its sockets. The kernel runs it in a network
//! thread: it calls [`Stack::poll`] when the device interrupts or when the
//! delay from [`Stack::poll_delay`] has passed, and threads doing socket
//! calls block until a poll makes their socket ready
//! ([`Stack::can_recv`], [`Stack::can_send`]).
//!
//! - **Addresses**: a DHCPv4 client starts with the stack ([`Stack::lease`];
//!   an expired lease takes the address off the interface), or
//!   [`Stack::set_static`] configures one by hand.
//! - **Ping**: [`Stack::ping`] and [`Stack::take_echo_reply`]; the stack
//!   answers echo requests itself.
//! - **Sockets**: UDP and TCP under small [`SocketId`]s, at most
//!   [`MAX_SOCKETS`], with fixed buffers ([`TCP_BUFFER`] bytes each way per
//!   connection, [`UDP_PACKETS`] datagrams of [`UDP_PACKET_BYTES`]). TCP
//!   listeners accept repeatedly ([`Stack::tcp_listen`]); a closed
//!   connection finishes its FIN exchange in later polls.
//! - **Untrusted frames**: every received frame is checked
//!   ([`check_frame`]) before smoltcp parses it; drops and device errors
//!   are counted in [`Stats`].
//!
//! Every failure is a [`NetError`]; no input or call order panics. Not
//! done: IPv6, IP fragmentation and reassembly, DNS, multicast groups;
//! a changed address does not reset connections made from the old one
//! (they time out).
//! Worst-case memory is bounded: each TCP socket holds two 16 KiB buffers,
//! and a listener holds up to [`BACKLOG`] connections beside its LISTEN
//! socket.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

mod device;
mod error;
mod frame_check;
mod icmp;
mod lease;
pub mod loopback;
mod port;
mod socket;
mod stack;
mod stall;
mod table;
mod tcp;
mod udp;

pub use device::{DeviceError, NetDevice};
pub use error::NetError;
pub use frame_check::{check_frame, internet_checksum, Ignored, Malformation, Verdict};
pub use icmp::{EchoReply, MAX_PINGS};
pub use lease::{Lease, Origin, MAX_DNS_SERVERS};
pub use port::{Stats, MAX_MTU, MIN_MTU, RX_BUDGET};
pub use socket::MAX_LINGERING;
pub use stack::Stack;
pub use stall::STALL_MS;
pub use table::{SocketId, MAX_SOCKETS};
pub use tcp::{TcpState, BACKLOG, TCP_BUFFER, TCP_KEEPALIVE_MS, TCP_TIMEOUT_MS};
pub use udp::{Datagram, UDP_PACKETS, UDP_PACKET_BYTES};

/// smoltcp's wire module, for building and parsing packets in tests and
/// tools (the DHCP server in the host tests uses it).
pub use smoltcp::wire;
