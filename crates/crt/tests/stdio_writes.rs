//! The FILE engine writing files on a fake disk: buffering, modes (`w`,
//! `a`, `r+`, `w+`, `x`), switching between reading and writing, flushes,
//! short and failing writes.

use crt::stdio::errno::{EBADF, EEXIST, EIO, ENOENT, ENOSPC, EROFS};
use crt::stdio::BUFFER_SIZE;
use crt::stdio::{file_name, Backend, Console, Files, Mode, Stream, Whence};

/// Files on a disk in memory, with every backend write recorded.
#[derive(Default)]
struct Disk {
    files: Vec<(String, Vec<u8>)>,
    /// Open handles: (handle, file index, position).
    open: Vec<(u64, usize, u64)>,
    next_handle: u64,
    /// Lengths of the backend writes, in order.
    writes: Vec<usize>,
    /// Each backend write takes at most this many bytes.
    chunk: usize,
    /// Fail every write with this.
    fail_writes: Option<i32>,
    /// Writes take nothing (a broken backend).
    zero_writes: bool,
}

impl Disk {
    fn new() -> Self {
        Self {
            next_handle: 7,
            chunk: usize::MAX,
            ..Self::default()
        }
    }

    fn with(name: &str, data: &[u8]) -> Self {
        let mut d = Self::new();
        d.files.push((name.into(), data.to_vec()));
        d
    }

    fn file(&self, name: &str) -> Option<&[u8]> {
        self.files
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, d)| &d[..])
    }

    fn handle(&mut self, h: u64) -> &mut (u64, usize, u64) {
        self.open
            .iter_mut()
            .find(|o| o.0 == h)
            .expect("a live handle")
    }
}

impl Backend for Disk {
    fn open(&mut self, name: &[u8], mode: Mode) -> Result<u64, i32> {
        let name = std::str::from_utf8(name).unwrap().to_string();
        assert!(name.starts_with("/disk/"), "{name}");
        let i = match self.files.iter().position(|(n, _)| *n == name) {
            Some(_) if mode.exclusive => return Err(EEXIST),
            Some(i) => i,
            None if mode.create() => {
                self.files.push((name, Vec::new()));
                self.files.len() - 1
            }
            None => return Err(ENOENT),
        };
        if mode.truncate {
            self.files[i].1.clear();
        }
        self.next_handle += 1;
        self.open.push((self.next_handle, i, 0));
        Ok(self.next_handle)
    }

    fn read(&mut self, h: u64, buf: &mut [u8]) -> Result<usize, i32> {
        let (_, i, pos) = *self.handle(h);
        let data = &self.files[i].1;
        let start = (pos as usize).min(data.len());
        let n = buf.len().min(data.len() - start);
        buf[..n].copy_from_slice(&data[start..start + n]);
        self.handle(h).2 += n as u64;
        Ok(n)
    }

    fn write(&mut self, h: u64, bytes: &[u8]) -> Result<usize, i32> {
        if let Some(e) = self.fail_writes {
            return Err(e);
        }
        if self.zero_writes {
            return Ok(0);
        }
        let n = bytes.len().min(self.chunk);
        self.writes.push(n);
        let (_, i, pos) = *self.handle(h);
        let data = &mut self.files[i].1;
        let end = pos as usize + n;
        if data.len() < end {
            data.resize(end, 0);
        }
        data[pos as usize..end].copy_from_slice(&bytes[..n]);
        self.handle(h).2 = end as u64;
        Ok(n)
    }

    fn seek(&mut self, h: u64, offset: i64, whence: Whence) -> Result<u64, i32> {
        let (_, i, pos) = *self.handle(h);
        let base = match whence {
            Whence::Set => 0,
            Whence::Current => pos as i64,
            Whence::End => self.files[i].1.len() as i64,
        };
        let new = (base + offset) as u64;
        self.handle(h).2 = new;
        Ok(new)
    }

    fn close(&mut self, h: u64) -> Result<(), i32> {
        let k = self.open.iter().position(|o| o.0 == h).expect("open");
        self.open.remove(k);
        Ok(())
    }

    fn console_write(&mut self, _: Console, _: &[u8]) {}

    fn console_flush(&mut self) {}
}

fn noise(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 13 + i / 97) as u8).collect()
}

