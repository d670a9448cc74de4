//! The stack: a device, a smoltcp interface, its sockets and the poll loop.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::net::Ipv4Addr;

use smoltcp::iface::SocketSet;
use smoltcp::iface::{Config, Interface, PollIngressSingleResult, PollResult, SocketHandle};
use smoltcp::socket::tcp;
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, HardwareAddress};

use crate::device::NetDevice;
use crate::error::NetError;
use crate::icmp::{EchoReply, IcmpSocket, Outstanding};
use crate::lease::Lease;
use crate::port::{Port, Stats};
use crate::socket::ABORT_GRACE_MS;
use crate::table::Table;

/// First ephemeral port (RFC 6335 §6: 49152-65535).
const EPHEMERAL_FIRST: u16 = 49152;
/// Ephemeral ports there are.
const EPHEMERAL_COUNT: u16 = 16384;

/// A TCP socket the kernel closed that still finishes its handshake.
#[derive(Debug)]
pub(crate) struct Lingering {
    pub handle: SocketHandle,
    /// When to give up and reset it (ms).
    pub deadline: u64,
    /// Reset already: removed once the reset is out, or at the deadline.
    pub aborted: bool,
}

/// A TCP/IP stack over one [`NetDevice`].
///
/// Nothing happens between calls: the owner calls [`Stack::poll`] when the
/// device has frames or the delay from [`Stack::poll_delay`] has passed,
/// and socket calls only queue or take data. Time is the owner's
/// millisecond counter, passed to every poll (and to `new`); it must not go
/// backwards (a smaller value is treated as the last one).
pub struct Stack<D: NetDevice> {
    pub(crate) port: Port<D>,
    pub(crate) iface: Interface,
    pub(crate) sockets: SocketSet<'static>,
    pub(crate) table: Table,
    pub(crate) lingering: Vec<Lingering>,
    pub(crate) dhcp: Option<SocketHandle>,
    pub(crate) lease: Option<Lease>,
    pub(crate) icmp: Option<IcmpSocket>,
    pub(crate) pings: VecDeque<Outstanding>,
    pub(crate) replies: VecDeque<EchoReply>,
    pub(crate) now: u64,
    next_port: u16,
}

