//! Benchmarks 25 (`vmbus_roundtrip`) and 26 (`storvsc_read_seq`), run
//! under the simulated host (`m7_host`, on its own thread) with a storvsp
//! back-end: the kernel's VMBus connection and channel rings, the host's
//! event-flag interrupts.
//! - `vmbus_roundtrip`: one EXECUTE_SRB packet (TEST UNIT READY, no data)
//!   into the channel's ring, the host signalled, its completion read back
//!   from the other ring after the channel's interrupt; 2000 operations.
//!   `vmbus-devices`' storvsc state machine is driven from here, on a
//!   channel of its own, so that one packet each way is all it measures.
//! - `storvsc_read_seq`: then the storvsc driver binds the disk; one
//!   operation reads 1 MiB of the RAM disk through the disk service (the
//!   driver's 64 KiB GPA-direct READs, several in flight), front to back
//!   (wrapping); 16 operations. MiB/s is 10^9 / `ns_per_op` × 1.048576.
//!
//! Figures are the model's as much as the guest's: they measure the path,
//! not Hyper-V.
#![forbid(unsafe_code)]

use super::bench::measure;
use super::m7_host::Simulated;
use crate::hyperv::bus::Connection;
use crate::hyperv::channel::Channel;
use crate::hyperv::Hypervisor;
use crate::mm::frame_alloc::OwnedFrames;
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use vmbus_devices::packet::GpaRange;
use vmbus_devices::storvsc::{Command, RequestId, Storvsc, StorvscConfig, StorvscEvent};
use vmbus_devices::{Incoming, Output};
use vmbus_host::device::storvsp::Storvsp;
use vmbus_host::HostConfig;

/// Sectors of the RAM disk (4 MiB).
const SECTORS: u64 = 8192;
/// How long one answer may take before the benchmark gives up.
const ANSWER_NS: u64 = 2_000_000_000;

/// One storvsc channel driven by hand.
struct Bench {
    channel: Arc<Channel>,
    storvsc: Storvsc,
    out: Output<StorvscEvent>,
    scratch: OwnedFrames,
    buf: [u8; 512],
}

impl Bench {
    /// Sends what the state machine queued, then handles packets until
    /// `done` holds for an event (it sees each one); false on an error or
    /// when the host is silent for [`ANSWER_NS`].
    fn pump(&mut self, mut done: impl FnMut(&StorvscEvent) -> bool) -> Result<(), String> {
        let mut deadline = crate::time::now_ns().saturating_add(ANSWER_NS);
        loop {
            for packet in core::mem::take(&mut self.out.sends) {
                let bytes = packet.encode().map_err(|e| format!("{e:?}"))?;
                self.channel.send(&bytes).map_err(|e| format!("{e}"))?;
            }
            let mut finished = false;
            for e in self.out.events.drain(..) {
                finished |= done(&e);
            }
            if finished {
                return Ok(());
            }
            match self.channel.receive(&mut self.buf) {
                Ok(Some(len)) => {
                    let packet = Incoming::parse(&self.buf[..len]).map_err(|e| format!("{e:?}"))?;
                    self.storvsc
                        .handle(&packet, self.scratch.bytes(), &mut self.out)
                        .map_err(|e| format!("{e:?}"))?;
                    deadline = crate::time::now_ns().saturating_add(ANSWER_NS);
                }
                Ok(None) if crate::time::now_ns() >= deadline => {
                    return Err("the host did not answer".into())
                }
                Ok(None) => {
                    let _ = self.channel.signal().wait_until(deadline);
                }
                Err(e) => return Err(format!("{e}")),
            }
        }
    }

    /// Sends one request and waits for its completion.
    fn complete(&mut self, request: (RequestId, vmbus_devices::Outgoing)) -> Result<u32, String> {
        let (id, packet) = request;
        self.out.sends.push(packet);
        let mut result = None;
        self.pump(|e| match *e {
            StorvscEvent::Completed {
                id: done,
                result: r,
            } if done == id => {
                result = Some(r);
                true
            }
            _ => false,
        })?;
        match result {
            Some(Ok(n)) => Ok(n),
            Some(Err(e)) => Err(format!("{e:?}")),
            None => Err("no completion".into()),
        }
    }
}

