//! M6, the network: the virtio-net device's stack gets a DHCP lease from
//! QEMU's user-mode network (slirp) and pings its gateway.
#![forbid(unsafe_code)]

use super::{detail, ensure, wait_for, Context, Outcome};
use alloc::vec::Vec;
use core::net::Ipv4Addr;

/// How long the DHCP exchange may take under TCG.
const LEASE_WAIT_S: u64 = 30;
/// Echo requests sent to the gateway.
const PINGS: u16 = 3;
/// The identifier they carry ("FP").
const IDENT: u16 = 0x4650;

fn lease() -> Option<net::Lease> {
    crate::net::with_stack(|s| s.lease()).flatten()
}

pub(super) fn dhcp_lease(_: &Context<'_>) -> Outcome {
    ensure!(
        crate::net::with_stack(|_| ()).is_some(),
        "no network device (the suite attaches virtio-net-pci)"
    );
    let t0 = crate::net::now_ms();
    let got = wait_for(LEASE_WAIT_S, || lease().is_some());
    let stats = crate::net::with_stack(|s| s.stats());
    ensure!(got, "no DHCP lease after {LEASE_WAIT_S} s ({stats:?})");
    let l = lease().ok_or_else(|| detail!("the lease went away at once"))?;
    ensure!(
        l.origin == net::Origin::Dhcp,
        "the address is not from DHCP: {l:?}"
    );
    let dns: Vec<Ipv4Addr> = l.dns_servers().collect();
    Ok(detail!(
        "{}/{} gateway {} DNS {dns:?} from DHCP in {} ms",
        l.address,
        l.prefix_len,
        l.gateway.map_or(Ipv4Addr::UNSPECIFIED, |g| g),
        crate::net::now_ms() - t0
    ))
}

pub(super) fn ping_the_gateway(_: &Context<'_>) -> Outcome {
    let l = lease().ok_or_else(|| detail!("no lease (dhcp_lease failed)"))?;
    let gateway = l
        .gateway
        .ok_or_else(|| detail!("the lease names no gateway"))?;
    let mut rtts = Vec::new();
    let interrupts = crate::net::interrupts();
    for seq in 1..=PINGS {
        crate::net::with_stack(|s| s.ping(gateway, IDENT, seq, b"Ferrite M6 ping"))
            .ok_or_else(|| detail!("no network stack"))?
            .map_err(|e| detail!("ping {seq}: {e}"))?;
        let mut reply = None;
        let answered = wait_for(5, || {
            reply = crate::net::with_stack(|s| s.take_echo_reply()).flatten();
            reply.is_some()
        });
        ensure!(answered, "no echo reply to request {seq} from {gateway}");
        let r = reply.ok_or_else(|| detail!("lost the reply"))?;
        ensure!(
            r.from == gateway && r.ident == IDENT && r.seq == seq && r.len == 15,
            "request {seq} got a reply that is not its own: {r:?}"
        );
        rtts.push(r.rtt_ms);
    }
    let stats = crate::net::with_stack(|s| s.stats()).unwrap_or_default();
    let interrupts = crate::net::interrupts() - interrupts;
    // Each reply arrives by a receive interrupt (transmits raise theirs).
    ensure!(
        interrupts >= u64::from(PINGS),
        "{interrupts} device interrupt(s) for {PINGS} replies"
    );
    Ok(detail!(
        "{PINGS} echo replies from {gateway} (rtt {rtts:?} ms, {interrupts} device interrupts); {} frames in, {} out, {} malformed dropped",
        stats.rx_frames,
        stats.tx_frames,
        stats.rx_dropped_malformed
    ))
}

/// The longest echo.exe serves before it gives up on the host.
const ECHO_SECONDS: &str = "90";

/// echo.exe serves UDP and TCP echo on port 7 until the host's client
/// (tests/src/echo.rs, through QEMU's `hostfwd`) has been answered both
/// ways; the host checks the bytes it got back.
pub(super) fn echo_for_the_host(ctx: &Context<'_>) -> Outcome {
    super::user_checks(ctx, "echo.exe", ECHO_SECONDS, "M6")
}
