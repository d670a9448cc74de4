//! M7 `storvsc_fat_file_matches_the_ram_disk`: a FAT volume on the
//! simulated host's SCSI disk, read and written through the kernel's
//! storvsc driver, the disk service and the FAT layer.
//!
//! The host's RAM disk starts as a copy of the FAT12 volume the test
//! suite put on a virtio disk (FERRITE12, made by `fatfs`). When the
//! storvsc driver binds, the disk joins the disk service and its volume
//! is mounted; a file is read through it and compared with the same file
//! read from the virtio disk, and a new file is written. The RAM disk is
//! then copied out of the host and mounted on its own: the new file must
//! be there with the bytes written. Last, the host rescinds the channel
//! while a file on the disk is open: the volume and the disk go, the open
//! file reads an error, the relid goes back, and every frame is back.
#![forbid(unsafe_code)]

use super::m7::CONNECT_NS;
use super::m7_host::Simulated;
use super::{detail, ensure, Context, Detail, Outcome};
use crate::drivers::hv_storvsc;
use crate::fs::{self, volumes, OpenFile};
use crate::hyperv::bus::Connection;
use crate::hyperv::Hypervisor;
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use vmbus_host::device::storvsp::Storvsp;
use vmbus_host::HostConfig;

/// The volume whose copy the RAM disk starts as.
const SOURCE: &str = "FERRITE12";
/// A file the suite put on it (several clusters: several requests).
const SAMPLE: &str = "data/freedoom-sample.bin";
/// The file written through storvsc.
const WRITTEN: &str = "written through storvsc.bin";
/// Its size: more than one request's slot, not a whole number of sectors.
const WRITTEN_BYTES: usize = 150_001;

pub fn storvsc_fat_file_matches_the_ram_disk(_: &Context<'_>) -> Outcome {
    let (source, image) = source_image()?;
    // The RAM disk and the two disk-sized buffers the scenario needs come
    // from the heap before the frames are counted (a heap that grows
    // keeps its frames).
    let buffers = [vec![0u8; image.len()], vec![0u8; image.len()]];
    let mut disk = Storvsp::new(image.len() as u64 / 512);
    disk.disk_mut().copy_from_slice(&image);
    let devices: Vec<Box<dyn vmbus_host::Device>> = vec![Box::new(disk)];
    super::m7::under_model(HostConfig::default(), devices, move |sim, ids| {
        scenario(sim, ids[0], &source, &image, buffers)
    })
}

/// The virtio volume [`SOURCE`]'s name and its bytes.
fn source_image() -> Result<(String, Vec<u8>), Detail> {
    let v = volumes::find(SOURCE).ok_or_else(|| detail!("no {SOURCE} volume to copy"))?;
    let d = crate::disk::list()
        .into_iter()
        .find(|d| d.name() == v.disk)
        .ok_or_else(|| detail!("{}: its disk {} is gone", v.name, v.disk))?;
    let (first, count) = v.span;
    let mut image = vec![0u8; count as usize * d.sector_size() as usize];
    let per = (64 << 10) / d.sector_size() as usize;
    for (i, chunk) in image.chunks_mut(per * d.sector_size() as usize).enumerate() {
        d.read(first + (i * per) as u64, chunk)
            .map_err(|e| detail!("{}: {e}", v.name))?;
    }
    Ok((v.name.clone(), image))
}

