//! Names: 8.3 short names, long-name checks, short-name generation.
//!
//! fatgen103 §6 (short names, "Basis-Name Generation Algorithm",
//! "Numeric-Tail Generation Algorithm") and §7 (long names, checksum).

use crate::error::FatError;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// Characters a short name may hold besides A-Z and 0-9 (fatgen103 §6.1).
const SHORT_EXTRA: &[u8] = b"$%'-_@~`!(){}^#&";

/// Characters a long name may not hold (fatgen103 §7), besides < 0x20.
const LONG_FORBIDDEN: &[char] = &['"', '*', '/', ':', '<', '>', '?', '\\', '|'];

/// NTRes bits (Windows NT and later): base / extension shown lower-case.
pub(crate) const LOWER_BASE: u8 = 0x08;
pub(crate) const LOWER_EXT: u8 = 0x10;

/// The checksum of an 11-byte short name that its LFN entries carry.
pub(crate) fn checksum(short: &[u8; 11]) -> u8 {
    short.iter().fold(0u8, |sum, &b| {
        ((sum & 1) << 7).wrapping_add(sum >> 1).wrapping_add(b)
    })
}

/// The display form of a short name: `BASE.EXT`, lower-cased as NTRes
/// says; bytes past ASCII are shown as Latin-1.
pub(crate) fn short_display(short: &[u8; 11], nt: u8) -> String {
    short_chars(short, nt).collect()
}

/// A volume label: all 11 bytes as one name, trailing spaces cut (a
/// label has no extension, so no dot: fatgen103 §6, "DIR_Name" of the
/// ATTR_VOLUME_ID entry, and BS_VolLab).
pub(crate) fn label_display(label: &[u8; 11]) -> String {
    let end = label.iter().rposition(|&b| b != b' ').map_or(0, |p| p + 1);
    label[..end].iter().map(|&b| char::from(b)).collect()
}

/// The characters of [`short_display`], without allocating.
pub(crate) fn short_chars(short: &[u8; 11], nt: u8) -> impl Iterator<Item = char> + '_ {
    let part = move |from: usize, to: usize, lower: bool| {
        let bytes = &short[from..to];
        let end = bytes.iter().rposition(|&b| b != b' ').map_or(0, |p| p + 1);
        bytes[..end].iter().enumerate().map(move |(i, &b)| {
            // fatgen103 §6.1: 0x05 stands for a leading 0xE5.
            let b = if from == 0 && i == 0 && b == 0x05 {
                0xE5
            } else {
                b
            };
            let c = char::from(b);
            if lower {
                c.to_ascii_lowercase()
            } else {
                c
            }
        })
    };
    let ext = part(8, 11, nt & LOWER_EXT != 0);
    let dot = (short[8..].iter().any(|&b| b != b' ')).then_some('.');
    part(0, 8, nt & LOWER_BASE != 0).chain(dot).chain(ext)
}

/// Case-insensitive name comparison (Unicode simple upper-casing, which
/// covers the ASCII folding FAT requires).
pub(crate) fn same_name(a: &str, b: &str) -> bool {
    same_chars(a.chars(), b)
}

/// [`same_name`] for a name given as characters.
pub(crate) fn same_chars(a: impl Iterator<Item = char>, b: &str) -> bool {
    a.flat_map(char::to_uppercase)
        .eq(b.chars().flat_map(char::to_uppercase))
}

/// Checks a name for a new entry; returns it as UTF-16 (for LFN entries).
pub(crate) fn check_long(name: &str) -> Result<Vec<u16>, FatError> {
    if name.is_empty() || name == "." || name == ".." {
        return Err(FatError::BadName);
    }
    if name.chars().any(|c| c < ' ' || LONG_FORBIDDEN.contains(&c)) || name.ends_with(['.', ' ']) {
        return Err(FatError::BadName);
    }
    let units: Vec<u16> = name.encode_utf16().collect();
    if units.len() > 255 {
        return Err(FatError::NameTooLong);
    }
    Ok(units)
}

