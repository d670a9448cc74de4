//! The FILE engine over a fake backend: reads, buffering, seeks, modes,
//! names, refused streams and the console streams.

use crt::stdio::errno::{EBADF, EINVAL, EMFILE, ENOENT, EOVERFLOW, EROFS, ESPIPE};
use crt::stdio::{boot_name, AtExit, Backend, Console, Files, Mode, Stream, Whence};
use crt::stdio::{BUFFER_SIZE, FOPEN_MAX, STREAM_IDS};

/// Boot files in memory, with call counts and an injectable read error.
#[derive(Default)]
struct Fake {
    files: Vec<(String, Vec<u8>)>,
    /// Open handles: (handle, file index, position).
    open: Vec<(u64, usize, u64)>,
    next_handle: u64,
    reads: usize,
    seeks: usize,
    closes: usize,
    fail_reads: Option<i32>,
    /// Each backend read returns at most this many bytes (short reads).
    chunk: usize,
    out: Vec<(Console, Vec<u8>)>,
    flushes: usize,
}

impl Fake {
    fn with(files: &[(&str, Vec<u8>)]) -> Self {
        Self {
            files: files
                .iter()
                .map(|(n, d)| (n.to_string(), d.clone()))
                .collect(),
            next_handle: 100,
            chunk: usize::MAX,
            ..Self::default()
        }
    }

    fn handle(&mut self, h: u64) -> &mut (u64, usize, u64) {
        self.open
            .iter_mut()
            .find(|o| o.0 == h)
            .expect("a live handle")
    }
}

impl Backend for Fake {
    fn open(&mut self, name: &[u8], mode: Mode) -> Result<u64, i32> {
        assert!(!name.contains(&b'/') && !name.contains(&b'\\'));
        assert!(!mode.write, "a boot file opened to write");
        let name = std::str::from_utf8(name).unwrap();
        let i = self
            .files
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(name))
            .ok_or(ENOENT)?;
        self.next_handle += 4;
        self.open.push((self.next_handle, i, 0));
        Ok(self.next_handle)
    }

    fn read(&mut self, h: u64, buf: &mut [u8]) -> Result<usize, i32> {
        self.reads += 1;
        if let Some(e) = self.fail_reads {
            return Err(e);
        }
        let chunk = self.chunk;
        let (_, i, pos) = *self.handle(h);
        let data = &self.files[i].1;
        let start = (pos as usize).min(data.len());
        let n = buf.len().min(data.len() - start).min(chunk);
        buf[..n].copy_from_slice(&data[start..start + n]);
        self.handle(h).2 += n as u64;
        Ok(n)
    }

    fn seek(&mut self, h: u64, offset: i64, whence: Whence) -> Result<u64, i32> {
        self.seeks += 1;
        let (_, i, pos) = *self.handle(h);
        let base = match whence {
            Whence::Set => 0,
            Whence::Current => pos as i64,
            Whence::End => self.files[i].1.len() as i64,
        };
        let new = base.checked_add(offset).filter(|&p| p >= 0).ok_or(EINVAL)?;
        self.handle(h).2 = new as u64;
        Ok(new as u64)
    }

    fn write(&mut self, _: u64, _: &[u8]) -> Result<usize, i32> {
        panic!("a boot file written");
    }

    fn close(&mut self, h: u64) -> Result<(), i32> {
        self.closes += 1;
        let k = self.open.iter().position(|o| o.0 == h).expect("open");
        self.open.remove(k);
        Ok(())
    }

    fn console_write(&mut self, console: Console, bytes: &[u8]) {
        self.out.push((console, bytes.to_vec()));
    }

    fn console_flush(&mut self) {
        self.flushes += 1;
    }
}

fn data(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}

fn wad() -> (Files, Fake) {
    (
        Files::new(),
        Fake::with(&[
            ("freedoom1.wad", data(100_000)),
            ("default.cfg", b"a 1\nbb 2\nlast".to_vec()),
        ]),
    )
}

