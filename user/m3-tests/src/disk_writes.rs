//! `m3-tests.exe disk`, the writing half: a file written with `fprintf`,
//! `fputs`, `fputc` and `fwrite`, closed, appended to and read back
//! (tests/src/disk.rs reads the same file from the image after power-off
//! and compares it with [`written_file`]'s recipe); directories made,
//! listed and deleted; a file open for writing is not shared; a draft
//! renamed over a saved file (the host finds the draft's bytes under the
//! saved name).

use core::ffi::{c_char, c_int, c_void, CStr};
use core::fmt::Write;
use testkit::{check, Report};

const EACCES: c_int = 13;
const EEXIST: c_int = 17;
const ENOENT: c_int = 2;
const EINVAL: c_int = 22;
const EROFS: c_int = 30;
/// `-(abi::Error::NotFound)`, as the native calls return it.
const NOT_FOUND: i32 = -(abi::Error::NotFound as i32);

#[cfg_attr(windows, link(name = "runtime", kind = "raw-dylib"))]
unsafe extern "C" {
    fn fopen(path: *const c_char, mode: *const c_char) -> *mut c_void;
    fn fclose(f: *mut c_void) -> c_int;
    fn fread(buf: *mut c_void, size: usize, n: usize, f: *mut c_void) -> usize;
    fn fwrite(buf: *const c_void, size: usize, n: usize, f: *mut c_void) -> usize;
    fn fputs(s: *const c_char, f: *mut c_void) -> c_int;
    fn fputc(c: c_int, f: *mut c_void) -> c_int;
    fn fprintf(f: *mut c_void, fmt: *const c_char, ...) -> c_int;
    fn remove(path: *const c_char) -> c_int;
    fn rename(from: *const c_char, to: *const c_char) -> c_int;
    fn mkdir(path: *const c_char, mode: u32) -> c_int;
    fn _errno() -> *mut c_int;
    fn GetFileInfo(path: *const c_char, out: *mut abi::FileInfo) -> i32;
    fn ReadDirectory(path: *const c_char, index: u32, out: *mut abi::DirectoryEntry) -> i32;
}

/// The directory and file the program writes (the host reads them back).
const DIR: &CStr = c"/disk/FERRITE32/from ring 3";
const FILE: &CStr = c"/disk/FERRITE32/from ring 3/Written By A Program.txt";
/// Lines `fprintf` writes, and bytes `fwrite` writes after them.
const LINES: u32 = 500;
const BLOB: usize = 100_000;

fn errno() -> c_int {
    // SAFETY: runtime.dll's errno, valid for the process.
    unsafe { *_errno() }
}

fn set_errno(v: c_int) {
    // SAFETY: as above.
    unsafe { *_errno() = v };
}