const PATH: &[u8] = b"/disk/FERRITE32/out.txt";
const NAME: &str = "/disk/FERRITE32/out.txt";

#[test]
fn small_writes_wait_in_the_buffer_until_close() {
    let (mut f, mut d) = (Files::new(), Disk::new());
    let s = f.open(&mut d, PATH, b"w").unwrap();
    for piece in [&b"hello, "[..], b"disk", b"\n"] {
        assert_eq!(f.write(&mut d, s, piece), Ok(piece.len()));
    }
    assert!(d.writes.is_empty(), "written before the buffer filled");
    assert_eq!(f.tell(s), Ok(12));
    assert_eq!(d.file(NAME), Some(&b""[..]));
    f.close(&mut d, s).unwrap();
    assert_eq!(d.writes, [12]);
    assert_eq!(d.file(NAME), Some(&b"hello, disk\n"[..]));
    assert!(d.open.is_empty());
}

#[test]
fn many_bytes_go_out_in_buffer_sized_writes() {
    let (mut f, mut d) = (Files::new(), Disk::new());
    let s = f.open(&mut d, PATH, b"wb").unwrap();
    let want = noise(3 * BUFFER_SIZE + 500);
    for piece in want.chunks(100) {
        f.write(&mut d, s, piece).unwrap();
    }
    // A big write goes straight through (after what waits).
    let big = noise(2 * BUFFER_SIZE);
    f.write(&mut d, s, &big).unwrap();
    f.flush(&mut d, Some(s)).unwrap();
    assert!(d.writes.iter().all(|&n| n <= 2 * BUFFER_SIZE));
    assert!(d.writes.len() <= 6, "{:?}", d.writes);
    let mut all = want.clone();
    all.extend_from_slice(&big);
    assert_eq!(d.file(NAME), Some(&all[..]));
    f.close(&mut d, s).unwrap();
}

#[test]
fn short_writes_are_retried_and_zero_writes_fail() {
    let (mut f, mut d) = (Files::new(), Disk::new());
    d.chunk = 1000;
    let s = f.open(&mut d, PATH, b"w").unwrap();
    let want = noise(10_000);
    f.write(&mut d, s, &want).unwrap();
    f.close(&mut d, s).unwrap();
    assert_eq!(d.file(NAME), Some(&want[..]));
    assert!(d.writes.len() >= 10);

    let s = f.open(&mut d, PATH, b"w").unwrap();
    d.zero_writes = true;
    f.write(&mut d, s, b"lost").unwrap();
    assert_eq!(f.close(&mut d, s), Err(EIO));
    assert!(d.open.is_empty(), "the handle is closed even so");
}

#[test]
fn a_failing_write_sets_the_error_indicator() {
    let (mut f, mut d) = (Files::new(), Disk::new());
    let s = f.open(&mut d, PATH, b"w").unwrap();
    f.write(&mut d, s, b"abc").unwrap();
    d.fail_writes = Some(ENOSPC);
    assert_eq!(f.flush(&mut d, Some(s)), Err(ENOSPC));
    assert!(f.error(s).unwrap());
    assert_eq!(f.write(&mut d, s, &noise(BUFFER_SIZE)), Err(ENOSPC));
    d.fail_writes = None;
    f.clear_error(s).unwrap();
    f.write(&mut d, s, b"ok").unwrap();
    f.close(&mut d, s).unwrap();
}

#[test]
fn append_writes_at_the_end_even_after_a_seek() {
    let (mut f, mut d) = (Files::new(), Disk::with(NAME, b"first\n"));
    let s = f.open(&mut d, PATH, b"a+").unwrap();
    f.write(&mut d, s, b"second\n").unwrap();
    f.seek(&mut d, s, 0, Whence::Set).unwrap();
    let mut head = [0u8; 5];
    assert_eq!(f.read(&mut d, s, &mut head), (5, Ok(())));
    assert_eq!(&head, b"first");
    f.write(&mut d, s, b"third\n").unwrap();
    f.close(&mut d, s).unwrap();
    assert_eq!(d.file(NAME), Some(&b"first\nsecond\nthird\n"[..]));
}

