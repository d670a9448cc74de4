use super::*;
use crate::MemDisk;
use alloc::string::String;
use alloc::vec::Vec;

/// A device over a `MemDisk` that completes each request after `delay`
/// looks, and can be made to stop answering.
struct Slow {
    disk: MemDisk,
    max: usize,
    delay: u32,
    silent: bool,
    started: Vec<(Tag, Kind, u32)>,
    next: Tag,
    failed: Option<String>,
    largest: usize,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Read(u64, u32),
    Written(Result<(), BlockError>),
    Flushed,
}

impl Slow {
    fn new(sectors: usize, max: usize, delay: u32) -> Self {
        let bytes = (0..sectors * 512)
            .map(|i| (i / 512) as u8 ^ i as u8)
            .collect();
        Self {
            disk: MemDisk::new(512, bytes),
            max,
            delay,
            silent: false,
            started: Vec::new(),
            next: 7,
            failed: None,
            largest: 0,
        }
    }
}

impl RequestQueue for Slow {
    fn sector_size(&self) -> u32 {
        512
    }
    fn sector_count(&self) -> u64 {
        self.disk.sector_count()
    }
    fn read_only(&self) -> bool {
        false
    }
    fn max_transfer(&self) -> usize {
        self.max
    }
    fn start(&mut self, request: Request<'_>) -> Result<Tag, BlockError> {
        if self.failed.is_some() {
            return Err(BlockError::Failed);
        }
        if !self.started.is_empty() {
            return Err(BlockError::Busy);
        }
        let kind = match request {
            Request::Read { lba, sectors } => {
                self.largest = self.largest.max(sectors as usize * 512);
                Kind::Read(lba, sectors)
            }
            Request::Write { lba, data } => {
                self.largest = self.largest.max(data.len());
                Kind::Written(self.disk.write(lba, data))
            }
            Request::Flush => Kind::Flushed,
        };
        self.next += 3;
        self.started.push((self.next, kind, self.delay));
        Ok(self.next)
    }
    fn finish(&mut self, tag: Tag, read_into: &mut [u8]) -> Progress {
        let Some(i) = self.started.iter().position(|s| s.0 == tag) else {
            return Progress::Done(Err(BlockError::Device));
        };
        if self.silent {
            return Progress::Pending;
        }
        if self.started[i].2 > 0 {
            self.started[i].2 -= 1;
            return Progress::Pending;
        }
        let (_, kind, _) = self.started.remove(i);
        Progress::Done(match kind {
            Kind::Read(lba, sectors) => {
                assert_eq!(read_into.len(), sectors as usize * 512);
                self.disk.read(lba, read_into)
            }
            Kind::Written(r) => r,
            Kind::Flushed => self.disk.flush(),
        })
    }
    fn fail(&mut self, why: &str) {
        self.started.clear();
        self.failed = Some(why.into());
    }
}

/// Counts waits; gives up after `limit` of one request.
struct Counted {
    limit: u32,
    this_request: u32,
    total: u32,
    begun: u32,
}

impl Counted {
    fn new(limit: u32) -> Self {
        Self {
            limit,
            this_request: 0,
            total: 0,
            begun: 0,
        }
    }
}

impl Wait for Counted {
    fn begin(&mut self) {
        self.this_request = 0;
        self.begun += 1;
    }
    fn wait(&mut self) -> bool {
        self.this_request += 1;
        self.total += 1;
        self.this_request < self.limit
    }
}

#[test]
fn reads_are_split_into_requests_the_device_can_take() {
    let mut d = Blocking::new(Slow::new(64, 4096, 2), Counted::new(100));
    let mut buf = alloc::vec![0u8; 20 * 512];
    d.read(10, &mut buf).unwrap();
    let want: Vec<u8> = (10 * 512..30 * 512)
        .map(|i| (i / 512) as u8 ^ i as u8)
        .collect();
    assert_eq!(buf, want);
    // 20 sectors in 8-sector requests: 3 requests, two waits each.
    assert_eq!(d.wait.begun, 3);
    assert_eq!(d.wait.total, 6);
    assert_eq!(d.queue().largest, 4096);
}

#[test]
fn writes_reach_the_device_and_flush_waits_too() {
    let mut d = Blocking::new(Slow::new(64, 1024, 1), Counted::new(100));
    let data: Vec<u8> = (0..3 * 1024).map(|i| (i * 7) as u8).collect();
    d.write(5, &data).unwrap();
    d.flush().unwrap();
    assert_eq!(
        &d.queue().disk.bytes()[5 * 512..5 * 512 + data.len()],
        &data[..]
    );
    assert_eq!(d.queue().disk.flushes, 1);
    assert_eq!(d.wait.begun, 4);
    assert_eq!(d.queue().largest, 1024);
}

#[test]
fn a_device_that_never_answers_times_out_and_is_failed() {
    let mut slow = Slow::new(64, 4096, 0);
    slow.silent = true;
    let mut d = Blocking::new(slow, Counted::new(5));
    let mut buf = [0u8; 512];
    assert_eq!(d.read(0, &mut buf), Err(BlockError::TimedOut));
    assert_eq!(d.wait.total, 5, "waited until the deadline, no longer");
    assert!(d.queue().failed.is_some());
    assert!(d.queue().started.is_empty(), "the request was abandoned");
    assert_eq!(d.read(0, &mut buf), Err(BlockError::Failed));
}

#[test]
fn an_answer_that_comes_with_the_deadline_counts() {
    // Completes at the fifth look; the waiter gives up after four waits,
    // so the last look is the one after the deadline.
    let mut d = Blocking::new(Slow::new(8, 4096, 4), Counted::new(4));
    let mut buf = [0u8; 512];
    d.read(1, &mut buf).unwrap();
    assert!(d.queue().failed.is_none());
}

#[test]
fn bad_ranges_never_reach_the_device() {
    let mut d = Blocking::new(Slow::new(8, 4096, 0), Counted::new(5));
    assert!(matches!(
        d.read(7, &mut [0u8; 1024]),
        Err(BlockError::OutOfRange { .. })
    ));
    assert_eq!(d.write(0, &[0u8; 100]), Err(BlockError::BadLength(100)));
    assert_eq!(d.wait.begun, 0);
}

#[test]
fn a_transfer_limit_below_one_sector_still_moves_whole_sectors() {
    let mut d = Blocking::new(Slow::new(8, 100, 0), Counted::new(5));
    let mut buf = [0u8; 1024];
    d.read(2, &mut buf).unwrap();
    assert_eq!(d.queue().largest, 512);
}
