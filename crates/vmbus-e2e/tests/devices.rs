//! The pipe and SCSI device protocols of `vmbus-devices` against the
//! model's back-ends, over real rings: mouse reports, a synthvid frame in
//! the VRAM the host reads, a sector written to and read from the RAM
//! disk, a frame sent through netvsc and looped back.

use vmbus::guid::{Guid, MOUSE, NETWORK, SCSI, SYNTHVID};
use vmbus_devices::mouse::{Mouse, MouseEvent};
use vmbus_devices::netvsc::NetvscEvent;
use vmbus_devices::packet::GpaRange;
use vmbus_devices::storvsc::{RequestId, StorvscEvent};
use vmbus_devices::synthvid::{Rect, Synthvid, SynthvidConfig, SynthvidEvent};
use vmbus_e2e::{five_devices, DiskMachine, NicMachine, Pipe, Session, World};
use vmbus_host::device::mouse::Mouse as HostMouse;
use vmbus_host::device::storvsp::Storvsp;
use vmbus_host::device::synthvid::{Rect as HostRect, Synthvid as HostSynthvid};
use vmbus_host::{DeviceId, HostConfig};

const VRAM: u64 = 0xF800_0000;
const VRAM_SIZE: u64 = 8 << 20;

fn connected() -> (World, Vec<DeviceId>) {
    let (mut w, ids) = World::new(HostConfig::default(), five_devices());
    w.connect().unwrap();
    (w, ids)
}

fn relid(w: &World, class: Guid) -> u32 {
    w.seen
        .offers()
        .iter()
        .find(|o| o.if_type == class)
        .map(|o| o.child_relid)
        .unwrap()
}

#[test]
fn mouse_reports_reach_the_guest() {
    let (mut w, ids) = connected();
    let relid = relid(&w, MOUSE);
    let mut s = Session::open(&mut w, relid, Pipe(Mouse::new()))
        .unwrap()
        .unwrap();
    let ready = |e: &[MouseEvent]| e.iter().any(|e| matches!(e, MouseEvent::Ready { .. }));
    assert!(s.run_until(&mut w, ready).unwrap());
    // The host takes the guest's ACK of its device info first.
    s.run_until(&mut w, |_| false).unwrap();
    assert!(w
        .host
        .device_mut::<HostMouse>(ids[1])
        .unwrap()
        .move_to(0x4000, 0x2000, 1));
    s.run_until(&mut w, |_| false).unwrap();
    let reports: Vec<(i32, i32, u32)> = s
        .events
        .iter()
        .filter_map(|e| match e {
            MouseEvent::Input(r) if r.absolute => Some((r.x, r.y, r.buttons)),
            _ => None,
        })
        .collect();
    assert_eq!(reports, [(0x4000, 0x2000, 1)]);
    assert_eq!(s.refused, 0);
    s.close(&mut w).unwrap();
    assert_eq!(w.host.gpadl_count(), 0);
}

#[test]
fn a_frame_in_the_vram_is_what_the_host_reads() {
    let (mut w, ids) = connected();
    w.add_memory(VRAM, VRAM_SIZE);
    let relid = relid(&w, SYNTHVID);
    let video = Synthvid::new(SynthvidConfig::new(VRAM, VRAM_SIZE));
    let mut s = Session::open(&mut w, relid, Pipe(video)).unwrap().unwrap();
    let ready = |e: &[SynthvidEvent]| e.iter().any(|e| matches!(e, SynthvidEvent::Ready { .. }));
    assert!(s.run_until(&mut w, ready).unwrap());
    let Some(SynthvidEvent::Ready {
        width,
        height,
        stride,
        ..
    }) = s.events.first().copied()
    else {
        panic!("{:?}", s.events);
    };
    s.run_until(&mut w, |_| false).unwrap();
    let host = w.host.device::<HostSynthvid>(ids[2]).unwrap();
    assert_eq!(host.vram(), Some(VRAM));
    let situation = host.situation().unwrap();
    assert_eq!(
        (situation.width, situation.height, situation.pitch),
        (width, height, stride)
    );
    // The guest draws a 16 × 4 block at (100, 10); the host reads it back.
    let pixel = |x: u32, y: u32| 0x00AB_0000 | (y << 8) | x;
    for y in 10..14 {
        let row: Vec<u8> = (100..116).flat_map(|x| pixel(x, y).to_le_bytes()).collect();
        let at = VRAM + u64::from(y * stride) + 100 * 4;
        assert!(w.write(at, &row));
    }
    let host = w.host.device::<HostSynthvid>(ids[2]).unwrap();
    let read = host.read_pixels(w.host.platform(), 100, 10, 16, 4).unwrap();
    let want: Vec<u32> = (10..14)
        .flat_map(|y| (100..116).map(move |x| pixel(x, y)))
        .collect();
    assert_eq!(read, want);
    // Once the host asks for dirty rectangles, the guest's arrive.
    assert!(w
        .host
        .device_mut::<HostSynthvid>(ids[2])
        .unwrap()
        .feature_change(true, false, false, true));
    let asked = |e: &[SynthvidEvent]| {
        e.iter()
            .any(|e| matches!(e, SynthvidEvent::FeatureChange(f) if f.dirt_needed))
    };
    assert!(s.run_until(&mut w, asked).unwrap());
    let rect = Rect {
        x1: 100,
        y1: 10,
        x2: 116,
        y2: 14,
    };
    let dirt = s.machine.0.dirty(&[rect]).unwrap().unwrap();
    s.send(dirt);
    s.run_until(&mut w, |_| false).unwrap();
    let got = w
        .host
        .device_mut::<HostSynthvid>(ids[2])
        .unwrap()
        .take_dirt();
    assert!(got.contains(&HostRect {
        x1: 100,
        y1: 10,
        x2: 116,
        y2: 14
    }));
    assert_eq!(s.refused, 0);
    s.close(&mut w).unwrap();
}

