//! Test helper: synthetic PE32+ images built with `object`'s PE writer.
//!
//! `object::write::pe::Writer` lays out headers, sections and `.reloc`; the
//! import, export and TLS tables in `.rdata` are assembled here, byte by
//! byte, from the PE/COFF spec (§6.3, §6.4, §6.7). Tests then corrupt
//! fields through the offset helpers at the bottom.

use object::pe;
use object::write::pe::{NtHeaders, Writer};

/// A symbol to import.
#[derive(Clone, Copy, Debug)]
pub enum Sym {
    /// By name.
    Name(&'static str),
    /// By ordinal.
    Ordinal(u16),
}

/// What to put into a synthetic image.
#[derive(Clone, Debug)]
pub struct Spec {
    pub dll: bool,
    pub base: u64,
    /// Name recorded in the export directory.
    pub name: &'static str,
    /// Named exports: (name, offset into `.text`).
    pub exports: Vec<(&'static str, u32)>,
    /// Forwarded exports after them: (name, forwarder such as `b.Name`).
    pub forwarders: Vec<(&'static str, &'static str)>,
    /// Whether the name pointer table is sorted (as the spec requires);
    /// `false` keeps it in export order, as a hostile file may.
    pub sorted_names: bool,
    /// Imports per DLL.
    pub imports: Vec<(&'static str, Vec<Sym>)>,
    /// Absolute pointers into `.text` stored in `.data`, each relocated.
    pub pointers: u32,
    /// Zero bytes after the pointers in `.data` (bss).
    pub bss: u32,
    /// A TLS directory; `true` gives it one callback.
    pub tls: Option<bool>,
}

impl Spec {
    /// An EXE at the usual base with nothing in it.
    pub fn exe() -> Spec {
        Spec {
            dll: false,
            base: 0x1_4000_0000,
            name: "prog.exe",
            exports: Vec::new(),
            forwarders: Vec::new(),
            sorted_names: true,
            imports: Vec::new(),
            pointers: 0,
            bss: 0,
            tls: None,
        }
    }

    /// A DLL named `name` exporting `exports` (at offsets 0x10, 0x20, ...).
    pub fn dll(name: &'static str, exports: &[&'static str]) -> Spec {
        Spec {
            dll: true,
            base: 0x1_8000_0000,
            name,
            exports: (0u32..)
                .zip(exports)
                .map(|(i, n)| (*n, 0x10 * (i + 1)))
                .collect(),
            ..Spec::exe()
        }
    }
}

/// A built image and where its parts ended up.
#[derive(Clone, Debug)]
pub struct Built {
    pub bytes: Vec<u8>,
    pub text_rva: u32,
    pub data_rva: u32,
    /// IAT slot RVAs, per DLL, per symbol.
    pub iat: Vec<Vec<u32>>,
}

const TEXT_LEN: u32 = 0x200;

/// `.rdata` under construction at a known RVA.
struct Rdata {
    rva: u32,
    bytes: Vec<u8>,
}

impl Rdata {
    fn alloc(&mut self, len: usize, align: usize) -> u32 {
        while !self.bytes.len().is_multiple_of(align) {
            self.bytes.push(0);
        }
        let at = self.rva + self.bytes.len() as u32;
        self.bytes.resize(self.bytes.len() + len, 0);
        at
    }
    fn put(&mut self, rva: u32, value: &[u8]) {
        let at = (rva - self.rva) as usize;
        self.bytes[at..at + value.len()].copy_from_slice(value);
    }
    fn string(&mut self, s: &str) -> u32 {
        let at = self.alloc(s.len() + 1, 2);
        self.put(at, s.as_bytes());
        at
    }
}

struct Tables {
    rdata: Vec<u8>,
    import: Option<(u32, u32)>,
    export: Option<(u32, u32)>,
    tls: Option<(u32, u32)>,
    iat: Vec<Vec<u32>>,
}

fn tables(spec: &Spec, rdata_rva: u32, text_rva: u32) -> Tables {
    let mut r = Rdata {
        rva: rdata_rva,
        bytes: Vec::new(),
    };
    let mut iat = Vec::new();
    let mut import = None;
    if !spec.imports.is_empty() {
        // §6.4.1: descriptors, null-terminated.
        let dir = r.alloc(20 * (spec.imports.len() + 1), 4);
        for (i, (dll, syms)) in spec.imports.iter().enumerate() {
            let ilt = r.alloc(8 * (syms.len() + 1), 8);
            let slots = r.alloc(8 * (syms.len() + 1), 8);
            let name = r.string(dll);
            let desc = dir + 20 * i as u32;
            r.put(desc, &ilt.to_le_bytes());
            r.put(desc + 12, &name.to_le_bytes());
            r.put(desc + 16, &slots.to_le_bytes());
            let mut rvas = Vec::new();
            for (j, sym) in syms.iter().enumerate() {
                // §6.4.2: bit 63 set = ordinal, else RVA of hint/name.
                let thunk = match sym {
                    Sym::Ordinal(o) => (1u64 << 63) | u64::from(*o),
                    Sym::Name(n) => {
                        let at = r.alloc(2 + n.len() + 1, 2);
                        r.put(at + 2, n.as_bytes());
                        u64::from(at)
                    }
                };
                let j = j as u32;
                r.put(ilt + 8 * j, &thunk.to_le_bytes());
                r.put(slots + 8 * j, &thunk.to_le_bytes());
                rvas.push(slots + 8 * j);
            }
            iat.push(rvas);
        }
        import = Some((dir, 20 * (spec.imports.len() as u32 + 1)));
    }
    let mut export = None;
    if !spec.exports.is_empty() || !spec.forwarders.is_empty() {
        // §6.3.1: directory, address table, name pointers, ordinals, names.
        let names: Vec<&str> = spec
            .exports
            .iter()
            .map(|(n, _)| *n)
            .chain(spec.forwarders.iter().map(|(n, _)| *n))
            .collect();
        let mut order: Vec<(usize, &str)> = names.iter().copied().enumerate().collect();
        if spec.sorted_names {
            order.sort_by_key(|(_, n)| *n);
        }
        let n = names.len() as u32;
        let dir = r.alloc(40, 4);
        let eat = r.alloc(4 * n as usize, 4);
        let name_table = r.alloc(4 * n as usize, 4);
        let ords = r.alloc(2 * n as usize, 2);
        let own = r.string(spec.name);
        r.put(dir + 12, &own.to_le_bytes());
        r.put(dir + 16, &1u32.to_le_bytes()); // ordinal base
        r.put(dir + 20, &n.to_le_bytes());
        r.put(dir + 24, &n.to_le_bytes());
        r.put(dir + 28, &eat.to_le_bytes());
        r.put(dir + 32, &name_table.to_le_bytes());
        r.put(dir + 36, &ords.to_le_bytes());
        for (i, (_, offset)) in spec.exports.iter().enumerate() {
            r.put(eat + 4 * i as u32, &(text_rva + offset).to_le_bytes());
        }
        for (k, (index, name)) in order.iter().enumerate() {
            let at = r.string(name);
            r.put(name_table + 4 * k as u32, &at.to_le_bytes());
            r.put(ords + 2 * k as u32, &(*index as u16).to_le_bytes());
        }
        // §6.3.2: a forwarder's address points into the export directory.
        for (i, (_, target)) in spec.forwarders.iter().enumerate() {
            let at = r.string(target);
            let slot = spec.exports.len() + i;
            r.put(eat + 4 * slot as u32, &at.to_le_bytes());
        }
        let end = r.rva + r.bytes.len() as u32;
        export = Some((dir, end - dir));
    }
    let mut tls = None;
    if let Some(callback) = spec.tls {
        // §6.7.1: IMAGE_TLS_DIRECTORY64 holds VAs at the preferred base.
        let dir = r.alloc(40, 8);
        let callbacks = r.alloc(16, 8);
        let index = r.alloc(4, 4);
        let template = r.alloc(8, 8);
        let va = |rva: u32| spec.base + u64::from(rva);
        r.put(dir, &va(template).to_le_bytes());
        r.put(dir + 8, &va(template + 8).to_le_bytes());
        r.put(dir + 16, &va(index).to_le_bytes());
        r.put(dir + 24, &va(callbacks).to_le_bytes());
        if callback {
            r.put(callbacks, &va(text_rva).to_le_bytes());
        }
        tls = Some((dir, 40));
    }
    if r.bytes.is_empty() {
        r.alloc(8, 1);
    }
    Tables {
        rdata: r.bytes,
        import,
        export,
        tls,
        iat,
    }
}

/// Builds the image described by `spec`.
pub fn build(spec: &Spec) -> Built {
    let mut out = Vec::new();
    let mut w = Writer::new(true, 0x1000, 0x200, &mut out);
    w.reserve_dos_header_and_stub();
    w.reserve_nt_headers(16);
    let has_relocs = spec.pointers > 0;
    w.reserve_section_headers(3 + u16::from(has_relocs));
    let text = w.reserve_text_section(TEXT_LEN);
    // First pass sizes .rdata; the layout does not depend on its RVA.
    let size = tables(spec, 0, 0).rdata.len() as u32;
    let rdata = w.reserve_rdata_section(size);
    let t = tables(spec, rdata.virtual_address, text.virtual_address);
    let data_len = 8 * spec.pointers.max(1);
    let data = w.reserve_data_section(data_len + spec.bss, data_len);
    for i in 0..spec.pointers {
        w.add_reloc(data.virtual_address + 8 * i, pe::IMAGE_REL_BASED_DIR64);
    }
    if has_relocs {
        w.reserve_reloc_section();
    }
    for (index, dir) in [
        (pe::IMAGE_DIRECTORY_ENTRY_IMPORT, t.import),
        (pe::IMAGE_DIRECTORY_ENTRY_EXPORT, t.export),
        (pe::IMAGE_DIRECTORY_ENTRY_TLS, t.tls),
    ] {
        if let Some((rva, len)) = dir {
            w.set_data_directory(index, rva, len);
        }
    }
    let mut characteristics = pe::IMAGE_FILE_EXECUTABLE_IMAGE | pe::IMAGE_FILE_LARGE_ADDRESS_AWARE;
    if spec.dll {
        characteristics |= pe::IMAGE_FILE_DLL;
    }
    w.write_dos_header_and_stub().expect("DOS header");
    w.write_nt_headers(NtHeaders {
        machine: pe::IMAGE_FILE_MACHINE_AMD64,
        time_date_stamp: 0,
        characteristics,
        major_linker_version: 14,
        minor_linker_version: 0,
        address_of_entry_point: if spec.dll { 0 } else { text.virtual_address },
        image_base: spec.base,
        major_operating_system_version: 6,
        minor_operating_system_version: 0,
        major_image_version: 0,
        minor_image_version: 0,
        major_subsystem_version: 6,
        minor_subsystem_version: 0,
        subsystem: pe::IMAGE_SUBSYSTEM_WINDOWS_CUI,
        dll_characteristics: pe::IMAGE_DLLCHARACTERISTICS_DYNAMIC_BASE
            | pe::IMAGE_DLLCHARACTERISTICS_NX_COMPAT,
        size_of_stack_reserve: 0x10_0000,
        size_of_stack_commit: 0x1000,
        size_of_heap_reserve: 0x10_0000,
        size_of_heap_commit: 0x1000,
    });
    w.write_section_headers();
    w.write_section(text.file_offset, &[0xc3; TEXT_LEN as usize]);
    w.write_section(rdata.file_offset, &t.rdata);
    let mut data_bytes = vec![0u8; data_len as usize];
    for i in 0..spec.pointers {
        let value = spec.base + u64::from(text.virtual_address + 8 * i);
        let at = 8 * i as usize;
        data_bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
    }
    w.write_section(data.file_offset, &data_bytes);
    w.write_reloc_section();
    Built {
        bytes: out,
        text_rva: text.virtual_address,
        data_rva: data.virtual_address,
        iat: t.iat,
    }
}

// Hostile shapes found by fuzzing: many entries sharing one long string or
// one lookup table, so a parser that copies per entry multiplies the file.

/// A string that lives as long as the test binary (the spec wants them).
pub fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// File offset of the export directory's field at `field` (§6.3.1).
fn export_field(bytes: &[u8], field: usize) -> usize {
    let dir = get_u32(bytes, directory(bytes, pe::IMAGE_DIRECTORY_ENTRY_EXPORT));
    file_offset(bytes, dir) + field
}

/// File offset of import descriptor `index` (§6.4.1).
pub fn import_descriptor(bytes: &[u8], index: usize) -> usize {
    let dir = get_u32(bytes, directory(bytes, pe::IMAGE_DIRECTORY_ENTRY_IMPORT));
    file_offset(bytes, dir) + 20 * index
}

/// `lib.dll` with `count` exports whose name pointers all lead to one
/// `len`-byte name.
pub fn dll_sharing_one_export_name(count: usize, len: usize) -> Vec<u8> {
    // "N..." sorts before "b": the long name is name pointer 0.
    let long = leak("N".repeat(len));
    let mut exports = vec![(long, 0x10)];
    exports.extend((1..count).map(|i| ("b", 0x10 * (1 + i as u32 % 0x1f))));
    let mut bytes = build(&Spec {
        exports,
        ..Spec::dll("lib.dll", &[])
    })
    .bytes;
    let names = file_offset(&bytes, get_u32(&bytes, export_field(&bytes, 32)));
    let shared = get_u32(&bytes, names);
    for k in 0..count {
        set_u32(&mut bytes, names + 4 * k, shared);
    }
    bytes
}

/// An EXE importing `count` symbols from `lib.dll` whose hint/name
/// pointers all lead to one `len`-byte name.
pub fn exe_sharing_one_import_name(count: usize, len: usize) -> Vec<u8> {
    let long = leak("N".repeat(len));
    let mut syms = vec![Sym::Name(long)];
    syms.extend((1..count).map(|_| Sym::Ordinal(1)));
    let mut bytes = build(&Spec {
        imports: vec![("lib.dll", syms)],
        ..Spec::exe()
    })
    .bytes;
    let desc = import_descriptor(&bytes, 0);
    for field in [0, 16] {
        let table = file_offset(&bytes, get_u32(&bytes, desc + field));
        let shared: [u8; 8] = bytes[table..table + 8].try_into().unwrap();
        for k in 1..count {
            bytes[table + 8 * k..table + 8 * k + 8].copy_from_slice(&shared);
        }
    }
    bytes
}

/// An EXE with `descriptors` import descriptors that all share one lookup
/// table (and IAT) of `thunks` ordinal imports.
pub fn exe_sharing_one_lookup_table(descriptors: usize, thunks: usize) -> Vec<u8> {
    let mut imports = vec![("lib.dll", vec![Sym::Ordinal(1); thunks])];
    imports.extend((1..descriptors).map(|_| ("lib.dll", vec![Sym::Ordinal(1)])));
    let mut bytes = build(&Spec {
        imports,
        ..Spec::exe()
    })
    .bytes;
    let first = import_descriptor(&bytes, 0);
    let (lookup, iat) = (get_u32(&bytes, first), get_u32(&bytes, first + 16));
    for i in 1..descriptors {
        let desc = import_descriptor(&bytes, i);
        set_u32(&mut bytes, desc, lookup);
        set_u32(&mut bytes, desc + 16, iat);
    }
    bytes
}

// Offsets for corrupting fields (PE/COFF spec §3.3, §3.4, §4).

/// File offset of the `PE\0\0` signature.
pub fn nt_offset(bytes: &[u8]) -> usize {
    u32::from_le_bytes(bytes[0x3c..0x40].try_into().unwrap()) as usize
}

/// File offset of the optional header.
pub fn opt_offset(bytes: &[u8]) -> usize {
    nt_offset(bytes) + 24
}

/// File offset of section header `index`.
pub fn section_header(bytes: &[u8], index: usize) -> usize {
    let opt_size = u16::from_le_bytes(bytes[nt_offset(bytes) + 20..][..2].try_into().unwrap());
    opt_offset(bytes) + opt_size as usize + 40 * index
}

/// File offset of data directory `index`.
pub fn directory(bytes: &[u8], index: usize) -> usize {
    opt_offset(bytes) + 112 + 8 * index
}

pub fn get_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

pub fn set_u32(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

pub fn set_u16(bytes: &mut [u8], at: usize, value: u16) {
    bytes[at..at + 2].copy_from_slice(&value.to_le_bytes());
}

/// File offset of RVA `rva` (inside some section's raw data).
pub fn file_offset(bytes: &[u8], rva: u32) -> usize {
    let count = u16::from_le_bytes(bytes[nt_offset(bytes) + 6..][..2].try_into().unwrap());
    for i in 0..count as usize {
        let h = section_header(bytes, i);
        let (va, raw, ptr) = (
            get_u32(bytes, h + 12),
            get_u32(bytes, h + 16),
            get_u32(bytes, h + 20),
        );
        if rva >= va && rva < va + raw {
            return (ptr + rva - va) as usize;
        }
    }
    panic!("RVA {rva:#x} not in any section");
}