pub(crate) fn instant(ms: u64) -> Instant {
    Instant::from_millis(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// SplitMix64 (Steele, Lea, Flood 2014): spreads a weak seed.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl<D: NetDevice> Stack<D> {
    /// A stack over `device` that starts a DHCP client; the random seed
    /// (TCP sequence numbers, DHCP transaction ids, ephemeral ports) comes
    /// from the MAC and `now_ms`. Prefer [`Stack::with_seed`] with a seed
    /// from a hardware source.
    pub fn new(device: D, now_ms: u64) -> Result<Self, NetError> {
        let mac = device.mac();
        let seed = mac.iter().fold(now_ms, |acc, &b| (acc << 8) ^ u64::from(b));
        Self::with_seed(device, now_ms, seed)
    }

    /// A stack over `device` with an explicit random seed; fails with
    /// [`NetError::BadMac`] if the device's MAC is not unicast.
    pub fn with_seed(device: D, now_ms: u64, seed: u64) -> Result<Self, NetError> {
        let mac = EthernetAddress(device.mac());
        if !mac.is_unicast() || mac.0 == [0; 6] {
            return Err(NetError::BadMac);
        }
        let mut port = Port::new(device);
        let mut config = Config::new(HardwareAddress::Ethernet(mac));
        let seed = mix(seed);
        config.random_seed = seed;
        let iface = Interface::new(config, &mut port, instant(now_ms));
        let mut stack = Self {
            port,
            iface,
            sockets: SocketSet::new(Vec::new()),
            table: Table::new(),
            lingering: Vec::new(),
            dhcp: None,
            lease: None,
            icmp: None,
            pings: VecDeque::new(),
            replies: VecDeque::new(),
            now: now_ms,
            next_port: EPHEMERAL_FIRST + (seed >> 48) as u16 % EPHEMERAL_COUNT,
        };
        stack.start_dhcp()?;
        Ok(stack)
    }

    /// Does all pending work at time `now_ms`: reads and answers frames,
    /// sends what sockets queued, retransmits, runs DHCP, re-arms TCP
    /// listeners and collects echo replies. Returns whether anything
    /// happened that may change what a socket call returns (a blocked
    /// thread should re-check).
    pub fn poll(&mut self, now_ms: u64) -> bool {
        self.now = self.now.max(now_ms);
        let t = instant(self.now);
        self.port.refill();
        let mut changed = false;
        loop {
            match self
                .iface
                .poll_ingress_single(t, &mut self.port, &mut self.sockets)
            {
                PollIngressSingleResult::None => break,
                PollIngressSingleResult::PacketProcessed => {}
                PollIngressSingleResult::SocketStateChanged => changed = true,
            }
            // Between frames, so a second SYN finds a fresh listener.
            self.service_listeners();
        }
        self.note_queues();
        changed |= self.iface.poll_egress(t, &mut self.port, &mut self.sockets)
            == PollResult::SocketStateChanged;
        self.stamp_pings();
        changed |= self.service_dhcp();
        changed |= self.service_listeners();
        changed |= self.collect_echo_replies();
        changed |= self.flush_stalled();
        self.reap_lingering();
        changed
    }

    /// Milliseconds from `now_ms` until the next poll is due even if no
    /// frame arrives (0: poll again now), or `None` if only a frame can
    /// create work.
    pub fn poll_delay(&mut self, now_ms: u64) -> Option<u64> {
        if self.port.budget_hit {
            return Some(0);
        }
        let now = self.now.max(now_ms);
        let smol = self
            .iface
            .poll_delay(instant(now), &self.sockets)
            .map(|d| d.total_millis());
        let linger = self
            .lingering
            .iter()
            .map(|l| l.deadline.saturating_sub(now))
            .min();
        match (smol, linger) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// smoltcp sockets alive: the table's, listeners' LISTEN and pending
    /// sockets, closed connections still finishing, the DHCP and ICMP
    /// sockets (for leak checks and diagnostics).
    pub fn live_sockets(&self) -> usize {
        self.sockets.iter().count()
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.port.stats
    }

    /// The device.
    pub fn device(&self) -> &D {
        &self.port.dev
    }

    /// The device, for driver work between polls (interrupt acks).
    pub fn device_mut(&mut self) -> &mut D {
        &mut self.port.dev
    }

    /// The station's MAC address.
    pub fn mac(&self) -> [u8; 6] {
        self.port.mac
    }

    /// The IP MTU in use (the device's, clamped to 576..=9000).
    pub fn mtu(&self) -> usize {
        self.port.mtu
    }

    /// The largest UDP payload or ping payload one packet carries.
    pub fn max_datagram(&self) -> usize {
        // IPv4 header 20 bytes (RFC 791), UDP and ICMP echo headers 8.
        self.port.mtu - 28
    }

    /// Checks that a packet to `dst` can leave.
    pub(crate) fn route(&self, dst: Ipv4Addr) -> Result<(), NetError> {
        if dst.is_unspecified() {
            return Err(NetError::InvalidArgument);
        }
        let lease = self.lease.as_ref().ok_or(NetError::NoAddress)?;
        if dst.is_broadcast() || dst.is_multicast() || lease.on_link(dst) {
            return Ok(());
        }
        if lease.gateway.is_some() && !dst.is_loopback() {
            Ok(())
        } else {
            Err(NetError::NoRoute)
        }
    }

    /// A free ephemeral port by the test `in_use`.
    pub(crate) fn ephemeral_port(
        &mut self,
        in_use: impl Fn(&Self, u16) -> bool,
    ) -> Result<u16, NetError> {
        for _ in 0..EPHEMERAL_COUNT {
            let port = self.next_port;
            self.next_port = if port == u16::MAX {
                EPHEMERAL_FIRST
            } else {
                port + 1
            };
            if !in_use(self, port) {
                return Ok(port);
            }
        }
        Err(NetError::NoFreePort)
    }

    /// Ports TCP sockets use (listening, connected, pending, lingering).
    pub(crate) fn tcp_port_in_use(&self, port: u16) -> bool {
        self.sockets.iter().any(|(_, s)| match s {
            smoltcp::socket::Socket::Tcp(t) => {
                t.listen_endpoint().port == port
                    || t.local_endpoint().is_some_and(|e| e.port == port)
            }
            _ => false,
        })
    }

    /// Drops the lingering sockets that are done; resets the overdue ones.
    fn reap_lingering(&mut self) {
        let now = self.now;
        let sockets = &mut self.sockets;
        self.lingering.retain_mut(|l| {
            let s = sockets.get_mut::<tcp::Socket>(l.handle);
            let done = s.state() == tcp::State::Closed && s.remote_endpoint().is_none();
            if done || (l.aborted && now >= l.deadline) {
                sockets.remove(l.handle);
                return false;
            }
            // Overdue, or data came in that no one will read: reset. The
            // reset goes out on the next poll; a second deadline removes
            // the socket even if the device is stuck.
            if !l.aborted && (now >= l.deadline || s.recv_queue() > 0) {
                s.abort();
                l.aborted = true;
                l.deadline = now.saturating_add(ABORT_GRACE_MS);
            }
            true
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::DeviceError;

    /// A device that is `Send`, as a kernel driver's is.
    struct Null;

    impl NetDevice for Null {
        fn mac(&self) -> [u8; 6] {
            [2, 0, 0, 0, 0, 1]
        }
        fn mtu(&self) -> usize {
            1500
        }
        fn receive(&mut self, _: &mut [u8]) -> Result<Option<usize>, DeviceError> {
            Ok(None)
        }
        fn transmit(&mut self, _: &[u8]) -> Result<(), DeviceError> {
            Ok(())
        }
        fn can_transmit(&self) -> bool {
            true
        }
    }

    #[test]
    fn a_stack_over_a_send_device_can_move_to_the_network_thread() {
        fn send<T: Send>(_: &T) {}
        let mut stack = Stack::new(Null, 0).unwrap();
        send(&stack);
        // DHCP starts at once: the first poll sends a DISCOVER.
        stack.poll(0);
        assert_eq!(stack.stats().tx_frames, 1);
        assert_eq!(stack.poll_delay(0), Some(10_000));
    }
}