fn short_char(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit() || SHORT_EXTRA.contains(&b)
}

/// The 8.3 form of `name` if it is exactly a valid upper-case short name
/// (then it needs no LFN entries).
pub(crate) fn exact_short(name: &str) -> Option<[u8; 11]> {
    let (base, ext) = name.split_once('.').unwrap_or((name, ""));
    let ok = |s: &str, max: usize| s.len() <= max && s.bytes().all(short_char);
    if base.is_empty() || !ok(base, 8) || !ok(ext, 3) {
        return None;
    }
    let mut short = [b' '; 11];
    short[..base.len()].copy_from_slice(base.as_bytes());
    short[8..8 + ext.len()].copy_from_slice(ext.as_bytes());
    Some(short)
}

/// A short name for long name `name` that `taken` does not yet hold: the
/// basis name with a numeric tail `~N` (fatgen103 §6.2, §6.3).
pub(crate) fn generate_short(name: &str, taken: &[[u8; 11]]) -> Result<[u8; 11], FatError> {
    let upper: String = name
        .chars()
        .filter(|&c| c != ' ')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let upper = upper.trim_start_matches('.');
    let (base, ext) = match upper.rfind('.') {
        Some(dot) => (&upper[..dot], &upper[dot + 1..]),
        None => (upper, ""),
    };
    let map = |s: &str, max: usize| -> Vec<u8> {
        s.chars()
            .filter(|&c| c != '.')
            .map(|c| match u8::try_from(c) {
                Ok(b) if short_char(b) => b,
                _ => b'_',
            })
            .take(max)
            .collect()
    };
    let mut base = map(base, 8);
    if base.is_empty() {
        base.push(b'_');
    }
    let ext = map(ext, 3);
    for n in 1..=999_999u32 {
        let tail = format!("~{n}");
        let keep = base.len().min(8 - tail.len());
        let mut short = [b' '; 11];
        short[..keep].copy_from_slice(&base[..keep]);
        short[keep..keep + tail.len()].copy_from_slice(tail.as_bytes());
        short[8..8 + ext.len()].copy_from_slice(&ext);
        if !taken.contains(&short) {
            return Ok(short);
        }
    }
    Err(FatError::DirectoryFull)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_generated_unique() {
        let a = generate_short("A Long Name With Spaces.txt", &[]).unwrap();
        assert_eq!(&a, b"ALONGN~1TXT");
        let b = generate_short("A Long Name With Spaces.txt", &[a]).unwrap();
        assert_eq!(&b, b"ALONGN~2TXT");
        assert_eq!(
            &generate_short("freedoom1.wad", &[]).unwrap(),
            b"FREEDO~1WAD"
        );
        assert_eq!(&generate_short(".bashrc", &[]).unwrap(), b"BASHRC~1   ");
        assert_eq!(&generate_short("a+b.tar.gz", &[]).unwrap(), b"A_BTAR~1GZ ");
        assert_eq!(&generate_short("é", &[]).unwrap(), b"_~1        ");
        assert_eq!(exact_short("README.TXT"), Some(*b"README  TXT"));
        assert_eq!(exact_short("Readme.txt"), None);
        assert_eq!(exact_short("A.B.C"), None);
    }

    #[test]
    fn names_display_check_and_compare() {
        assert_eq!(short_display(b"README  TXT", LOWER_BASE), "readme.TXT");
        assert_eq!(short_display(b"\x05BC        ", 0), "\u{e5}BC");
        assert!(same_name("Freedoom1.WAD", "freedoom1.wad"));
        assert!(!same_name("a", "ab"));
        assert_eq!(check_long("a/b"), Err(FatError::BadName));
        assert_eq!(check_long("ab."), Err(FatError::BadName));
        assert_eq!(check_long(&"x".repeat(256)), Err(FatError::NameTooLong));
        assert_eq!(check_long("ok").unwrap().len(), 2);
    }
}
