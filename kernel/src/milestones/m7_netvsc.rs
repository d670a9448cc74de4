//! M7 `udp_echo_through_netvsc`: the kernel's network stack (the `net`
//! crate, as the network service runs it) over the Hyper-V network
//! adapter, against the simulated host's netvsp in responder mode (it
//! answers ARP, ICMP echo and UDP echo for one address).
//!
//! When the netvsc driver binds, the adapter joins the network service
//! (behind the suite's virtio-net, which is eth0 and keeps the service's
//! stack). The check drives a stack of its own over the adapter's handle:
//! a static address, ARP for the peer, then datagrams of several sizes up
//! to the largest one frame carries, one at a time and a burst together;
//! each must come back from the peer's address and port with its bytes.
//! The host must have every receive section back. Last, the link goes
//! down and up again, and the host rescinds the channel: the adapter
//! leaves the driver, its handle has no device behind it, the relid goes
//! back and every frame is back.
#![forbid(unsafe_code)]

use super::m7::CONNECT_NS;
use super::m7_host::Simulated;
use super::{detail, ensure, Detail, Outcome};
use crate::drivers::hv_netvsc::{self, NicHandle};
use crate::hyperv::bus::Connection;
use crate::hyperv::Hypervisor;
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::net::Ipv4Addr;
use net::NetDevice;
use vmbus_host::device::netvsp::{NetMode, Netvsp};
use vmbus_host::HostConfig;

/// The adapter's MAC (Hyper-V's 00:15:5D prefix).
const GUEST_MAC: [u8; 6] = [0x00, 0x15, 0x5d, 0x07, 0x00, 0x02];
/// The peer the host plays.
const PEER_MAC: [u8; 6] = [0x00, 0x15, 0x5d, 0x07, 0x00, 0x01];
const PEER_IP: Ipv4Addr = Ipv4Addr::new(10, 7, 0, 1);
const GUEST_IP: Ipv4Addr = Ipv4Addr::new(10, 7, 0, 2);
/// The port the datagrams go to (the peer echoes any).
const ECHO_PORT: u16 = 7;
/// Sizes sent one at a time: empty, small, odd, and the largest a
/// 1500-byte MTU carries (1500 - 20 - 8).
const SIZES: [usize; 4] = [0, 18, 777, 1472];
/// Datagrams sent together (as many as a UDP socket queues).
const BURST: usize = net::UDP_PACKETS;
/// How long one exchange may take.
const ANSWER_MS: u64 = 3000;

pub fn udp_echo_through_netvsc(_: &super::Context<'_>) -> Outcome {
    // The stack's buffers come from the heap; let it grow before the
    // frames are counted (a heap that grows keeps its frames).
    drop(vec![0u8; 4 << 20]);
    let nic = Netvsp::new(
        GUEST_MAC,
        NetMode::Responder {
            mac: PEER_MAC,
            ip: PEER_IP.octets(),
        },
    );
    let devices: Vec<Box<dyn vmbus_host::Device>> = vec![Box::new(nic)];
    super::m7::under_model(HostConfig::default(), devices, |sim, ids| {
        scenario(sim, ids[0])
    })
}