/// Whether request `id` completed with one sector moved.
fn completed(id: RequestId) -> impl Fn(&[StorvscEvent]) -> bool {
    move |e| {
        e.iter()
            .any(|e| matches!(e, StorvscEvent::Completed { id: i, result: Ok(512) } if *i == id))
    }
}

#[test]
fn a_sector_written_is_on_the_ram_disk_and_reads_back() {
    let (mut w, ids) = connected();
    let relid = relid(&w, SCSI);
    let machine = DiskMachine::new(&mut w);
    let mut s = Session::open(&mut w, relid, machine).unwrap().unwrap();
    let ready = |e: &[StorvscEvent]| {
        e.iter()
            .any(|e| matches!(e, StorvscEvent::DiskReady { .. }))
    };
    assert!(s.run_until(&mut w, ready).unwrap());
    assert!(matches!(
        s.events[0],
        StorvscEvent::DiskReady {
            sector_size: 512,
            sectors: 64,
            ..
        }
    ));
    let data: Vec<u8> = (0..512u32).map(|i| (i * 7 + 3) as u8).collect();
    let page = w.pages(1);
    assert!(w.write(page, &data));
    let (id, packet) = s
        .machine
        .storvsc
        .write(5, 1, GpaRange::contiguous(page, 512).unwrap())
        .unwrap();
    s.send(packet);
    assert!(
        s.run_until(&mut w, completed(id)).unwrap(),
        "{:?}",
        s.events
    );
    let disk = w.host.device::<Storvsp>(ids[3]).unwrap().disk();
    assert_eq!(&disk[5 * 512..6 * 512], &data[..]);
    let back = w.pages(1);
    let (id, packet) = s
        .machine
        .storvsc
        .read(5, 1, GpaRange::contiguous(back, 512).unwrap())
        .unwrap();
    s.send(packet);
    assert!(
        s.run_until(&mut w, completed(id)).unwrap(),
        "{:?}",
        s.events
    );
    assert_eq!(w.read(back, 512), data);
    assert_eq!(s.refused, 0);
    s.close(&mut w).unwrap();
    assert_eq!(w.host.gpadl_count(), 0);
}

#[test]
fn a_frame_sent_through_netvsc_comes_back() {
    let (mut w, _) = connected();
    let relid = relid(&w, NETWORK);
    // The kernel's sizes: 1 MiB to receive, 256 KiB to send.
    let mut s = Session::open_with(&mut w, relid, |w| NicMachine::new(w, relid, 256, 64))
        .unwrap()
        .unwrap();
    let up = |e: &[NetvscEvent]| {
        e.iter().any(|e| matches!(e, NetvscEvent::Ready { .. })) && e.contains(&NetvscEvent::LinkUp)
    };
    assert!(s.run_until(&mut w, up).unwrap(), "{:?}", s.events);
    let Some(NetvscEvent::Ready { mac, mtu }) = s
        .events
        .iter()
        .find(|e| matches!(e, NetvscEvent::Ready { .. }))
        .cloned()
    else {
        unreachable!()
    };
    assert_eq!((mac, mtu), ([0, 0x15, 0x5d, 0, 0, 1], 1500));
    let mut frame = Vec::new();
    frame.extend_from_slice(&mac);
    frame.extend_from_slice(&[2, 0, 0, 0, 0, 9]);
    frame.extend_from_slice(&[0x88, 0xb5]);
    frame.extend((0..300u32).map(|i| (i * 13) as u8));
    let packet = s.machine.send_frame(&mut w, &frame).unwrap();
    s.send(packet);
    let back = |e: &[NetvscEvent]| {
        e.iter()
            .any(|e| matches!(e, NetvscEvent::Frame(f) if f.data.len() >= 314))
            && e.iter()
                .any(|e| matches!(e, NetvscEvent::SendComplete { ok: true, .. }))
    };
    assert!(s.run_until(&mut w, back).unwrap(), "{:?}", s.events);
    let got = s.events.iter().find_map(|e| match e {
        NetvscEvent::Frame(f) => Some(f.data.clone()),
        _ => None,
    });
    assert_eq!(got.as_deref(), Some(&frame[..]));
    assert_eq!(s.refused, 0);
    // Revoke the buffers, close, tear everything down.
    s.act(|m, out| m.netvsc.stop(out));
    s.run_until(&mut w, |_| false).unwrap();
    let gpadls = s.machine.gpadls;
    s.close(&mut w).unwrap();
    for g in gpadls {
        w.unshare(g).unwrap();
    }
    assert_eq!(w.host.gpadl_count(), 0);
}