#[test]
fn read_then_write_lands_where_the_reader_is() {
    let (mut f, mut d) = (Files::new(), Disk::with(NAME, &noise(10_000)));
    let s = f.open(&mut d, PATH, b"r+").unwrap();
    let mut buf = [0u8; 10];
    assert_eq!(f.read(&mut d, s, &mut buf), (10, Ok(())));
    // The stream read ahead a whole buffer; the write goes at 10 anyway.
    f.write(&mut d, s, b"XY").unwrap();
    assert_eq!(f.tell(s), Ok(12));
    // And reading on gives the bytes after the write.
    let mut next = [0u8; 3];
    assert_eq!(f.read(&mut d, s, &mut next), (3, Ok(())));
    f.close(&mut d, s).unwrap();
    let mut want = noise(10_000);
    want[10..12].copy_from_slice(b"XY");
    assert_eq!(next, want[12..15]);
    assert_eq!(d.file(NAME), Some(&want[..]));
}

#[test]
fn write_then_read_back_through_one_stream() {
    let (mut f, mut d) = (Files::new(), Disk::with(NAME, b"old contents"));
    let s = f.open(&mut d, PATH, b"w+").unwrap();
    assert_eq!(d.file(NAME), Some(&b""[..]), "w truncates");
    let want = noise(5000);
    f.write(&mut d, s, &want).unwrap();
    f.seek(&mut d, s, 0, Whence::Set).unwrap();
    let mut back = vec![0u8; 6000];
    let (n, r) = f.read(&mut d, s, &mut back);
    r.unwrap();
    assert_eq!(&back[..n], &want[..]);
    assert_eq!(f.seek(&mut d, s, 0, Whence::End), Ok(5000));
    f.close(&mut d, s).unwrap();
}

#[test]
fn modes_decide_what_a_stream_may_do() {
    let (mut f, mut d) = (Files::new(), Disk::with(NAME, b"data"));
    // Read-only stream: writes refused.
    let r = f.open(&mut d, PATH, b"r").unwrap();
    assert_eq!(f.write(&mut d, r, b"x"), Err(EBADF));
    assert!(f.error(r).unwrap());
    f.close(&mut d, r).unwrap();
    // Write-only stream: reads and ungetc refused.
    let w = f.open(&mut d, PATH, b"w").unwrap();
    let mut buf = [0u8; 4];
    assert_eq!(f.read(&mut d, w, &mut buf), (0, Err(EBADF)));
    f.write(&mut d, w, b"z").unwrap();
    assert_eq!(f.unget(w, b'q'), Err(EBADF));
    assert_eq!(f.output(w), Ok(None));
    f.close(&mut d, w).unwrap();
    assert_eq!(d.file(NAME), Some(&b"z"[..]));
    // `x`: only a new file.
    assert_eq!(f.open(&mut d, PATH, b"wx"), Err(EEXIST));
    let n = f.open(&mut d, b"/disk/FERRITE32/new.bin", b"wbx").unwrap();
    f.close(&mut d, n).unwrap();
    assert_eq!(d.file("/disk/FERRITE32/new.bin"), Some(&b""[..]));
    // `r+` does not create.
    assert_eq!(f.open(&mut d, b"/disk/FERRITE32/none", b"r+"), Err(ENOENT));
    // Boot files are read-only whatever the directory says.
    let mode = Mode::parse(b"a").unwrap();
    assert_eq!(file_name(b"/boot/default.cfg", mode), Err(EROFS));
    assert_eq!(file_name(b"default.cfg", mode), Err(EROFS));
    assert_eq!(file_name(PATH, mode), Ok(PATH));
    assert!(d.open.is_empty());
}

#[test]
fn fflush_null_writes_out_every_stream() {
    let (mut f, mut d) = (Files::new(), Disk::new());
    let a = f.open(&mut d, b"/disk/V/a", b"w").unwrap();
    let b = f.open(&mut d, b"/disk/V/b", b"w").unwrap();
    f.write(&mut d, a, b"aaa").unwrap();
    f.write(&mut d, b, b"bb").unwrap();
    f.flush(&mut d, None).unwrap();
    assert_eq!(d.file("/disk/V/a"), Some(&b"aaa"[..]));
    assert_eq!(d.file("/disk/V/b"), Some(&b"bb"[..]));
    f.close(&mut d, a).unwrap();
    f.close(&mut d, b).unwrap();
    assert_eq!(d.writes, [3, 2], "nothing written twice");
    assert_eq!(f.output(Stream::STDERR), Ok(Some(Console::Err)));
}
