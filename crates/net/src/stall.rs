//! Send queues stuck behind a neighbour that never answers ARP.
//!
//! smoltcp keeps a datagram whose next hop has no ARP entry at the head of
//! its socket's send queue and asks again every second, for ever; every
//! datagram queued behind it waits too. The stack watches the UDP and ICMP
//! send queues around each egress pass: one that has not shrunk for
//! [`STALL_MS`] is emptied (the socket is rebuilt on the same port, its
//! received datagrams kept) and counted in [`crate::Stats::tx_flushed`].
//! TCP needs none of this: its own timeout ends a connection whose peer
//! never answers.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use smoltcp::socket::{icmp, udp};

use crate::device::NetDevice;
use crate::stack::Stack;
use crate::table::Entry;
use crate::udp::{new_udp_socket, Spilled, UdpEntry};

/// How long a send queue may stand still before it is emptied (ms): three
/// ARP requests, a second apart (as Linux's default `mcast_solicit`).
pub const STALL_MS: u64 = 3_000;

/// One send queue's progress.
#[derive(Debug, Default)]
pub(crate) struct Stall {
    before: usize,
    since: Option<u64>,
}

impl Stall {
    /// Notes the queue's size before an egress pass.
    pub fn before(&mut self, queued: usize) {
        self.before = queued;
    }

    /// Notes its size after; true once it has been stuck `STALL_MS`.
    pub fn after(&mut self, queued: usize, now: u64) -> bool {
        if self.before == 0 || queued < self.before {
            self.since = None;
            return false;
        }
        let since = *self.since.get_or_insert(now);
        now.saturating_sub(since) >= STALL_MS
    }
}

impl<D: NetDevice> Stack<D> {
    /// Notes every watched queue's size (before `poll_egress`).
    pub(crate) fn note_queues(&mut self) {
        for entry in self.table.entries_mut() {
            if let Entry::Udp(u) = entry {
                let q = self.sockets.get::<udp::Socket>(u.handle).send_queue();
                u.stall.before(q);
            }
        }
        if let Some(ic) = self.icmp.as_mut() {
            let q = self.sockets.get::<icmp::Socket>(ic.handle).send_queue();
            ic.stall.before(q);
        }
    }

    /// Empties the queues stuck for `STALL_MS` (after `poll_egress` and
    /// after echo replies were collected); returns whether any was.
    pub(crate) fn flush_stalled(&mut self) -> bool {
        let now = self.now;
        let mut flushed = 0;
        for entry in self.table.entries_mut() {
            let Entry::Udp(u) = entry else { continue };
            let q = self.sockets.get::<udp::Socket>(u.handle).send_queue();
            if u.stall.after(q, now) && rebuild_udp(&mut self.sockets, u) {
                flushed += 1;
            }
        }
        if let Some(ic) = self.icmp.as_mut() {
            let q = self.sockets.get::<icmp::Socket>(ic.handle).send_queue();
            if ic.stall.after(q, now) {
                // Echo replies were collected already: nothing is lost
                // but the stuck requests.
                let ident = ic.ident;
                if let Some(old) = self.icmp.take() {
                    self.sockets.remove(old.handle);
                }
                if self.icmp_socket(ident).is_ok() {
                    flushed += 1;
                }
            }
        }
        self.port.stats.tx_flushed += flushed;
        flushed > 0
    }
}

/// Replaces `u`'s socket by a fresh one on the same port, keeping what it
/// had received.
fn rebuild_udp(sockets: &mut smoltcp::iface::SocketSet<'static>, u: &mut UdpEntry) -> bool {
    let Ok(fresh) = new_udp_socket(u.port) else {
        return false;
    };
    let old = sockets.get_mut::<udp::Socket>(u.handle);
    let mut kept: VecDeque<Spilled> = VecDeque::new();
    while let Ok((data, meta)) = old.recv() {
        let smoltcp::wire::IpAddress::Ipv4(from) = meta.endpoint.addr;
        kept.push_back(Spilled {
            data: Vec::from(data),
            from,
            port: meta.endpoint.port,
        });
    }
    sockets.remove(u.handle);
    u.handle = sockets.add(fresh);
    u.spill.extend(kept);
    u.stall = Stall::default();
    true
}
