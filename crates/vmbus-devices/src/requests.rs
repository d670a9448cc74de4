//! Outstanding requests keyed by transaction id (storvsc, netvsc).

use alloc::vec::Vec;

/// Default for the most requests in flight at once (a 128 KiB ring holds
/// ~1200 of storvsc's 104-byte I/O packets; 64 keeps scans cheap).
pub const MAX_OUTSTANDING: usize = 64;

/// A bounded table of outstanding requests; ids are non-zero and unique
/// among the entries (Hyper-V never completes id 0, §4.3).
#[derive(Debug)]
pub(crate) struct RequestTable<T> {
    entries: Vec<(u64, T)>,
    next: u64,
    limit: usize,
}

impl<T> RequestTable<T> {
    /// A table of at most `limit` entries.
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            entries: Vec::new(),
            next: 1,
            limit,
        }
    }

    /// Stores `value` under a fresh id; None when the table is full.
    pub(crate) fn insert(&mut self, value: T) -> Option<u64> {
        if self.entries.len() >= self.limit {
            return None;
        }
        // At most `limit` ids are taken, so this ends quickly.
        let mut id = self.next;
        while id == 0 || self.entries.iter().any(|(e, _)| *e == id) {
            id = id.wrapping_add(1);
        }
        self.next = id.wrapping_add(1);
        self.entries.push((id, value));
        Some(id)
    }

    /// Removes and returns the entry for `id`.
    pub(crate) fn take(&mut self, id: u64) -> Option<T> {
        let i = self.entries.iter().position(|(e, _)| *e == id)?;
        Some(self.entries.swap_remove(i).1)
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_unique_nonzero_and_bounded() {
        let mut t = RequestTable::new(MAX_OUTSTANDING);
        t.next = u64::MAX;
        let a = t.insert(1).unwrap();
        let b = t.insert(2).unwrap();
        assert_eq!((a, b), (u64::MAX, 1));
        assert_eq!(t.take(a), Some(1));
        assert_eq!(t.take(a), None);
        while t.insert(0).is_some() {}
        assert_eq!(t.len(), MAX_OUTSTANDING);
        assert_eq!(t.take(b), Some(2));
    }
}
