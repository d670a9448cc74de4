//! What a driver step produced: packets to send and events for the kernel.

use alloc::vec::Vec;

use crate::packet::Outgoing;

/// Filled by a driver's `start` / `handle` calls; the glue writes every
/// entry of `sends` into the ring in order and passes `events` on, then
/// [`clear`](Output::clear)s it. Whatever a call pushed stays in here even
/// when the call also returns an error (netvsc completes a bad receive
/// packet and reports the error).
#[derive(Debug)]
pub struct Output<E> {
    /// Packets for the guest→host ring, in order.
    pub sends: Vec<Outgoing>,
    /// Device events, in order.
    pub events: Vec<E>,
}

impl<E> Default for Output<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> Output<E> {
    /// An empty output.
    pub fn new() -> Self {
        Self {
            sends: Vec::new(),
            events: Vec::new(),
        }
    }

    /// Nothing to send and nothing to report.
    pub fn is_empty(&self) -> bool {
        self.sends.is_empty() && self.events.is_empty()
    }

    /// Drops everything.
    pub fn clear(&mut self) {
        self.sends.clear();
        self.events.clear();
    }

    /// Total payload bytes queued in `sends`.
    pub fn send_bytes(&self) -> usize {
        self.sends.iter().map(|s| s.payload.len()).sum()
    }

    pub(crate) fn send(&mut self, packet: Outgoing) {
        self.sends.push(packet);
    }

    pub(crate) fn event(&mut self, event: E) {
        self.events.push(event);
    }
}
