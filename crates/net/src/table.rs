//! The socket table: small ids the kernel maps to handles.
//!
//! An id names a slot and the slot's generation, so an id kept past its
//! `close` is refused ([`NetError::BadSocket`]) even after the slot is
//! reused.

use alloc::vec::Vec;

use smoltcp::iface::SocketHandle;

use crate::error::NetError;
use crate::udp::UdpEntry;

/// Sockets a stack holds at once (UDP, TCP listeners and connections).
pub const MAX_SOCKETS: usize = 32;

/// A socket's id: stable from creation to `close`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SocketId(u32);

impl SocketId {
    /// The id as a number (for the kernel's handle table).
    pub fn raw(self) -> u32 {
        self.0
    }

    /// The id from [`SocketId::raw`]; a number the stack never issued is
    /// refused by every call.
    pub fn from_raw(raw: u32) -> Self {
        Self(raw)
    }

    fn new(slot: usize, generation: u16) -> Self {
        Self((u32::from(generation) << 16) | slot as u32)
    }

    fn slot(self) -> usize {
        (self.0 & 0xffff) as usize
    }

    fn generation(self) -> u16 {
        (self.0 >> 16) as u16
    }
}

/// A TCP listener: the socket waiting in LISTEN, and the connections it
/// took that `tcp_accept` has not handed out yet.
#[derive(Debug)]
pub(crate) struct Listener {
    pub port: u16,
    pub listening: Option<SocketHandle>,
    pub pending: Vec<SocketHandle>,
}

/// What a slot holds.
#[derive(Debug)]
pub(crate) enum Entry {
    Udp(UdpEntry),
    Listener(Listener),
    Tcp { handle: SocketHandle },
}

#[derive(Debug, Default)]
struct Slot {
    generation: u16,
    entry: Option<Entry>,
}

/// The slots.
#[derive(Debug)]
pub(crate) struct Table {
    slots: Vec<Slot>,
}

impl Table {
    pub fn new() -> Self {
        let mut slots = Vec::with_capacity(MAX_SOCKETS);
        slots.resize_with(MAX_SOCKETS, Slot::default);
        Self { slots }
    }

    pub fn is_full(&self) -> bool {
        self.slots.iter().all(|s| s.entry.is_some())
    }

    pub fn insert(&mut self, entry: Entry) -> Result<SocketId, NetError> {
        let (index, slot) = self
            .slots
            .iter_mut()
            .enumerate()
            .find(|(_, s)| s.entry.is_none())
            .ok_or(NetError::TableFull)?;
        slot.entry = Some(entry);
        Ok(SocketId::new(index, slot.generation))
    }

    fn slot(&self, id: SocketId) -> Result<&Slot, NetError> {
        match self.slots.get(id.slot()) {
            Some(s) if s.generation == id.generation() && s.entry.is_some() => Ok(s),
            _ => Err(NetError::BadSocket),
        }
    }

    pub fn get(&self, id: SocketId) -> Result<&Entry, NetError> {
        self.slot(id)?.entry.as_ref().ok_or(NetError::BadSocket)
    }

    pub fn get_mut(&mut self, id: SocketId) -> Result<&mut Entry, NetError> {
        self.slot(id)?;
        self.slots[id.slot()]
            .entry
            .as_mut()
            .ok_or(NetError::BadSocket)
    }

    /// Empties the slot; the id (and every copy of it) stops working.
    pub fn remove(&mut self, id: SocketId) -> Result<Entry, NetError> {
        self.slot(id)?;
        let slot = &mut self.slots[id.slot()];
        slot.generation = slot.generation.wrapping_add(1);
        slot.entry.take().ok_or(NetError::BadSocket)
    }

    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.slots.iter().filter_map(|s| s.entry.as_ref())
    }

    pub fn entries_mut(&mut self) -> impl Iterator<Item = &mut Entry> {
        self.slots.iter_mut().filter_map(|s| s.entry.as_mut())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stale_id_is_refused_after_its_slot_is_reused() {
        let mut set = smoltcp::iface::SocketSet::new(Vec::new());
        let handle = set.add(smoltcp::socket::dhcpv4::Socket::new());
        let mut t = Table::new();
        let a = t.insert(Entry::Tcp { handle }).unwrap();
        t.remove(a).unwrap();
        let b = t.insert(Entry::Tcp { handle }).unwrap();
        assert_ne!(a, b);
        assert_eq!(a.slot(), b.slot());
        assert!(matches!(t.get(a), Err(NetError::BadSocket)));
        assert!(t.get(b).is_ok());
        assert!(matches!(
            t.get(SocketId::from_raw(u32::MAX)),
            Err(NetError::BadSocket)
        ));
    }
}