fn scenario(
    sim: &Arc<Simulated>,
    id: vmbus_host::DeviceId,
    source: &str,
    image: &[u8],
    [mut whole, mut copy]: [Vec<u8>; 2],
) -> Result<String, Detail> {
    let hv: Arc<dyn Hypervisor> = sim.clone();
    let c = Connection::start(hv, "vmbus6", vmbus::ClientConfig::default())
        .map_err(|e| detail!("{e}"))?;
    ensure!(c.bind_offers(CONNECT_NS), "the offer did not come");
    let relid = sim
        .with_host(|h| h.relid(id))
        .ok_or_else(|| detail!("the model gave the disk no relid"))?;
    let node = format!("relid-{relid}");
    // Earlier connections' nodes of that name are gone, and unbound.
    let drivers: Vec<_> = crate::drivers::query(|d| d.name == node)
        .iter()
        .map(|e| e.driver)
        .collect();
    ensure!(
        drivers.contains(&Some("hv-storvsc")),
        "no {node} is bound to hv-storvsc: {drivers:?}"
    );
    let disks = hv_storvsc::disks();
    let [name] = disks.as_slice() else {
        return Err(detail!("storvsc serves {disks:?}, not one disk"));
    };
    let volume = volumes::find(name).ok_or_else(|| detail!("{name}: no volume mounted"))?;
    ensure!(
        volume.disk == *name && volume.label == SOURCE,
        "{name}: mounted '{}' on {}",
        volume.label,
        volume.disk
    );

    // The whole disk, read in 1 MiB pieces (16 requests each, 4 in
    // flight), is the image it started as.
    let disk = crate::disk::list()
        .into_iter()
        .find(|d| d.name() == name)
        .ok_or_else(|| detail!("{name} is not in the disk service"))?;
    for (i, piece) in whole.chunks_mut(1 << 20).enumerate() {
        let lba = (i << 20) as u64 / 512;
        disk.read(lba, piece)
            .map_err(|e| detail!("{name}: reading at sector {lba}: {e}"))?;
    }
    drop(disk);
    ensure!(
        whole == image,
        "{name}: the disk read back differs from the image at byte {:?}",
        whole.iter().zip(image).position(|(a, b)| a != b)
    );
    drop(whole);

    // A file read through storvsc, compared with the virtio disk's copy.
    let srbs = || sim.with_host(|h| h.device::<Storvsp>(id).map_or(0, |s| s.srbs()));
    let before = srbs();
    let through = fs::read_whole(&format!("/disk/{name}/{SAMPLE}"), 1 << 20)
        .map_err(|e| detail!("{name}: {SAMPLE}: {e:?}"))?;
    let reads = srbs() - before;
    let direct = fs::read_whole(&format!("/disk/{source}/{SAMPLE}"), 1 << 20)
        .map_err(|e| detail!("{source}: {SAMPLE}: {e:?}"))?;
    ensure!(
        !through.is_empty() && through == direct,
        "{SAMPLE}: {} bytes through storvsc, {} from {source}, not the same",
        through.len(),
        direct.len()
    );
    ensure!(reads > 0, "{SAMPLE} was read without a SCSI request");

    // Write through storvsc.
    let data = pattern(WRITTEN_BYTES);
    write_file(&format!("/disk/{name}/{WRITTEN}"), &data)?;

    // The host's RAM disk, mounted on its own.
    let copied = sim.with_host(|h| {
        h.device::<Storvsp>(id)
            .filter(|s| s.disk().len() == copy.len())
            .map(|s| copy.copy_from_slice(s.disk()))
    });
    ensure!(copied.is_some(), "the model lost its disk");
    let mut fat = fat::Volume::mount(block::MemDisk::new(512, copy))
        .map_err(|e| detail!("the RAM disk holds no FAT volume now: {e}"))?;
    let on_disk = read_fat(&mut fat, WRITTEN)?;
    ensure!(
        on_disk == data,
        "{WRITTEN}: the RAM disk holds {} bytes, not the {} written",
        on_disk.len(),
        data.len()
    );
    let sample = read_fat(&mut fat, SAMPLE)?;
    ensure!(
        sample == through,
        "{SAMPLE}: the RAM disk's differs from what storvsc read"
    );

    // The host takes the disk away while a file on it is open.
    let open = OpenFile::open(&format!("/disk/{name}/{SAMPLE}"), 0)
        .map_err(|e| detail!("{name}: {SAMPLE}: {e:?}"))?;
    ensure!(
        sim.with_host(|h| h.rescind(id)),
        "the model would not rescind the disk"
    );
    ensure!(
        super::wait_for(3, || hv_storvsc::disks().is_empty()
            && !hv_storvsc::running()),
        "storvsc still serves {:?} after the rescind",
        hv_storvsc::disks()
    );
    ensure!(
        volumes::find(name).is_none_or(|v| v.disk != *name),
        "{name}'s volume is still mounted"
    );
    ensure!(
        crate::disk::list().iter().all(|d| d.name() != name),
        "{name} is still a disk"
    );
    let mut buf = vec![0u8; 4096];
    let late = open.read_at_position(&mut buf);
    ensure!(
        late.is_err(),
        "a file of the removed disk still reads: {late:?}"
    );
    drop(open);
    let phase = || sim.with_host(|h| h.phase(id));
    ensure!(
        super::wait_for(2, || phase() != Some(vmbus_host::ChannelPhase::Revoked)),
        "the relid was not released (the host's channel is {:?})",
        phase()
    );
    Ok(format!(
        "{name} on {node}: all {} bytes read back as the image; {SAMPLE} ({} bytes, {reads} SCSI requests) matches {source}'s; {WRITTEN} ({} bytes) found in the RAM disk by a mount of its own; rescinded: volume and disk gone, an open file reads {late:?}, relid released (host: {:?})",
        image.len(),
        through.len(),
        data.len(),
        phase()
    ))
}

/// `len` bytes no two runs of which repeat soon (xorshift).
fn pattern(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x5107_0c5c;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn write_file(path: &str, data: &[u8]) -> Result<(), Detail> {
    use abi::open_flags::{CREATE, TRUNCATE, WRITE};
    let f =
        OpenFile::open(path, WRITE | CREATE | TRUNCATE).map_err(|e| detail!("{path}: {e:?}"))?;
    let mut at = 0;
    while at < data.len() {
        let end = data.len().min(at + (64 << 10));
        let (n, after) = f
            .write_at_position(&data[at..end])
            .map_err(|e| detail!("{path}: write at {at}: {e:?}"))?;
        ensure!(n > 0, "{path}: nothing written at {at}");
        f.advance(after);
        at += n;
    }
    // Closing flushes the volume.
    drop(f);
    Ok(())
}

fn read_fat(fat: &mut fat::Volume<block::MemDisk>, path: &str) -> Result<Vec<u8>, Detail> {
    let f = fat
        .open(path)
        .map_err(|e| detail!("the RAM disk: {path}: {e}"))?;
    let mut bytes = vec![0u8; f.len() as usize];
    let n = fat
        .read_at(&f, 0, &mut bytes)
        .map_err(|e| detail!("the RAM disk: {path}: {e}"))?;
    bytes.truncate(n);
    Ok(bytes)
}
