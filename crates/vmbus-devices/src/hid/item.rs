//! Tokenizing a report descriptor into items (HID 1.11 §6.2.2.2–6.2.2.3).

use super::HidError;

/// The type field of a short item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    /// Main item (Input, Output, Feature, Collection, End Collection).
    Main,
    /// Global item (Usage Page, Logical Minimum, Report Size, ...).
    Global,
    /// Local item (Usage, Usage Minimum, Usage Maximum, ...).
    Local,
    /// A long item (prefix 0xFE); its data is skipped.
    Long,
}

/// One descriptor item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item {
    /// Item type.
    pub kind: ItemKind,
    /// Tag (bits 7:4 of the prefix; the long item tag for long items).
    pub tag: u8,
    /// Data size in bytes (0, 1, 2 or 4 for short items).
    pub size: u8,
    /// Data, little-endian, zero-extended.
    pub data: u32,
}

impl Item {
    /// The data sign-extended from its size.
    pub fn signed(&self) -> i32 {
        match self.size {
            1 => self.data as u8 as i8 as i32,
            2 => self.data as u16 as i16 as i32,
            _ => self.data as i32,
        }
    }
}

/// Iterator over the items of a descriptor; yields an error once (and then
/// stops) on a truncated or reserved item.
#[derive(Debug, Clone)]
pub struct ItemIter<'a> {
    bytes: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> ItemIter<'a> {
    /// Items of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            pos: 0,
            done: false,
        }
    }

    fn next_item(&mut self) -> Result<Item, HidError> {
        let at = self.pos;
        let prefix = self.bytes[at];
        if prefix == 0xFE {
            let size = *self.bytes.get(at + 1).ok_or(HidError::Truncated { at })?;
            let tag = *self.bytes.get(at + 2).ok_or(HidError::Truncated { at })?;
            let end = at + 3 + usize::from(size);
            if end > self.bytes.len() {
                return Err(HidError::Truncated { at });
            }
            self.pos = end;
            return Ok(Item {
                kind: ItemKind::Long,
                tag,
                size,
                data: 0,
            });
        }
        let size: u8 = match prefix & 3 {
            0 => 0,
            1 => 1,
            2 => 2,
            _ => 4,
        };
        let kind = match (prefix >> 2) & 3 {
            0 => ItemKind::Main,
            1 => ItemKind::Global,
            2 => ItemKind::Local,
            _ => return Err(HidError::ReservedItem { at }),
        };
        let data_bytes = self
            .bytes
            .get(at + 1..at + 1 + usize::from(size))
            .ok_or(HidError::Truncated { at })?;
        let data = data_bytes
            .iter()
            .rev()
            .fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
        self.pos = at + 1 + usize::from(size);
        Ok(Item {
            kind,
            tag: prefix >> 4,
            size,
            data,
        })
    }
}

impl Iterator for ItemIter<'_> {
    type Item = Result<Item, HidError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.pos >= self.bytes.len() {
            return None;
        }
        let r = self.next_item();
        if r.is_err() {
            self.done = true;
        }
        Some(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn tokenizes_short_and_long_items() {
        let d = [
            0x05, 0x01, 0x16, 0x01, 0x80, 0xFE, 0x02, 0x10, 0xAA, 0xBB, 0xC0,
        ];
        let items: Vec<_> = ItemIter::new(&d).collect::<Result<_, _>>().unwrap();
        assert_eq!(items.len(), 4);
        assert_eq!(items[0].kind, ItemKind::Global);
        assert_eq!(items[0].data, 1);
        assert_eq!(items[1].signed(), -32767);
        assert_eq!(items[2].kind, ItemKind::Long);
        assert_eq!(items[3].tag, 0xC);
    }

    #[test]
    fn truncated_and_reserved() {
        let r: Vec<_> = ItemIter::new(&[0x05, 0x01, 0x26, 0xFF]).collect();
        assert_eq!(r.last(), Some(&Err(HidError::Truncated { at: 2 })));
        let r: Vec<_> = ItemIter::new(&[0xFE, 0x05, 0x00, 1]).collect();
        assert_eq!(r, [Err(HidError::Truncated { at: 0 })]);
        let r: Vec<_> = ItemIter::new(&[0x0C]).collect();
        assert_eq!(r, [Err(HidError::ReservedItem { at: 0 })]);
    }
}