/// FNV-1a, 64 bits.
fn fnv1a(data: &[u8], mut h: u64) -> u64 {
    for &b in data {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    h
}

const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// A line of text in a stack buffer.
struct Line {
    buf: [u8; 96],
    len: usize,
}

impl Write for Line {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len + s.len();
        self.buf
            .get_mut(self.len..end)
            .ok_or(core::fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Byte `k` of the `fwrite` part.
fn blob_byte(k: usize) -> u8 {
    (k * 7 + k / 256) as u8
}

/// The file's bytes as the program means to write them, piece by piece
/// (the host's `disk::ring3_file` is the same recipe).
fn written_file(mut out: impl FnMut(&[u8])) {
    let mut line = Line {
        buf: [0; 96],
        len: 0,
    };
    let _ = writeln!(
        line,
        "Ferrite ring 3 wrote this file: {LINES} lines, then {BLOB} bytes."
    );
    out(&line.buf[..line.len]);
    for i in 0..LINES {
        line.len = 0;
        let _ = writeln!(line, "line {i:04}: the quick brown fox");
        out(&line.buf[..line.len]);
    }
    let mut chunk = [0u8; 1000];
    for start in (0..BLOB).step_by(chunk.len()) {
        for (j, b) in chunk.iter_mut().enumerate() {
            *b = blob_byte(start + j);
        }
        out(&chunk[..chunk.len().min(BLOB - start)]);
    }
    out(b"appended after reopening\n!");
}

/// Writes [`FILE`] with the C calls; the errno of the first failure.
fn write_the_file() -> Result<(), (&'static str, c_int)> {
    // SAFETY: NUL-terminated strings.
    if unsafe { mkdir(DIR.as_ptr(), 0o755) } != 0 && errno() != EEXIST {
        return Err(("mkdir", errno()));
    }
    // SAFETY: as above.
    let f = unsafe { fopen(FILE.as_ptr(), c"w".as_ptr()) };
    if f.is_null() {
        return Err(("fopen w", errno()));
    }
    let mut ok = true;
    // SAFETY: `f` is open; the format's arguments match its conversions.
    unsafe {
        ok &= fprintf(
            f,
            c"Ferrite ring 3 wrote this file: %u lines, then %d bytes.\n".as_ptr(),
            LINES,
            BLOB as c_int,
        ) > 0;
        for i in 0..LINES {
            ok &= fprintf(
                f,
                c"line %04u: %s\n".as_ptr(),
                i,
                c"the quick brown fox".as_ptr(),
            ) > 0;
        }
    }
    // The blob in pieces of 1, 4095 and the rest: through the buffer, to
    // its edge, and past it (a direct write).
    let mut blob = [0u8; 4096];
    let mut at = 0;
    for size in [1usize, 4095, BLOB - 4096] {
        let mut left = size;
        while left > 0 {
            let n = left.min(blob.len());
            for (j, b) in blob[..n].iter_mut().enumerate() {
                *b = blob_byte(at + j);
            }
            // SAFETY: `blob` holds `n` bytes; `f` is open.
            ok &= unsafe { fwrite(blob.as_ptr().cast(), 1, n, f) } == n;
            at += n;
            left -= n;
        }
    }
    // SAFETY: `f` is open; closed once.
    if !ok || unsafe { fclose(f) } != 0 {
        return Err(("write", errno()));
    }
    // SAFETY: NUL-terminated strings.
    let f = unsafe { fopen(FILE.as_ptr(), c"a".as_ptr()) };
    if f.is_null() {
        return Err(("fopen a", errno()));
    }
    // SAFETY: `f` is open; closed once.
    let ok = unsafe {
        fputs(c"appended after reopening\n".as_ptr(), f) >= 0
            && fputc(c_int::from(b'!'), f) == c_int::from(b'!')
            && fclose(f) == 0
    };
    if !ok {
        return Err(("append", errno()));
    }
    Ok(())
}

/// (bytes, FNV-1a) of the file at `path`, read back with `fread`.
fn read_back(path: &CStr) -> Option<(usize, u64)> {
    // SAFETY: NUL-terminated strings.
    let f = unsafe { fopen(path.as_ptr(), c"rb".as_ptr()) };
    if f.is_null() {
        return None;
    }
    let mut buf = [0u8; 3000];
    let (mut total, mut hash) = (0, FNV_START);
    loop {
        // SAFETY: `buf` is writable; `f` is open.
        let n = unsafe { fread(buf.as_mut_ptr().cast(), 1, buf.len(), f) };
        if n == 0 {
            break;
        }
        hash = fnv1a(&buf[..n], hash);
        total += n;
    }
    // SAFETY: `f` is open; closed once.
    unsafe { fclose(f) };
    Some((total, hash))
}

fn file_info(path: &CStr) -> Result<abi::FileInfo, i32> {
    let mut info = abi::FileInfo::default();
    // SAFETY: `path` is NUL-terminated; `info` is writable.
    match unsafe { GetFileInfo(path.as_ptr(), &mut info) } {
        0 => Ok(info),
        e => Err(e),
    }
}

/// The file was written, appended to and read back whole.
fn written_and_read_back(r: &mut Report) {
    let wrote = write_the_file();
    let (mut want_len, mut want_hash) = (0, FNV_START);
    written_file(|piece| {
        want_len += piece.len();
        want_hash = fnv1a(piece, want_hash);
    });
    let got = read_back(FILE);
    let info = file_info(FILE);
    let ok = wrote.is_ok()
        && got == Some((want_len, want_hash))
        && info.is_ok_and(|i| i.size == want_len as u64 && i.flags == 0);
    check!(
        r,
        "fprintf_fwrite_reach_a_disk_file",
        ok,
        "{wrote:?}; read back {got:?}, meant {want_len} bytes fnv={want_hash:016x}; GetFileInfo {:?}",
        info.map(|i| (i.size, i.flags))
    );
}

/// The names and sizes in directory `path`, as one line (at most 8).
fn listing(path: &CStr) -> (u32, Line, i32) {
    let mut line = Line {
        buf: [0; 96],
        len: 0,
    };
    let mut entry = abi::DirectoryEntry::default();
    let mut i = 0;
    let end = loop {
        // SAFETY: `path` is NUL-terminated; `entry` is writable.
        let e = unsafe { ReadDirectory(path.as_ptr(), i, &mut entry) };
        if e != 0 || i == 8 {
            break e;
        }
        let name = core::str::from_utf8(&entry.name[..entry.name_len as usize]).unwrap_or("?");
        let dir = if entry.flags & abi::file_flags::DIRECTORY != 0 {
            "/"
        } else {
            ""
        };
        let _ = write!(line, "{name}{dir}={} ", entry.size);
        i += 1;
    };
    (i, line, end)
}

/// Directories are made, listed in order and deleted; a directory that
/// is not empty stays.
fn directories(r: &mut Report) {
    const LIST: &CStr = c"/disk/FERRITE32/from ring 3/listing";
    const NAMES: [&CStr; 3] = [
        c"/disk/FERRITE32/from ring 3/listing/first file.txt",
        c"/disk/FERRITE32/from ring 3/listing/Second.BIN",
        c"/disk/FERRITE32/from ring 3/listing/sub",
    ];
    // SAFETY (for the block): NUL-terminated strings, files closed once.
    let made = unsafe {
        let mut ok = mkdir(LIST.as_ptr(), 0) == 0;
        for (k, name) in NAMES[..2].iter().enumerate() {
            let f = fopen(name.as_ptr(), c"wb".as_ptr());
            ok &= !f.is_null()
                && fwrite(c"0123456789".as_ptr().cast(), 1, 3 + 4 * k, f) == 3 + 4 * k
                && fclose(f) == 0;
        }
        ok & (mkdir(NAMES[2].as_ptr(), 0) == 0)
    };
    let (count, line, end) = listing(LIST);
    let listed = &line.buf[..line.len];
    let full = made
        && count == 3
        && end == NOT_FOUND
        && listed == b"first file.txt=3 Second.BIN=7 sub/=0 ";
    // SAFETY: NUL-terminated strings.
    let (not_empty, not_empty_errno) = (unsafe { remove(LIST.as_ptr()) }, errno());
    // SAFETY: as above.
    let removed = NAMES.iter().all(|n| unsafe { remove(n.as_ptr()) } == 0);
    let (after, _, after_end) = listing(LIST);
    // SAFETY: as above.
    let gone = unsafe { remove(LIST.as_ptr()) } == 0 && file_info(LIST) == Err(NOT_FOUND);
    let (roots, root_line, _) = listing(c"/");
    let root_ok = roots == 2 && &root_line.buf[..root_line.len] == b"boot/=0 disk/=0 ";
    let disk_dir = file_info(c"/disk").map(|i| i.flags);
    let ok = full
        && not_empty == -1
        && not_empty_errno != 0
        && removed
        && after == 0
        && after_end == NOT_FOUND
        && gone
        && root_ok
        && disk_dir == Ok(abi::file_flags::DIRECTORY);
    check!(
        r,
        "directories_list_create_and_delete",
        ok,
        "listed {count}: {}(end {end}); non-empty remove {not_empty}/{not_empty_errno}; emptied {after}; gone {gone}; / lists {}",
        core::str::from_utf8(listed).unwrap_or("?"),
        core::str::from_utf8(&root_line.buf[..root_line.len]).unwrap_or("?")
    );
}

/// A file open for writing has no second handle, cannot be removed while
/// open, and boot files cannot be written.
fn not_shared(r: &mut Report) {
    const NAME: &CStr = c"/disk/FERRITE32/from ring 3/locked.txt";
    // SAFETY (for the block): NUL-terminated strings; each FILE * closed
    // once.
    let (writer, second, second_errno, reader, reader_errno, busy, busy_errno) = unsafe {
        let w = fopen(NAME.as_ptr(), c"w".as_ptr());
        set_errno(0);
        let second = fopen(NAME.as_ptr(), c"a".as_ptr());
        let second_errno = errno();
        set_errno(0);
        let reader = fopen(NAME.as_ptr(), c"r".as_ptr());
        let reader_errno = errno();
        set_errno(0);
        let busy = remove(NAME.as_ptr());
        let busy_errno = errno();
        (
            w,
            second,
            second_errno,
            reader,
            reader_errno,
            busy,
            busy_errno,
        )
    };
    // SAFETY: `writer` is open if not null; closed once.
    let closed = !writer.is_null() && unsafe { fclose(writer) } == 0;
    // Two readers share.
    // SAFETY: NUL-terminated strings; each closed once.
    let readers = unsafe {
        let a = fopen(NAME.as_ptr(), c"r".as_ptr());
        let b = fopen(NAME.as_ptr(), c"rb".as_ptr());
        let ok = !a.is_null() && !b.is_null();
        if !a.is_null() {
            fclose(a);
        }
        if !b.is_null() {
            fclose(b);
        }
        ok
    };
    // SAFETY: NUL-terminated strings.
    let removed = unsafe { remove(NAME.as_ptr()) } == 0;
    set_errno(0);
    // SAFETY: as above.
    let boot = unsafe { fopen(c"m0-module.txt".as_ptr(), c"r+".as_ptr()) };
    let boot_errno = errno();
    let ok = second.is_null()
        && second_errno == EACCES
        && reader.is_null()
        && reader_errno == EACCES
        && busy == -1
        && busy_errno == EACCES
        && closed
        && readers
        && removed
        && boot.is_null()
        && boot_errno == EROFS;
    check!(
        r,
        "open_files_are_not_shared",
        ok,
        "second writer errno {second_errno}, reader errno {reader_errno}, remove while open {busy}/{busy_errno}; two readers {readers}; removed after close {removed}; boot file r+ errno {boot_errno}"
    );
}

/// A copy of this program on FERRITE32 (the host put it there) starts
/// and exits with the code its arguments ask for; a file that is no
/// program, and a missing one, are refused.
fn program_from_disk(r: &mut Report) {
    use init::rt;
    const COPY: &CStr = c"/disk/FERRITE32/programs/Disk Copy Of M3 Tests.exe";
    // SAFETY: NUL-terminated strings.
    let h = unsafe { rt::CreateProcess(COPY.as_ptr(), c"exit-with 4242".as_ptr()) };
    // SAFETY: `h` is a process handle if not 0; closed once.
    let code = (h != 0).then(|| unsafe {
        rt::WaitForSingleObject(h, 30_000);
        let code = crate::sys::exit_code_process(h);
        rt::CloseHandle(h);
        code
    });
    // SAFETY: NUL-terminated strings.
    let not_a_program =
        unsafe { rt::CreateProcess(c"/disk/FERRITE32/readme.txt".as_ptr(), c"".as_ptr()) };
    // SAFETY: as above.
    let missing =
        unsafe { rt::CreateProcess(c"/disk/FERRITE32/programs/none.exe".as_ptr(), c"".as_ptr()) };
    let ok = code == Some(Some(4242)) && not_a_program == 0 && missing == 0;
    check!(
        r,
        "programs_start_from_disk",
        ok,
        "{} with exit-with 4242: exit code {code:?}; a text file as a program: handle {not_a_program}; a missing one: {missing}",
        COPY.to_str().unwrap_or("?")
    );
}

/// What the renamed draft holds (tests/src/disk.rs looks for it under
/// [`SAVED`] on the image).
const DRAFT_BYTES: &[u8] = b"a draft saved under a new name by rename()\n";
const SAVED: &CStr = c"/disk/FERRITE32/from ring 3/Saved Game.dsg";

/// Writes `bytes` as the whole file `path`.
fn put(path: &CStr, bytes: &[u8]) -> bool {
    // SAFETY: NUL-terminated strings; `f` closed once.
    unsafe {
        let f = fopen(path.as_ptr(), c"wb".as_ptr());
        !f.is_null()
            & (fwrite(bytes.as_ptr().cast(), 1, bytes.len(), f) == bytes.len())
            & (fclose(f) == 0)
    }
}

/// `rename(from, to)` and the `errno` it left.
fn rename_errno(from: &CStr, to: &CStr) -> (c_int, c_int) {
    set_errno(0);
    // SAFETY: NUL-terminated strings.
    let r = unsafe { rename(from.as_ptr(), to.as_ptr()) };
    (r, errno())
}

/// A draft renamed over a saved file replaces it (DOOM saves this way); an
/// open file, a boot file, a missing one, a move to another volume and a
/// directory into itself are refused; a directory moves.
fn renames(r: &mut Report) {
    const DRAFT: &CStr = c"/disk/FERRITE32/from ring 3/draft.tmp";
    const ROOM: &CStr = c"/disk/FERRITE32/from ring 3/a room";
    const INSIDE: &CStr = c"/disk/FERRITE32/from ring 3/a room/inside";
    const MOVED: &CStr = c"/disk/FERRITE32/moved room";
    let written = put(SAVED, b"the old save") && put(DRAFT, DRAFT_BYTES);
    // SAFETY: NUL-terminated strings; `f` closed once.
    let f = unsafe { fopen(DRAFT.as_ptr(), c"rb".as_ptr()) };
    let open = rename_errno(DRAFT, SAVED);
    // SAFETY: as above.
    let closed = !f.is_null() && unsafe { fclose(f) } == 0;
    let renamed = rename_errno(DRAFT, SAVED);
    let draft_gone = file_info(DRAFT) == Err(NOT_FOUND);
    let mut want = FNV_START;
    want = fnv1a(DRAFT_BYTES, want);
    let saved = read_back(SAVED);
    let boot = rename_errno(c"m0-module.txt", DRAFT);
    let missing = rename_errno(DRAFT, SAVED);
    let across = rename_errno(SAVED, c"/disk/ferrite16/Saved Game.dsg");
    // SAFETY: NUL-terminated string.
    let room = unsafe { mkdir(ROOM.as_ptr(), 0) } == 0;
    let into_itself = rename_errno(ROOM, INSIDE);
    let moved = rename_errno(ROOM, MOVED);
    let moved_is_dir = file_info(MOVED).map(|i| i.flags) == Ok(abi::file_flags::DIRECTORY)
        && file_info(ROOM) == Err(NOT_FOUND);
    // SAFETY: NUL-terminated string.
    let cleaned = unsafe { remove(MOVED.as_ptr()) } == 0;
    let ok = written
        && open == (-1, EACCES)
        && closed
        && renamed == (0, 0)
        && draft_gone
        && saved == Some((DRAFT_BYTES.len(), want))
        && boot == (-1, EROFS)
        && missing == (-1, ENOENT)
        && across == (-1, EINVAL)
        && room
        && into_itself == (-1, EINVAL)
        && moved == (0, 0)
        && moved_is_dir
        && cleaned;
    check!(
        r,
        "rename_replaces_and_moves",
        ok,
        "written {written}; while open {open:?}; renamed {renamed:?}, draft gone {draft_gone}, saved {saved:?} (want {} bytes fnv={want:016x}); boot {boot:?}; missing {missing:?}; across volumes {across:?}; into itself {into_itself:?}; directory moved {moved:?} {moved_is_dir}, removed {cleaned}",
        DRAFT_BYTES.len()
    );
}

/// Runs the writing checks.
pub fn run(r: &mut Report) {
    written_and_read_back(r);
    directories(r);
    not_shared(r);
    renames(r);
    program_from_disk(r);
}