/// Benchmarks 25 and 26; a failure is logged and skips them.
pub fn vmbus_benchmarks() {
    if let Err(e) = run() {
        log::warn!("bench: vmbus_roundtrip and storvsc_read_seq skipped: {e}");
    }
}

fn run() -> Result<(), String> {
    let (sim, ids) = Simulated::start(
        HostConfig::default(),
        [Box::new(Storvsp::new(SECTORS)) as Box<dyn vmbus_host::Device>],
    )
    .map_err(|e| format!("{e}"))?;
    let result = with_model(&sim, ids[0]);
    if let Some(c) = crate::hyperv::bus::active() {
        c.close(ANSWER_NS);
    }
    sim.stop();
    result
}

fn with_model(sim: &Arc<Simulated>, disk: vmbus_host::DeviceId) -> Result<(), String> {
    let hv: Arc<dyn Hypervisor> = sim.clone();
    let c = Connection::start(hv, "vmbus-bench", vmbus::ClientConfig::default())
        .map_err(|e| format!("{e}"))?;
    if !c.wait_offers(ANSWER_NS) {
        return Err("no offers".into());
    }
    let relid = sim
        .with_host(|h| h.relid(disk))
        .ok_or("the model gave the disk no relid")?;
    let channel = Channel::open(c.clone(), relid, 8).map_err(|e| format!("{e}"))?;
    let result = bench_channel(channel.clone());
    channel.close(ANSWER_NS);
    result?;
    c.bind_offers(ANSWER_NS);
    let result = bench_driver();
    crate::drivers::hv_storvsc::stop_all();
    result
}

/// Benchmark 26, through the storvsc driver and the disk service.
fn bench_driver() -> Result<(), String> {
    let served = crate::drivers::hv_storvsc::disks();
    let name = served.first().ok_or("the storvsc driver took no disk")?;
    let disk = crate::disk::list()
        .into_iter()
        .find(|d| d.name() == name)
        .ok_or("the storvsc disk is not in the disk service")?;
    let mut buf = alloc::vec![0u8; 1 << 20];
    let per = buf.len() as u64 / u64::from(disk.sector_size());
    let mut lba = 0u64;
    let mut errors = 0u32;
    measure::<26>("storvsc_read_seq", 16, || {
        if lba + per > disk.sectors() {
            lba = 0;
        }
        errors += u32::from(disk.read(lba, &mut buf).is_err());
        lba += per;
    });
    if errors > 0 {
        return Err(format!("{errors} read(s) failed during the runs"));
    }
    Ok(())
}

fn bench_channel(channel: Arc<Channel>) -> Result<(), String> {
    let scratch = OwnedFrames::new(1, 4096).map_err(|e| format!("{e}"))?;
    let config = StorvscConfig {
        path_id: 0,
        target: 0,
        lun: 0,
        scratch: GpaRange::contiguous(scratch.phys(), 4096).map_err(|e| format!("{e:?}"))?,
    };
    let mut b = Bench {
        channel,
        storvsc: Storvsc::new(config),
        out: Output::new(),
        scratch,
        buf: [0; 512],
    };
    b.storvsc.start(&mut b.out).map_err(|e| format!("{e:?}"))?;
    b.pump(|e| matches!(e, StorvscEvent::DiskReady { .. }))?;
    let mut errors = 0u32;
    measure::<25>("vmbus_roundtrip", 2000, || {
        let r = b
            .storvsc
            .submit(Command::TestUnitReady, None)
            .map_err(|e| format!("{e:?}"))
            .and_then(|req| b.complete(req));
        errors += u32::from(r.is_err());
    });
    if errors > 0 {
        return Err(format!("{errors} request(s) failed during the runs"));
    }
    Ok(())
}
