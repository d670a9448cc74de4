//! `#[repr(C)]` Limine response layouts (§5), pinned by host tests.
//!
//! Every pointer field holds an HHDM virtual address as a `u64` (§1), so
//! these types are plain data the loader can build and copy freely.

/// Bootloader info response (§5, 24 bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct BootloaderInfoResponse {
    /// Response revision (0).
    pub revision: u64,
    /// NUL-terminated name.
    pub name: u64,
    /// NUL-terminated version.
    pub version: u64,
}

/// Firmware type response (§5, 16 bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct FirmwareTypeResponse {
    /// Response revision (0).
    pub revision: u64,
    /// 0 BIOS, 1 UEFI32, 2 UEFI64.
    pub firmware_type: u64,
}

/// `firmware_type` for 64-bit UEFI (§5).
pub const FIRMWARE_UEFI64: u64 = 2;

/// Revision-only responses: stack size, entry point (§5, 8 bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct EmptyResponse {
    /// Response revision (0).
    pub revision: u64,
}

/// Responses with one u64 payload: HHDM offset, paging mode, RSDP, EFI
/// system table, date at boot (§5, 16 bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct ValueResponse {
    /// Response revision (0).
    pub revision: u64,
    /// The payload (offset, mode, address or UNIX seconds).
    pub value: u64,
}

/// Executable file response (§5, 16 bytes).
pub type ExecutableFileResponse = ValueResponse;

/// SMBIOS response (§5, 24 bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct SmbiosResponse {
    /// Response revision (0).
    pub revision: u64,
    /// 32-bit entry point (HHDM) or 0.
    pub entry_32: u64,
    /// 64-bit entry point (HHDM) or 0.
    pub entry_64: u64,
}

/// EFI memory map response (§5, 40 bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct EfiMemoryMapResponse {
    /// Response revision (0).
    pub revision: u64,
    /// The UEFI map (HHDM).
    pub memmap: u64,
    /// Its size in bytes.
    pub memmap_size: u64,
    /// Descriptor size.
    pub desc_size: u64,
    /// Descriptor version.
    pub desc_version: u64,
}

/// Executable address response (§5, 24 bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct ExecutableAddressResponse {
    /// Response revision (0).
    pub revision: u64,
    /// Physical address of the lowest PT_LOAD byte.
    pub physical_base: u64,
    /// Lowest PT_LOAD vaddr.
    pub virtual_base: u64,
}

/// Array responses: modules, memory map, framebuffers (§5, 24 bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct ArrayResponse {
    /// Response revision.
    pub revision: u64,
    /// Number of pointers in `items`.
    pub count: u64,
    /// Array of pointers (HHDM).
    pub items: u64,
}

/// MP response (§5, 32 bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct MpResponse {
    /// Response revision (0).
    pub revision: u64,
    /// Bit 0: x2APIC mode is on ([`MP_X2APIC`]).
    pub flags: u32,
    /// Local APIC id of the bootstrap CPU.
    pub bsp_lapic_id: u32,
    /// Entries in `cpus`, the bootstrap CPU included.
    pub cpu_count: u64,
    /// Array of [`SmpInfo`] pointers (HHDM).
    pub cpus: u64,
}

/// MP response `flags` bit 0, also the MP request's "try x2APIC" bit
/// (§4, §5).
pub const MP_X2APIC: u32 = 1 << 0;

/// `limine_smp_info`: one CPU of the MP response (§5, 32 bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct SmpInfo {
    /// ACPI processor UID from the MADT.
    pub processor_id: u32,
    /// Local APIC (or x2APIC) id.
    pub lapic_id: u32,
    /// Reserved; like Limine, the AP's stack top (HHDM), 0 for the BSP.
    pub reserved: u64,
    /// Written by the kernel: where the parked AP jumps (0 = stay).
    pub goto_address: u64,
    /// Free for the kernel.
    pub extra_argument: u64,
}

/// Revisions Limine 8.2 puts in responses (§1).
pub mod revision {
    /// Framebuffer response.
    pub const FRAMEBUFFER: u64 = 1;
    /// Module response.
    pub const MODULES: u64 = 2;
}

/// Memory map entry (§5/§6, 24 bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct MemmapEntry {
    /// Physical base.
    pub base: u64,
    /// Length in bytes.
    pub length: u64,
    /// Type (§6).
    pub kind: u64,
}

