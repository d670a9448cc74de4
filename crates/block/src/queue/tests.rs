use super::*;
use crate::MemDisk;
use alloc::string::String;
use alloc::vec::Vec;

/// A device over a `MemDisk` that completes each request after `delay`
/// looks (any look at any request is time passing for all of them),
/// takes `depth` requests at once, and can be made to stop answering.
struct Slow {
    disk: MemDisk,
    max: usize,
    delay: u32,
    depth: usize,
    /// The most requests it held at once.
    most: usize,
    /// Requests started in all.
    starts: usize,
    /// Reads from this sector on fail (the device stays).
    bad_from: Option<u64>,
    /// Later requests take this many looks fewer each (they overtake).
    overtake: u32,
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
            depth: 1,
            most: 0,
            starts: 0,
            bad_from: None,
            overtake: 0,
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
    fn depth(&self) -> usize {
        self.depth
    }
    fn start(&mut self, request: Request<'_>) -> Result<Tag, BlockError> {
        if self.failed.is_some() {
            return Err(BlockError::Failed);
        }
        if self.started.len() >= self.depth {
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
        let delay = self
            .delay
            .saturating_sub(self.overtake * self.started.len() as u32);
        self.started.push((self.next, kind, delay));
        self.starts += 1;
        self.most = self.most.max(self.started.len());
        Ok(self.next)
    }
    fn finish(&mut self, tag: Tag, read_into: &mut [u8]) -> Progress {
        let Some(i) = self.started.iter().position(|s| s.0 == tag) else {
            return Progress::Done(Err(BlockError::Device));
        };
        if self.silent {
            return Progress::Pending;
        }
        let was = self.started[i].2;
        for s in &mut self.started {
            s.2 = s.2.saturating_sub(1);
        }
        if was > 0 {
            return Progress::Pending;
        }
        let (_, kind, _) = self.started.remove(i);
        Progress::Done(match kind {
            Kind::Read(lba, _) if self.bad_from.is_some_and(|b| lba >= b) => {
                Err(BlockError::Device)
            }
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

fn pattern(from: usize, to: usize) -> Vec<u8> {
    (from * 512..to * 512)
        .map(|i| (i / 512) as u8 ^ i as u8)
        .collect()
}

#[test]
fn several_requests_are_in_flight_at_once() {
    let mut slow = Slow::new(64, 1024, 3);
    slow.depth = 4;
    let mut d = Blocking::new(slow, Counted::new(100));
    let mut buf = alloc::vec![0u8; 16 * 1024];
    d.read(3, &mut buf[..16 * 512]).unwrap();
    assert_eq!(&buf[..16 * 512], &pattern(3, 19)[..]);
    // 8 requests of 2 sectors, 4 at a time: the first waits its three
    // looks, the others were ready by then, and so on.
    assert_eq!(d.queue().most, 4);
    assert_eq!(d.queue().starts, 8);
    assert!(d.wait.total < 8 * 3, "waited {} times", d.wait.total);
    assert!(d.queue().started.is_empty());
    // Writes go the same way.
    let data: Vec<u8> = (0..16 * 1024).map(|i| (i * 13) as u8).collect();
    d.write(40, &data[..20 * 512]).unwrap();
    assert_eq!(
        &d.queue().disk.bytes()[40 * 512..60 * 512],
        &data[..20 * 512]
    );
    d.flush().unwrap();
}

#[test]
fn requests_completed_out_of_order_land_in_place() {
    let mut slow = Slow::new(64, 512, 8);
    slow.depth = 8;
    slow.overtake = 1;
    let mut d = Blocking::new(slow, Counted::new(100));
    let mut buf = alloc::vec![0u8; 24 * 512];
    d.read(20, &mut buf).unwrap();
    assert_eq!(buf, pattern(20, 44));
    assert_eq!(d.queue().most, 8);
}

#[test]
fn a_failed_request_stops_new_ones_and_the_rest_are_collected() {
    let mut slow = Slow::new(64, 512, 2);
    slow.depth = 3;
    slow.bad_from = Some(12);
    let mut d = Blocking::new(slow, Counted::new(100));
    let mut buf = alloc::vec![0u8; 16 * 512];
    assert_eq!(d.read(10, &mut buf), Err(BlockError::Device));
    // Sector 12 is the third request: with three in flight, nothing was
    // started after it failed, and nothing is left in flight.
    assert_eq!(d.queue().starts, 5, "started after the failure");
    assert!(d.queue().started.is_empty(), "left in flight");
    assert!(d.queue().failed.is_none(), "the device stays");
    assert_eq!(&buf[..2 * 512], &pattern(10, 12)[..]);
    // The next call works again.
    d.read(0, &mut buf[..512]).unwrap();
}

#[test]
fn a_timeout_with_requests_in_flight_fails_them_all() {
    let mut slow = Slow::new(64, 512, 0);
    slow.depth = 4;
    slow.silent = true;
    let mut d = Blocking::new(slow, Counted::new(3));
    let mut buf = alloc::vec![0u8; 8 * 512];
    assert_eq!(d.read(0, &mut buf), Err(BlockError::TimedOut));
    assert_eq!(d.queue().starts, 4);
    assert_eq!(d.wait.total, 3, "one deadline, then the device is out");
    assert!(d.queue().failed.is_some());
}
