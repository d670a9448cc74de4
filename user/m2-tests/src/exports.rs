//! Finds runtime.dll's exports by name in its mapped image, so the C
//! runtime checks call runtime.dll's own code (the program has its own
//! copies of the memory functions, which would shadow imports).

/// Reads a little-endian value at `base + off`.
///
/// # Safety
/// `base + off` must be mapped readable for `size_of::<T>()` bytes.
unsafe fn at<T: Copy>(base: u64, off: u64) -> T {
    // SAFETY: the caller's contract.
    unsafe { ((base + off) as *const T).read_unaligned() }
}

/// runtime.dll as mapped in this process.
pub struct Module {
    base: u64,
    /// RVA and size of the export directory.
    dir: (u64, u64),
}

impl Module {
    /// The module at `base`; `None` if its headers are not a PE32+ image
    /// with exports.
    ///
    /// # Safety
    /// `base` must be the base of a PE image mapped with its headers
    /// (runtime.dll's, from GET_PROCESS_INFO).
    pub unsafe fn at(base: u64) -> Option<Self> {
        // SAFETY: the headers of a mapped image, per the caller; the offsets
        // are those of the DOS header, PE signature and optional header.
        unsafe {
            if at::<u16>(base, 0) != 0x5a4d {
                return None;
            }
            let pe = u64::from(at::<u32>(base, 0x3c));
            if at::<u32>(base, pe) != 0x4550 || at::<u16>(base, pe + 24) != 0x20b {
                return None;
            }
            let rva = u64::from(at::<u32>(base, pe + 24 + 112));
            let size = u64::from(at::<u32>(base, pe + 24 + 116));
            (rva != 0 && size != 0).then_some(Self {
                base,
                dir: (rva, size),
            })
        }
    }

    /// The address of export `name`, if there is one (not a forwarder).
    pub fn find(&self, name: &[u8]) -> Option<u64> {
        let (b, d) = (self.base, self.dir.0);
        // SAFETY: the export directory and the tables it points to are in
        // the mapped image (PE/COFF spec, "Export Directory Table").
        unsafe {
            let count = u64::from(at::<u32>(b, d + 24));
            let funcs = u64::from(at::<u32>(b, d + 28));
            let names = u64::from(at::<u32>(b, d + 32));
            let ordinals = u64::from(at::<u32>(b, d + 36));
            for i in 0..count {
                let name_at = b + u64::from(at::<u32>(b, names + 4 * i));
                let this = core::ffi::CStr::from_ptr(name_at as *const core::ffi::c_char);
                if this.to_bytes() == name {
                    let ord = u64::from(at::<u16>(b, ordinals + 2 * i));
                    let rva = u64::from(at::<u32>(b, funcs + 4 * ord));
                    let forwarder = (d..d + self.dir.1).contains(&rva);
                    return (!forwarder).then_some(b + rva);
                }
            }
        }
        None
    }
}

/// Looks up an export as a function pointer of type `F`.
///
/// # Safety
/// `F` must be a function-pointer type matching the export's signature.
pub unsafe fn function<F: Copy>(m: &Module, name: &[u8]) -> Option<F> {
    const { assert!(size_of::<F>() == size_of::<u64>()) };
    // SAFETY: an exported code address, as the caller's pointer type.
    m.find(name)
        .map(|a| unsafe { core::mem::transmute_copy::<u64, F>(&a) })
}
