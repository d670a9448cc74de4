//! `m3-tests.exe disk`: the M6 checks of files on disk volumes from ring 3
//! (the kernel counts them under M6): C's `FILE` functions on files of
//! the FAT volumes the host made (tests/src/disk.rs), by label and by
//! partition name, and the names that must fail; then the writing checks
//! ([`crate::disk_writes`]).

use core::ffi::{c_char, c_int, c_long, c_void, CStr};
use testkit::{check, Report};

const SEEK_END: c_int = 2;
const ENOENT: c_int = 2;

#[cfg_attr(windows, link(name = "runtime", kind = "raw-dylib"))]
unsafe extern "C" {
    fn fopen(path: *const c_char, mode: *const c_char) -> *mut c_void;
    fn fclose(f: *mut c_void) -> c_int;
    fn fread(buf: *mut c_void, size: usize, n: usize, f: *mut c_void) -> usize;
    fn fseek(f: *mut c_void, offset: c_long, whence: c_int) -> c_int;
    fn ftell(f: *mut c_void) -> c_long;
    fn _errno() -> *mut c_int;
}

/// FNV-1a, 64 bits (the host compares it with its own file's).
fn fnv1a(data: &[u8], mut h: u64) -> u64 {
    for &b in data {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// The whole file at `path` read with `fread` in `piece`-byte pieces:
/// (bytes, FNV-1a of them, `ftell` after `fseek(0, SEEK_END)`), or the
/// errno of a failed `fopen`.
fn read_all(path: &CStr, piece: usize) -> Result<(usize, u64, c_long, [u8; 64]), c_int> {
    // SAFETY: both strings are NUL-terminated.
    let f = unsafe { fopen(path.as_ptr(), c"rb".as_ptr()) };
    if f.is_null() {
        // SAFETY: runtime.dll's errno, valid for the process.
        return Err(unsafe { *_errno() });
    }
    let mut buf = [0u8; 4096];
    let piece = piece.min(buf.len());
    let mut total = 0;
    let mut hash = 0xcbf2_9ce4_8422_2325;
    let mut head = [0u8; 64];
    loop {
        // SAFETY: `buf` holds `piece` bytes; `f` is open.
        let n = unsafe { fread(buf.as_mut_ptr().cast(), 1, piece, f) };
        if n == 0 {
            break;
        }
        if total < head.len() {
            let k = (head.len() - total).min(n);
            head[total..total + k].copy_from_slice(&buf[..k]);
        }
        hash = fnv1a(&buf[..n], hash);
        total += n;
    }
    // SAFETY: `f` is open; closed once below.
    let end = unsafe {
        fseek(f, 0, SEEK_END);
        ftell(f)
    };
    // SAFETY: as above.
    unsafe { fclose(f) };
    Ok((total, hash, end, head))
}

/// Runs the checks; 0 when all passed.
pub fn run() -> i32 {
    let mut r = Report::new();
    let readme = read_all(c"/disk/FERRITE32/readme.txt", 7);
    let ok = matches!(&readme, Ok((n, _, end, head))
        if *n == 40 && *end == 40 && head.starts_with(b"The FERRITE32 volume, made by the host."));
    check!(
        r,
        "fopen_reads_a_disk_file",
        ok,
        "/disk/FERRITE32/readme.txt in 7-byte freads: {:?}",
        readme.map(|(n, h, e, _)| (n, h, e))
    );
    let long = read_all(c"/disk/ferrite16/A LONG FILE NAME WITH SPACES.TXT", 4096);
    let sample = read_all(c"/disk/vdb2/data/freedoom-sample.bin", 4096);
    let ok = matches!(&long, Ok((16, _, 16, head)) if head.starts_with(b"long names work\n"))
        && matches!(&sample, Ok((300_000, _, 300_000, _)));
    check!(
        r,
        "disk_files_by_label_and_partition",
        ok,
        "long name by label in another case: {:?}; 300000-byte sample by partition name: {} fnv={:016x}",
        long.map(|(n, _, e, _)| (n, e)),
        sample.map_or(0, |s| s.0),
        sample.map_or(0, |s| s.1)
    );
    let missing = read_all(c"/disk/FERRITE32/no-such-file.txt", 16);
    let no_volume = read_all(c"/disk/NOVOLUME/readme.txt", 16);
    let directory = read_all(c"/disk/FERRITE32/data", 16);
    let ok = missing.err() == Some(ENOENT) && no_volume.err() == Some(ENOENT) && directory.is_err();
    check!(
        r,
        "disk_names_refused",
        ok,
        "a missing file: {:?}, a missing volume: {:?}, a directory: {:?}",
        missing.err(),
        no_volume.err(),
        directory.err()
    );
    crate::disk_writes::run(&mut r);
    if r.all_passed() {
        0
    } else {
        1
    }
}