/// `limine_framebuffer` at response revision 1 (§5, 80 bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Framebuffer {
    /// Pixels (HHDM).
    pub address: u64,
    /// Width in pixels.
    pub width: u64,
    /// Height in pixels.
    pub height: u64,
    /// Bytes per scanline.
    pub pitch: u64,
    /// Bits per pixel.
    pub bpp: u16,
    /// 1 = RGB.
    pub memory_model: u8,
    /// Red mask size.
    pub red_mask_size: u8,
    /// Red mask shift.
    pub red_mask_shift: u8,
    /// Green mask size.
    pub green_mask_size: u8,
    /// Green mask shift.
    pub green_mask_shift: u8,
    /// Blue mask size.
    pub blue_mask_size: u8,
    /// Blue mask shift.
    pub blue_mask_shift: u8,
    /// Padding.
    pub unused: [u8; 7],
    /// EDID size (0: none).
    pub edid_size: u64,
    /// EDID blob (HHDM) or 0.
    pub edid: u64,
    /// Number of video modes (rev ≥ 1).
    pub mode_count: u64,
    /// Array of `VideoMode` pointers (HHDM, rev ≥ 1).
    pub modes: u64,
}

/// `memory_model` value for RGB (§5).
pub const MEMORY_MODEL_RGB: u8 = 1;

/// `limine_video_mode` (§5, 40 bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct VideoMode {
    /// Bytes per scanline.
    pub pitch: u64,
    /// Width in pixels.
    pub width: u64,
    /// Height in pixels.
    pub height: u64,
    /// Bits per pixel.
    pub bpp: u16,
    /// 1 = RGB.
    pub memory_model: u8,
    /// Red mask size.
    pub red_mask_size: u8,
    /// Red mask shift.
    pub red_mask_shift: u8,
    /// Green mask size.
    pub green_mask_size: u8,
    /// Green mask shift.
    pub green_mask_shift: u8,
    /// Blue mask size.
    pub blue_mask_size: u8,
    /// Blue mask shift.
    pub blue_mask_shift: u8,
}

/// UUID as Limine stores it (§5).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Uuid {
    /// First 32 bits.
    pub a: u32,
    /// Next 16 bits.
    pub b: u16,
    /// Next 16 bits.
    pub c: u16,
    /// Last 8 bytes.
    pub d: [u8; 8],
}

/// `limine_file` (§5, 112 bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct File {
    /// Revision (0).
    pub revision: u64,
    /// Contents (HHDM, page-aligned).
    pub address: u64,
    /// Size in bytes.
    pub size: u64,
    /// Volume path with a leading `/` (HHDM).
    pub path: u64,
    /// Command line / string (HHDM, never NULL).
    pub cmdline: u64,
    /// 0 generic, 1 optical, 2 TFTP.
    pub media_type: u32,
    /// Padding.
    pub unused: u32,
    /// TFTP server IP (0 unless PXE).
    pub tftp_ip: u32,
    /// TFTP server port.
    pub tftp_port: u32,
    /// 1-based partition index, 0 = none.
    pub partition_index: u32,
    /// MBR disk signature, 0 = unknown.
    pub mbr_disk_id: u32,
    /// GPT disk UUID.
    pub gpt_disk_uuid: Uuid,
    /// GPT partition UUID.
    pub gpt_part_uuid: Uuid,
    /// Filesystem UUID.
    pub part_uuid: Uuid,
}

/// `media_type` values (§5).
pub mod media {
    /// Hard disk or anything else.
    pub const GENERIC: u32 = 0;
    /// CD/DVD.
    pub const OPTICAL: u32 = 1;
}

/// GDT descriptors at entry, in selector order 0x00..=0x30 (§8).
pub const GDT: [u64; 7] = [
    0x0000_0000_0000_0000,
    0x0000_9b00_0000_ffff,
    0x0000_9300_0000_ffff,
    0x00cf_9b00_0000_ffff,
    0x00cf_9300_0000_ffff,
    0x0020_9b00_0000_0000,
    0x0000_9300_0000_0000,
];

