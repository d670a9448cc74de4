//! A cluster chain held as runs of consecutive clusters ([`Chain`]).

use alloc::vec::Vec;

/// `count` consecutive clusters from `cluster`, the chain's clusters
/// `index ..` onwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Extent {
    pub index: u32,
    pub cluster: u32,
    pub count: u32,
}

/// A file's or directory's clusters in order, walked once from the FAT.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Chain {
    extents: Vec<Extent>,
}

impl Chain {
    /// Clusters in the chain.
    pub fn len(&self) -> u32 {
        self.extents.last().map_or(0, |e| e.index + e.count)
    }

    /// The first cluster, or 0 for an empty chain (as in a directory entry).
    pub fn first(&self) -> u32 {
        self.extents.first().map_or(0, |e| e.cluster)
    }

    /// The last cluster.
    pub fn last(&self) -> Option<u32> {
        self.extents.last().map(|e| e.cluster + (e.count - 1))
    }

    /// Appends cluster `c`.
    pub fn push(&mut self, c: u32) {
        let index = self.len();
        if let Some(e) = self.extents.last_mut() {
            if e.cluster.checked_add(e.count) == Some(c) {
                e.count += 1;
                return;
            }
        }
        self.extents.push(Extent {
            index,
            cluster: c,
            count: 1,
        });
    }

    /// The chain's cluster number `index` and how many consecutive
    /// clusters follow it on disk (itself included).
    pub fn locate(&self, index: u32) -> Option<(u32, u32)> {
        let at = self.extents.partition_point(|e| e.index + e.count <= index);
        let e = self.extents.get(at)?;
        let skip = index.checked_sub(e.index)?;
        Some((e.cluster + skip, e.count - skip))
    }

    /// Keeps the first `n` clusters; returns the rest.
    pub fn split_off(&mut self, n: u32) -> Vec<u32> {
        let at = self.extents.partition_point(|e| e.index + e.count <= n);
        if at >= self.extents.len() {
            return Vec::new();
        }
        let mut tail = self.extents.split_off(at);
        let head = &mut tail[0];
        let keep = n.saturating_sub(head.index);
        if keep > 0 {
            self.extents.push(Extent {
                count: keep,
                ..*head
            });
            head.cluster += keep;
            head.count -= keep;
        }
        tail.iter()
            .flat_map(|e| (0..e.count).map(move |i| e.cluster + i))
            .collect()
    }

    /// Every cluster in order.
    pub fn clusters(&self) -> impl Iterator<Item = u32> + '_ {
        self.extents
            .iter()
            .flat_map(|e| (0..e.count).map(move |i| e.cluster + i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_merge_and_split() {
        let mut c = Chain::default();
        for n in [5, 6, 7, 10, 11, 3] {
            c.push(n);
        }
        assert_eq!(c.len(), 6);
        assert_eq!(c.locate(1), Some((6, 2)));
        assert_eq!(c.locate(4), Some((11, 1)));
        assert_eq!(c.locate(6), None);
        let mut d = c.clone();
        assert_eq!(d.split_off(4), [11, 3]);
        assert_eq!(d.clusters().collect::<Vec<_>>(), [5, 6, 7, 10]);
        assert_eq!(c.split_off(2), [7, 10, 11, 3]);
        assert_eq!(c.clusters().collect::<Vec<_>>(), [5, 6]);
        assert_eq!(c.last(), Some(6));
        assert_eq!(c.split_off(0), [5, 6]);
        assert_eq!(c.first(), 0);
    }
}