#[test]
fn reads_whole_file_in_pieces() {
    let (mut f, mut b) = wad();
    let s = f.open(&mut b, b"freedoom1.wad", b"rb").unwrap();
    let mut all = Vec::new();
    let mut piece = [0u8; 1000];
    loop {
        let (n, r) = f.read(&mut b, s, &mut piece);
        r.unwrap();
        all.extend_from_slice(&piece[..n]);
        if n < piece.len() {
            break;
        }
    }
    assert_eq!(all, data(100_000));
    assert!(f.eof(s).unwrap());
    assert!(!f.error(s).unwrap());
    // Buffered: one backend read per 4 KiB, not per piece.
    assert_eq!(b.reads, 100_000 / BUFFER_SIZE + 2);
    assert_eq!(f.tell(s).unwrap(), 100_000);
}

#[test]
fn large_reads_bypass_the_buffer() {
    let (mut f, mut b) = wad();
    let s = f.open(&mut b, b"FREEDOOM1.WAD", b"r").unwrap();
    let mut big = vec![0u8; 50_000];
    let (n, r) = f.read(&mut b, s, &mut big);
    r.unwrap();
    assert_eq!(n, 50_000);
    assert_eq!(big, data(100_000)[..50_000]);
    assert_eq!(b.reads, 1, "one direct read");
    // Short backend reads are retried until the request is met.
    b.chunk = 999;
    let (n, _) = f.read(&mut b, s, &mut big);
    assert_eq!(n, 50_000);
    assert_eq!(big, data(100_000)[50_000..]);
    assert!(!f.eof(s).unwrap());
    let (n, _) = f.read(&mut b, s, &mut big);
    assert_eq!(n, 0);
    assert!(f.eof(s).unwrap());
}

#[test]
fn lumps_by_seek_and_read() {
    let (mut f, mut b) = wad();
    let all = data(100_000);
    let s = f.open(&mut b, b"./freedoom1.wad", b"rb").unwrap();
    assert_eq!(f.seek(&mut b, s, 0, Whence::End).unwrap(), 100_000);
    assert_eq!(f.tell_long(s).unwrap(), 100_000);
    for (at, len) in [(12, 4), (90_000, 8000), (5, 20_000), (99_990, 10), (4, 4)] {
        assert_eq!(f.seek(&mut b, s, at, Whence::Set).unwrap(), at as u64);
        let mut buf = vec![0u8; len];
        let (n, r) = f.read(&mut b, s, &mut buf);
        r.unwrap();
        assert_eq!(&buf[..n], &all[at as usize..at as usize + len]);
        assert_eq!(f.tell(s).unwrap(), at as u64 + len as u64);
    }
    // Relative seeks, also inside the buffered window (no backend call).
    f.seek(&mut b, s, 1000, Whence::Set).unwrap();
    let mut one = [0u8; 1];
    f.read(&mut b, s, &mut one).1.unwrap();
    let seeks = b.seeks;
    assert_eq!(f.seek(&mut b, s, 100, Whence::Current).unwrap(), 1101);
    f.read(&mut b, s, &mut one).1.unwrap();
    assert_eq!(one[0], all[1101]);
    assert_eq!(f.seek(&mut b, s, -1102, Whence::Current).unwrap(), 0);
    f.read(&mut b, s, &mut one).1.unwrap();
    assert_eq!(one[0], all[0]);
    assert_eq!(f.seek(&mut b, s, 1500, Whence::Set).unwrap(), 1500);
    f.read(&mut b, s, &mut one).1.unwrap();
    assert_eq!(one[0], all[1500]);
    assert_eq!(
        b.seeks,
        seeks + 1,
        "only the seek back to 0 left the window"
    );
    assert_eq!(f.seek(&mut b, s, -5000, Whence::Current), Err(EINVAL));
    assert_eq!(f.seek(&mut b, s, -1, Whence::Set), Err(EINVAL));
    assert_eq!(f.tell(s).unwrap(), 1501, "a failed seek moves nothing");
    f.read(&mut b, s, &mut one).1.unwrap();
    assert_eq!(one[0], all[1501]);
    // Past the end: allowed, reads give nothing.
    assert_eq!(f.seek(&mut b, s, 10, Whence::End).unwrap(), 100_010);
    assert_eq!(f.read(&mut b, s, &mut one).0, 0);
    assert!(f.eof(s).unwrap());
    f.rewind(&mut b, s).unwrap();
    assert!(!f.eof(s).unwrap());
    assert_eq!(f.getc(&mut b, s), Ok(Some(all[0])));
}