/// GDTR limit for [`GDT`] (§8).
pub const GDT_LIMIT: u16 = 0x37;

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn sizes_match_section_5() {
        assert_eq!(size_of::<BootloaderInfoResponse>(), 24);
        assert_eq!(size_of::<FirmwareTypeResponse>(), 16);
        assert_eq!(size_of::<EmptyResponse>(), 8);
        assert_eq!(size_of::<ValueResponse>(), 16);
        assert_eq!(size_of::<SmbiosResponse>(), 24);
        assert_eq!(size_of::<EfiMemoryMapResponse>(), 40);
        assert_eq!(size_of::<ExecutableAddressResponse>(), 24);
        assert_eq!(size_of::<ArrayResponse>(), 24);
        assert_eq!(size_of::<MemmapEntry>(), 24);
        assert_eq!(size_of::<Framebuffer>(), 80);
        assert_eq!(size_of::<VideoMode>(), 40);
        assert_eq!(size_of::<Uuid>(), 16);
        assert_eq!(size_of::<File>(), 112);
        assert_eq!(size_of::<MpResponse>(), 32);
        assert_eq!(size_of::<SmpInfo>(), 32);
        assert_eq!(size_of::<[u64; 7]>(), usize::from(GDT_LIMIT) + 1);
    }

    #[test]
    fn framebuffer_offsets_match_section_5() {
        assert_eq!(offset_of!(Framebuffer, pitch), 24);
        assert_eq!(offset_of!(Framebuffer, bpp), 32);
        assert_eq!(offset_of!(Framebuffer, memory_model), 34);
        assert_eq!(offset_of!(Framebuffer, red_mask_size), 35);
        assert_eq!(offset_of!(Framebuffer, red_mask_shift), 36);
        assert_eq!(offset_of!(Framebuffer, green_mask_size), 37);
        assert_eq!(offset_of!(Framebuffer, green_mask_shift), 38);
        assert_eq!(offset_of!(Framebuffer, blue_mask_size), 39);
        assert_eq!(offset_of!(Framebuffer, blue_mask_shift), 40);
        assert_eq!(offset_of!(Framebuffer, edid_size), 48);
        assert_eq!(offset_of!(Framebuffer, edid), 56);
        assert_eq!(offset_of!(Framebuffer, mode_count), 64);
        assert_eq!(offset_of!(Framebuffer, modes), 72);
        assert_eq!(offset_of!(VideoMode, bpp), 24);
        assert_eq!(offset_of!(VideoMode, memory_model), 26);
        assert_eq!(offset_of!(VideoMode, red_mask_size), 27);
        assert_eq!(offset_of!(VideoMode, blue_mask_shift), 32);
    }

    #[test]
    fn file_offsets_match_section_5() {
        assert_eq!(offset_of!(File, address), 8);
        assert_eq!(offset_of!(File, size), 16);
        assert_eq!(offset_of!(File, path), 24);
        assert_eq!(offset_of!(File, cmdline), 32);
        assert_eq!(offset_of!(File, media_type), 40);
        assert_eq!(offset_of!(File, unused), 44);
        assert_eq!(offset_of!(File, tftp_ip), 48);
        assert_eq!(offset_of!(File, tftp_port), 52);
        assert_eq!(offset_of!(File, partition_index), 56);
        assert_eq!(offset_of!(File, mbr_disk_id), 60);
        assert_eq!(offset_of!(File, gpt_disk_uuid), 64);
        assert_eq!(offset_of!(File, gpt_part_uuid), 80);
        assert_eq!(offset_of!(File, part_uuid), 96);
        assert_eq!(offset_of!(Uuid, d), 8);
    }

    #[test]
    fn array_and_misc_offsets_match_section_5() {
        assert_eq!(offset_of!(ArrayResponse, count), 8);
        assert_eq!(offset_of!(ArrayResponse, items), 16);
        assert_eq!(offset_of!(MemmapEntry, length), 8);
        assert_eq!(offset_of!(MemmapEntry, kind), 16);
        assert_eq!(offset_of!(EfiMemoryMapResponse, memmap), 8);
        assert_eq!(offset_of!(EfiMemoryMapResponse, desc_version), 32);
        assert_eq!(offset_of!(ExecutableAddressResponse, virtual_base), 16);
        assert_eq!(offset_of!(SmbiosResponse, entry_64), 16);
        assert_eq!(offset_of!(BootloaderInfoResponse, version), 16);
    }

    #[test]
    fn mp_offsets_match_section_5() {
        assert_eq!(offset_of!(MpResponse, flags), 8);
        assert_eq!(offset_of!(MpResponse, bsp_lapic_id), 12);
        assert_eq!(offset_of!(MpResponse, cpu_count), 16);
        assert_eq!(offset_of!(MpResponse, cpus), 24);
        assert_eq!(offset_of!(SmpInfo, lapic_id), 4);
        assert_eq!(offset_of!(SmpInfo, reserved), 8);
        assert_eq!(offset_of!(SmpInfo, goto_address), 16);
        assert_eq!(offset_of!(SmpInfo, extra_argument), 24);
    }

    #[test]
    fn gdt_code_segment_is_long_mode() {
        // Selector 0x28: L bit (53) set, D bit (54) clear, present, code.
        let cs = GDT[0x28 / 8];
        assert_eq!((cs >> 53) & 1, 1);
        assert_eq!((cs >> 54) & 1, 0);
        assert_eq!((cs >> 47) & 1, 1);
        let ds = GDT[0x30 / 8];
        assert_eq!((ds >> 43) & 1, 0, "data segment is not code");
    }
}
