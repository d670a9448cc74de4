//! Access rights carried by each handle: a small bit set over `u32`.

use core::fmt;
use core::ops::{BitAnd, BitAndAssign, BitOr, BitOrAssign};

/// What a handle allows its holder to do with the object behind it.
///
/// Checked by [`HandleTable::get`](crate::HandleTable::get): a lookup names
/// the rights the operation needs, and a handle lacking any of them is
/// refused with [`HandleError::AccessDenied`](crate::HandleError::AccessDenied).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Rights(u32);

/// Names for `Debug`, in bit order.
const NAMES: [(Rights, &str); 7] = [
    (Rights::WAIT, "WAIT"),
    (Rights::SIGNAL, "SIGNAL"),
    (Rights::TERMINATE, "TERMINATE"),
    (Rights::READ, "READ"),
    (Rights::WRITE, "WRITE"),
    (Rights::QUERY, "QUERY"),
    (Rights::DUPLICATE, "DUPLICATE"),
];

impl Rights {
    /// No rights: the handle only names the object (it can still be closed).
    pub const NONE: Self = Self(0);
    /// Wait for the object to become signalled.
    pub const WAIT: Self = Self(1);
    /// Signal or reset the object (events, semaphores).
    pub const SIGNAL: Self = Self(2);
    /// Terminate the process or thread.
    pub const TERMINATE: Self = Self(4);
    /// Read the object's data (memory, files).
    pub const READ: Self = Self(8);
    /// Write the object's data.
    pub const WRITE: Self = Self(16);
    /// Query the object's state and information.
    pub const QUERY: Self = Self(32);
    /// Duplicate the handle (into this or another process).
    pub const DUPLICATE: Self = Self(64);
    /// Every right defined above.
    pub const ALL: Self = Self(0x7F);

    /// The raw bits.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// The rights in `bits`, or `None` if `bits` has undefined bits set.
    pub const fn from_bits(bits: u32) -> Option<Self> {
        if bits & !Self::ALL.0 == 0 {
            Some(Self(bits))
        } else {
            None
        }
    }

    /// The rights in `bits`, dropping undefined bits.
    pub const fn from_bits_truncate(bits: u32) -> Self {
        Self(bits & Self::ALL.0)
    }

    /// Whether every right in `other` is also in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether no right is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Rights in either set.
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Rights in both sets.
    pub const fn intersection(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }

    /// Rights in `self` but not in `other`.
    pub const fn difference(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }
}

impl BitOr for Rights {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        self.union(rhs)
    }
}

impl BitOrAssign for Rights {
    fn bitor_assign(&mut self, rhs: Self) {
        *self = self.union(rhs);
    }
}

impl BitAnd for Rights {
    type Output = Self;
    fn bitand(self, rhs: Self) -> Self {
        self.intersection(rhs)
    }
}

impl BitAndAssign for Rights {
    fn bitand_assign(&mut self, rhs: Self) {
        *self = self.intersection(rhs);
    }
}

impl fmt::Debug for Rights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Rights(")?;
        let mut first = true;
        for (right, name) in NAMES {
            if self.contains(right) {
                if !first {
                    f.write_str(" | ")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        if first {
            f.write_str("NONE")?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_operations() {
        let rw = Rights::READ | Rights::WRITE;
        assert!(rw.contains(Rights::READ));
        assert!(rw.contains(Rights::NONE));
        assert!(!rw.contains(Rights::READ | Rights::QUERY));
        assert!(Rights::ALL.contains(rw));
        assert_eq!(rw & Rights::WRITE, Rights::WRITE);
        assert_eq!(rw.difference(Rights::READ), Rights::WRITE);
        assert!(Rights::NONE.is_empty());
        let mut r = Rights::WAIT;
        r |= Rights::SIGNAL;
        r &= Rights::SIGNAL | Rights::QUERY;
        assert_eq!(r, Rights::SIGNAL);
    }

    #[test]
    fn all_is_the_union_of_the_named_rights() {
        let union = NAMES.iter().fold(Rights::NONE, |acc, &(r, _)| acc | r);
        assert_eq!(union, Rights::ALL);
        assert_eq!(Rights::ALL.bits(), 127);
    }

    #[test]
    fn bits_round_trip() {
        assert_eq!(Rights::from_bits(9), Some(Rights::WAIT | Rights::READ));
        assert_eq!(Rights::from_bits(0x80), None);
        assert_eq!(Rights::from_bits_truncate(0xFFFF_FFFF), Rights::ALL);
    }

    #[test]
    fn debug_lists_names() {
        let s = format!("{:?}", Rights::WAIT | Rights::DUPLICATE);
        assert_eq!(s, "Rights(WAIT | DUPLICATE)");
        assert_eq!(format!("{:?}", Rights::NONE), "Rights(NONE)");
    }
}