#[test]
fn eof_is_sticky_until_cleared() {
    let (mut f, mut b) = wad();
    let s = f.open(&mut b, b"default.cfg", b"r").unwrap();
    let mut buf = [0u8; 64];
    assert_eq!(f.read(&mut b, s, &mut buf).0, 13);
    assert!(f.eof(s).unwrap());
    let reads = b.reads;
    assert_eq!(f.getc(&mut b, s), Ok(None));
    assert_eq!(b.reads, reads, "no read while the EOF indicator is set");
    f.clear_error(s).unwrap();
    assert!(!f.eof(s).unwrap());
    assert_eq!(f.getc(&mut b, s), Ok(None));
    assert!(f.eof(s).unwrap());
}

#[test]
fn gets_and_ungetc() {
    let (mut f, mut b) = wad();
    let s = f.open(&mut b, b"default.cfg", b"rt").unwrap();
    let mut line = [0u8; 8];
    assert_eq!(f.gets(&mut b, s, &mut line), Ok(Some(4)));
    assert_eq!(&line[..4], b"a 1\n");
    assert_eq!(f.getc(&mut b, s), Ok(Some(b'b')));
    assert_eq!(f.unget(s, b'X'), Ok(true));
    assert_eq!(f.unget(s, b'Y'), Ok(false), "one byte of push-back");
    assert_eq!(f.tell(s).unwrap(), 4);
    assert_eq!(f.gets(&mut b, s, &mut line), Ok(Some(5)));
    assert_eq!(&line[..5], b"Xb 2\n");
    // A line longer than the buffer comes in pieces of len - 1.
    let mut small = [0u8; 3];
    assert_eq!(f.gets(&mut b, s, &mut small), Ok(Some(2)));
    assert_eq!(&small[..2], b"la");
    assert_eq!(f.gets(&mut b, s, &mut line), Ok(Some(2)));
    assert_eq!(&line[..2], b"st");
    assert_eq!(f.gets(&mut b, s, &mut line), Ok(None));
    assert!(f.eof(s).unwrap());
    assert_eq!(f.unget(s, b'!'), Ok(true));
    assert!(!f.eof(s).unwrap(), "ungetc clears EOF");
    assert_eq!(f.getc(&mut b, s), Ok(Some(b'!')));
    assert_eq!(f.gets(&mut b, s, &mut [0u8; 1]), Ok(Some(0)));
}

#[test]
fn read_errors_set_the_error_indicator() {
    let (mut f, mut b) = wad();
    let s = f.open(&mut b, b"freedoom1.wad", b"rb").unwrap();
    b.fail_reads = Some(5);
    let mut buf = [0u8; 10];
    assert_eq!(f.read(&mut b, s, &mut buf), (0, Err(5)));
    assert!(f.error(s).unwrap());
    assert!(!f.eof(s).unwrap());
    assert_eq!(f.getc(&mut b, s), Err(5));
    f.clear_error(s).unwrap();
    b.fail_reads = None;
    assert!(!f.error(s).unwrap());
    assert_eq!(f.read(&mut b, s, &mut buf).0, 10);
}

#[test]
fn modes_that_write_boot_files_are_refused() {
    let (mut f, mut b) = wad();
    for m in ["w", "wb", "a", "ab", "r+", "rb+", "r+b", "w+", "a+", "wx"] {
        assert_eq!(
            f.open(&mut b, b"default.cfg", m.as_bytes()),
            Err(EROFS),
            "{m}"
        );
    }
    for m in [
        "", "x", "rr", "rbb", "rbt", "r+x", "q", "R", "r ", "ax", "b",
    ] {
        assert_eq!(
            f.open(&mut b, b"default.cfg", m.as_bytes()),
            Err(EINVAL),
            "{m:?}"
        );
    }
    assert_eq!(f.open(&mut b, b"missing.wad", b"rb"), Err(ENOENT));
    assert!(b.open.is_empty());
    assert_eq!(
        Mode::parse(b"r+b").map(|m| (m.read, m.write)),
        Ok((true, true))
    );
    assert_eq!(Mode::parse(b"a").map(|m| m.append), Ok(true));
}