fn scenario(sim: &Arc<Simulated>, id: vmbus_host::DeviceId) -> Result<String, Detail> {
    let hv: Arc<dyn Hypervisor> = sim.clone();
    let c = Connection::start(hv, "vmbus7", vmbus::ClientConfig::default())
        .map_err(|e| detail!("{e}"))?;
    ensure!(c.bind_offers(CONNECT_NS), "the offer did not come");
    let relid = sim
        .with_host(|h| h.relid(id))
        .ok_or_else(|| detail!("the model gave the adapter no relid"))?;
    let nics = hv_netvsc::nics();
    let [(name, handle)] = nics.as_slice() else {
        return Err(detail!(
            "netvsc serves {:?}, not one adapter",
            nics.iter().map(|n| &n.0).collect::<Vec<_>>()
        ));
    };
    // eth0 is the service's: its thread would take the frames too.
    ensure!(
        name != "eth0",
        "the adapter is eth0 (the suite's virtio-net should be)"
    );
    ensure!(
        handle.mac() == GUEST_MAC && handle.mtu() == 1500,
        "{name}: MAC {:02x?} MTU {}, not the host's",
        handle.mac(),
        handle.mtu()
    );
    let (echoed, bytes) = echo(handle)?;
    let counters = handle
        .counters()
        .ok_or_else(|| detail!("{name} went away"))?;
    let outstanding = sim.with_host(|h| h.device::<Netvsp>(id).map(Netvsp::outstanding_receives));
    ensure!(
        outstanding == Some(0),
        "the host still waits for {outstanding:?} receive completions"
    );

    // The cable out and in again.
    for up in [false, true] {
        ensure!(
            sim.with_host(|h| h.device_mut::<Netvsp>(id).is_some_and(|n| n.set_link(up))),
            "the model would not change the link"
        );
        ensure!(
            super::wait_for(2, || handle.link_up() == Some(up)),
            "{name}: the link did not go {}",
            if up { "up" } else { "down" }
        );
    }

    ensure!(
        sim.with_host(|h| h.rescind(id)),
        "the model would not rescind the adapter"
    );
    ensure!(
        super::wait_for(3, || hv_netvsc::nics().is_empty() && !hv_netvsc::running()),
        "netvsc still serves {:?} after the rescind",
        hv_netvsc::nics().iter().map(|n| &n.0).collect::<Vec<_>>()
    );
    let mut late = handle.clone();
    ensure!(
        !late.present() && !late.can_transmit(),
        "{name}'s handle still has a device"
    );
    let sent = late.transmit(&[0xff; 60]);
    ensure!(sent.is_err(), "a removed adapter took a frame");
    let phase = || sim.with_host(|h| h.phase(id));
    ensure!(
        super::wait_for(2, || phase() != Some(vmbus_host::ChannelPhase::Revoked)),
        "the relid was not released (the host's channel is {:?})",
        phase()
    );
    Ok(format!(
        "{name} on relid-{relid}: {echoed} datagrams ({bytes} bytes) echoed by {PEER_IP} (frames: {} in, {} out, {} completed by the host, {} refused), every receive section back; link down and up seen; rescinded: adapter gone, its handle fails ({sent:?}), relid released (host: {:?})",
        counters.rx_frames,
        counters.tx_frames,
        counters.tx_completed,
        counters.refused,
        phase()
    ))
}

/// The datagrams, through a stack of the check's own; how many came back
/// and their bytes.
fn echo(handle: &NicHandle) -> Result<(usize, usize), Detail> {
    let now = crate::net::now_ms;
    let mut stack = net::Stack::with_seed(handle.clone(), now(), crate::time::now_ns())
        .map_err(|e| detail!("no stack: {e}"))?;
    stack
        .set_static(GUEST_IP, 24, None)
        .map_err(|e| detail!("{e}"))?;
    let sock = stack.udp_bind(0).map_err(|e| detail!("{e}"))?;
    let mut echoed = 0;
    let mut bytes = 0;
    let payload =
        |n: usize, salt: usize| -> Vec<u8> { (0..n).map(|i| (i * 7 + salt * 31) as u8).collect() };
    let mut rounds: Vec<Vec<Vec<u8>>> = SIZES
        .iter()
        .enumerate()
        .map(|(i, &n)| vec![payload(n, i)])
        .collect();
    rounds.push(
        (0..BURST)
            .map(|i| payload(100 + i * 170, 100 + i))
            .collect(),
    );
    let mut buf = vec![0u8; 2048];
    for round in rounds {
        for p in &round {
            stack
                .udp_send_to(sock, PEER_IP, ECHO_PORT, p)
                .map_err(|e| detail!("sending {} bytes: {e}", p.len()))?;
        }
        let mut waiting: Vec<Vec<u8>> = round.clone();
        let deadline = now() + ANSWER_MS;
        while !waiting.is_empty() {
            stack.poll(now());
            while let Some(d) = stack
                .udp_recv_from(sock, &mut buf)
                .map_err(|e| detail!("{e}"))?
            {
                let got = &buf[..d.len];
                ensure!(
                    d.from == PEER_IP && d.port == ECHO_PORT && !d.truncated,
                    "a datagram from {}:{} ({} bytes)",
                    d.from,
                    d.port,
                    d.len
                );
                let at = waiting.iter().position(|w| w.as_slice() == got);
                let Some(at) = at else {
                    return Err(detail!("{} bytes came back that were not sent", d.len));
                };
                waiting.swap_remove(at);
                echoed += 1;
                bytes += d.len;
            }
            if now() >= deadline {
                let stats = stack.stats();
                return Err(detail!(
                    "{} of {} datagrams not echoed in {ANSWER_MS} ms ({stats:?}, {:?}, {:?})",
                    waiting.len(),
                    round.len(),
                    handle.counters(),
                    handle.failure()
                ));
            }
            let _ = crate::task::sched::sleep_ns(1_000_000);
        }
    }
    Ok((echoed, bytes))
}
