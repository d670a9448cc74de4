//! A tiny network peer for netvsp: answers ARP, ICMP echo and UDP echo for
//! one IPv4 address (RFC 826, RFC 792, RFC 768, RFC 791 header checksum).

use alloc::vec::Vec;

use crate::wire::be16_at;

const ETH_ARP: u16 = 0x0806;
const ETH_IPV4: u16 = 0x0800;
const PROTO_ICMP: u8 = 1;
const PROTO_UDP: u8 = 17;
/// Minimum Ethernet frame without FCS.
const MIN_FRAME: usize = 60;

/// RFC 1071 ones'-complement sum folded to 16 bits (not inverted).
fn sum16(data: &[u8], mut acc: u32) -> u32 {
    for pair in data.chunks(2) {
        let word = u16::from_be_bytes([pair[0], pair.get(1).copied().unwrap_or(0)]);
        acc += u32::from(word);
    }
    while acc > 0xFFFF {
        acc = (acc & 0xFFFF) + (acc >> 16);
    }
    acc
}

/// The Internet checksum of `data`.
pub(crate) fn checksum(data: &[u8]) -> u16 {
    !(sum16(data, 0) as u16)
}

fn pad(mut f: Vec<u8>) -> Vec<u8> {
    if f.len() < MIN_FRAME {
        f.resize(MIN_FRAME, 0);
    }
    f
}

/// The reply to `frame` if it is an ARP request for `ip`, an ICMP echo
/// request to `ip` or a UDP datagram to `ip`.
pub(crate) fn respond(frame: &[u8], mac: [u8; 6], ip: [u8; 4]) -> Option<Vec<u8>> {
    let dst = frame.get(0..6)?;
    if dst != mac && dst != [0xFF; 6] {
        return None;
    }
    match be16_at(frame, 12)? {
        ETH_ARP => arp(frame, mac, ip),
        ETH_IPV4 => ipv4(frame, mac, ip),
        _ => None,
    }
}

fn arp(f: &[u8], mac: [u8; 6], ip: [u8; 4]) -> Option<Vec<u8>> {
    let a = f.get(14..42)?;
    // Ethernet/IPv4, hlen 6, plen 4, op 1 (request), target = ip.
    if a[0..8] != [0, 1, 8, 0, 6, 4, 0, 1] || a[24..28] != ip {
        return None;
    }
    let (smac, sip) = (&a[8..14], &a[14..18]);
    let mut r = Vec::with_capacity(MIN_FRAME);
    r.extend_from_slice(smac);
    r.extend_from_slice(&mac);
    r.extend_from_slice(&ETH_ARP.to_be_bytes());
    r.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 2]);
    r.extend_from_slice(&mac);
    r.extend_from_slice(&ip);
    r.extend_from_slice(smac);
    r.extend_from_slice(sip);
    Some(pad(r))
}

fn ipv4(f: &[u8], mac: [u8; 6], ip: [u8; 4]) -> Option<Vec<u8>> {
    let h = f.get(14..)?;
    let ihl = usize::from(h.first()? & 0x0F) * 4;
    if h[0] >> 4 != 4 || ihl < 20 || h.len() < ihl {
        return None;
    }
    let total = usize::from(be16_at(h, 2)?);
    if total < ihl || total > h.len() || checksum(&h[..ihl]) != 0 || h[16..20] != ip {
        return None;
    }
    // No fragments: MF clear and offset 0.
    if be16_at(h, 6)? & 0x3FFF != 0 {
        return None;
    }
    let (src, proto, body) = ([h[12], h[13], h[14], h[15]], h[9], &h[ihl..total]);
    let reply_body = match proto {
        PROTO_ICMP => {
            if body.len() < 8 || body[0] != 8 || body[1] != 0 || checksum(body) != 0 {
                return None;
            }
            let mut b = body.to_vec();
            b[0] = 0;
            b[2..4].fill(0);
            let c = checksum(&b);
            b[2..4].copy_from_slice(&c.to_be_bytes());
            b
        }
        PROTO_UDP => {
            if body.len() < 8 || usize::from(be16_at(body, 4)?) != body.len() {
                return None;
            }
            let mut b = body.to_vec();
            b[0..2].copy_from_slice(&body[2..4]);
            b[2..4].copy_from_slice(&body[0..2]);
            b[6..8].fill(0);
            let c = udp_checksum(ip, src, &b);
            b[6..8].copy_from_slice(&c.to_be_bytes());
            b
        }
        _ => return None,
    };
    let mut iph = [0u8; 20];
    iph[0] = 0x45;
    iph[2..4].copy_from_slice(&((20 + reply_body.len()) as u16).to_be_bytes());
    iph[4..6].copy_from_slice(&h[4..6]);
    iph[8] = 64;
    iph[9] = proto;
    iph[12..16].copy_from_slice(&ip);
    iph[16..20].copy_from_slice(&src);
    let c = checksum(&iph);
    iph[10..12].copy_from_slice(&c.to_be_bytes());
    let mut r = Vec::with_capacity(34 + reply_body.len());
    r.extend_from_slice(&f[6..12]);
    r.extend_from_slice(&mac);
    r.extend_from_slice(&ETH_IPV4.to_be_bytes());
    r.extend_from_slice(&iph);
    r.extend_from_slice(&reply_body);
    Some(pad(r))
}

/// UDP checksum with the IPv4 pseudo-header (RFC 768); 0 becomes 0xFFFF.
fn udp_checksum(src: [u8; 4], dst: [u8; 4], udp: &[u8]) -> u16 {
    let mut pseudo = [0u8; 12];
    pseudo[0..4].copy_from_slice(&src);
    pseudo[4..8].copy_from_slice(&dst);
    pseudo[9] = PROTO_UDP;
    pseudo[10..12].copy_from_slice(&(udp.len() as u16).to_be_bytes());
    let c = !(sum16(udp, sum16(&pseudo, 0)) as u16);
    if c == 0 {
        0xFFFF
    } else {
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2.
        assert_eq!(
            sum16(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7], 0),
            0xddf2
        );
    }
}