#[test]
fn paths_map_to_boot_names() {
    let ok = [
        ("freedoom1.wad", "freedoom1.wad"),
        ("./freedoom1.wad", "freedoom1.wad"),
        ("././.\\doom.wad", "doom.wad"),
        ("/usr/share/games/doom/freedoom1.wad", "freedoom1.wad"),
        ("C:\\doom\\DOOM1.WAD", "DOOM1.WAD"),
        ("../x.cfg", "x.cfg"),
        ("dir/./a", "a"),
        (".hidden", ".hidden"),
        // Disk paths go to the kernel whole; only the `/disk/` prefix
        // makes one (a relative `disk/x` is still a boot name).
        ("/disk/FERRITE32/data/x.bin", "/disk/FERRITE32/data/x.bin"),
        ("disk/FERRITE32/x.bin", "x.bin"),
    ];
    for (path, name) in ok {
        assert_eq!(boot_name(path.as_bytes()), Ok(name.as_bytes()), "{path}");
    }
    for bad in ["", "./", "/usr/", ".", "..", "a/..", "./."] {
        assert_eq!(boot_name(bad.as_bytes()), Err(ENOENT), "{bad}");
    }
    let (mut f, mut b) = wad();
    let s = f
        .open(&mut b, b"/usr/share/games/doom/FreeDoom1.wad", b"rb")
        .unwrap();
    assert_eq!(f.getc(&mut b, s), Ok(Some(data(1)[0])));
}

#[test]
fn closed_and_forged_streams_are_refused() {
    let (mut f, mut b) = wad();
    let s = f.open(&mut b, b"default.cfg", b"r").unwrap();
    f.close(&mut b, s).unwrap();
    assert_eq!(b.closes, 1);
    assert_eq!(f.close(&mut b, s), Err(EBADF), "double fclose");
    assert_eq!(b.closes, 1);
    let mut buf = [0u8; 4];
    assert_eq!(f.read(&mut b, s, &mut buf), (0, Err(EBADF)));
    assert_eq!(f.getc(&mut b, s), Err(EBADF));
    assert_eq!(f.seek(&mut b, s, 0, Whence::Set), Err(EBADF));
    assert_eq!(f.tell(s), Err(EBADF));
    assert_eq!(f.eof(s), Err(EBADF));
    assert_eq!(f.unget(s, b'a'), Err(EBADF));
    assert_eq!(f.flush(&mut b, Some(s)), Err(EBADF));
    // Reopened: the old id still does not reach the new stream, however
    // often the slot comes round (up to the 64-generation wrap).
    let mut live = Vec::new();
    for _ in 0..FOPEN_MAX * 10 {
        let t = f.open(&mut b, b"default.cfg", b"r").unwrap();
        assert_ne!(t, s);
        live.push(t);
        f.close(&mut b, t).unwrap();
    }
    let t = f.open(&mut b, b"default.cfg", b"r").unwrap();
    assert_eq!(f.getc(&mut b, t), Ok(Some(b'a')));
    for id in 0..STREAM_IDS {
        let x = Stream::from_raw(id).unwrap();
        let open = f.is_open(x);
        assert_eq!(
            open,
            [t, Stream::STDIN, Stream::STDOUT, Stream::STDERR].contains(&x),
            "{id}"
        );
    }
    assert_eq!(Stream::from_raw(STREAM_IDS), None);
}

#[test]
fn the_table_fills_and_frees() {
    let (mut f, mut b) = wad();
    let streams: Vec<Stream> = (0..FOPEN_MAX)
        .map(|_| f.open(&mut b, b"default.cfg", b"r").unwrap())
        .collect();
    assert_eq!(f.open(&mut b, b"default.cfg", b"r"), Err(EMFILE));
    assert_eq!(b.open.len(), FOPEN_MAX, "no handle leaked by the refusal");
    f.close(&mut b, streams[7]).unwrap();
    let s = f.open(&mut b, b"default.cfg", b"r").unwrap();
    assert_eq!(f.getc(&mut b, s), Ok(Some(b'a')));
    for t in &streams {
        let r = f.close(&mut b, *t);
        assert_eq!(r.is_ok(), *t != streams[7]);
    }
}

#[test]
fn standard_streams() {
    let (mut f, mut b) = wad();
    assert_eq!(f.write(&mut b, Stream::STDOUT, b"hello"), Ok(5));
    assert_eq!(f.write(&mut b, Stream::STDERR, b"oops\n"), Ok(5));
    assert_eq!(
        b.out,
        vec![
            (Console::Out, b"hello".to_vec()),
            (Console::Err, b"oops\n".to_vec())
        ]
    );
    assert_eq!(f.console(Stream::STDERR), Ok(Console::Err));
    f.flush(&mut b, Some(Stream::STDOUT)).unwrap();
    f.flush(&mut b, None).unwrap();
    assert_eq!(b.flushes, 2);
    // stdin reads nothing; the outputs cannot be read, files not written.
    assert_eq!(f.getc(&mut b, Stream::STDIN), Ok(None));
    assert!(f.eof(Stream::STDIN).unwrap());
    assert_eq!(f.getc(&mut b, Stream::STDOUT), Err(EBADF));
    assert!(f.error(Stream::STDOUT).unwrap());
    let s = f.open(&mut b, b"default.cfg", b"r").unwrap();
    assert_eq!(f.write(&mut b, s, b"x"), Err(EBADF));
    assert!(f.error(s).unwrap());
    assert_eq!(f.console(s), Err(EBADF));
    assert_eq!(f.seek(&mut b, Stream::STDOUT, 0, Whence::Set), Err(ESPIPE));
    assert_eq!(f.tell(Stream::STDIN), Err(ESPIPE));
    // fclose(stdout) flushes it; then it is gone.
    f.close(&mut b, Stream::STDOUT).unwrap();
    assert_eq!(b.flushes, 3);
    assert_eq!(f.write(&mut b, Stream::STDOUT, b"x"), Err(EBADF));
    assert_eq!(b.out.len(), 2);
}

/// A backend whose file is larger than a 32-bit `long` can say.
struct Huge(u64);

impl Backend for Huge {
    fn open(&mut self, _: &[u8], _: Mode) -> Result<u64, i32> {
        Ok(1)
    }
    fn write(&mut self, _: u64, _: &[u8]) -> Result<usize, i32> {
        Err(EROFS)
    }
    fn read(&mut self, _: u64, buf: &mut [u8]) -> Result<usize, i32> {
        buf.fill(0);
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn seek(&mut self, _: u64, offset: i64, whence: Whence) -> Result<u64, i32> {
        assert_eq!(whence, Whence::Set);
        self.0 = offset as u64;
        Ok(self.0)
    }
    fn close(&mut self, _: u64) -> Result<(), i32> {
        Ok(())
    }
    fn console_write(&mut self, _: Console, _: &[u8]) {}
    fn console_flush(&mut self) {}
}

#[test]
fn ftell_past_long_max_overflows() {
    let mut f = Files::new();
    let mut b = Huge(0);
    let s = f.open(&mut b, b"big", b"rb").unwrap();
    f.seek(&mut b, s, i32::MAX as i64, Whence::Set).unwrap();
    assert_eq!(f.tell_long(s), Ok(i32::MAX));
    assert_eq!(f.getc(&mut b, s), Ok(Some(0)));
    assert_eq!(f.tell_long(s), Err(EOVERFLOW));
    assert_eq!(f.tell(s), Ok(1 << 31));
}

#[test]
fn atexit_runs_last_first() {
    let mut t = AtExit::<u32>::new();
    for i in 0..32 {
        assert!(t.push(i));
    }
    assert!(!t.push(99), "full at 32");
    let order: Vec<u32> = std::iter::from_fn(|| t.pop()).collect();
    assert_eq!(order, (0..32).rev().collect::<Vec<_>>());
    assert!(t.push(5));
    assert_eq!(t.pop(), Some(5));
    assert_eq!(t.pop(), None);
}
