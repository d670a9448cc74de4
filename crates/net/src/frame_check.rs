//! Cheap sanity checks on a received frame before smoltcp parses it.
//!
//! smoltcp parses defensively itself; these checks make the drop visible
//! (counted in [`crate::Stats`]) and keep frames no well-behaved peer
//! sends out of the stack: runts, giants, group source addresses, IPv4
//! headers whose lengths or checksum are wrong, ARP packets that are not
//! Ethernet/IPv4 ARP.

/// Bytes in an Ethernet II header: destination, source, EtherType
/// (IEEE 802.3 clause 3.1.1).
pub const ETHERNET_HEADER_LEN: usize = 14;
/// EtherType of IPv4 (RFC 894).
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of ARP (RFC 826).
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// Bytes in an ARP packet for Ethernet and IPv4 (RFC 826).
const ARP_LEN: usize = 28;
/// Bytes in an IPv4 header without options (RFC 791 §3.1).
const IPV4_MIN_HEADER: usize = 20;

/// What to do with a received frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Hand it to the stack.
    Accept,
    /// Drop it: no correct sender builds it.
    Malformed(Malformation),
    /// Drop it: well formed, but not something this stack handles.
    Ignored(Ignored),
}

/// How a frame is malformed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Malformation {
    /// Shorter than an Ethernet header.
    Runt,
    /// Longer than the MTU plus the Ethernet header.
    Giant,
    /// The source MAC is a group (multicast or broadcast) address.
    GroupSource,
    /// An IPv4 packet shorter than the minimal header.
    Ipv4Truncated,
    /// IPv4 version field not 4.
    Ipv4Version,
    /// IPv4 header length under 20 bytes or past the frame.
    Ipv4HeaderLength,
    /// IPv4 total length shorter than the header or past the frame.
    Ipv4TotalLength,
    /// IPv4 header checksum wrong.
    Ipv4Checksum,
    /// An ARP packet shorter than 28 bytes.
    ArpTruncated,
    /// ARP hardware/protocol type or lengths not Ethernet/IPv4, or an
    /// unknown operation.
    ArpFormat,
}

/// Why a well-formed frame is not handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ignored {
    /// Not IPv4 or ARP (IPv6, VLAN tags, 802.3 length frames...).
    EtherType(u16),
    /// Unicast to another station.
    NotForUs,
    /// An IPv4 fragment (the stack does no reassembly).
    Fragment,
}

/// Judges one received frame for a station `own_mac` with IP MTU
/// `ip_mtu`.
pub fn check_frame(frame: &[u8], ip_mtu: usize, own_mac: [u8; 6]) -> Verdict {
    use Malformation::*;
    if frame.len() < ETHERNET_HEADER_LEN {
        return Verdict::Malformed(Runt);
    }
    if frame.len() > ip_mtu.saturating_add(ETHERNET_HEADER_LEN) {
        return Verdict::Malformed(Giant);
    }
    // The I/G bit (bit 0 of the first octet) marks a group address
    // (IEEE 802 §8.2); a source is always an individual station.
    if frame[6] & 1 != 0 {
        return Verdict::Malformed(GroupSource);
    }
    if frame[0] & 1 == 0 && frame[..6] != own_mac {
        return Verdict::Ignored(Ignored::NotForUs);
    }
    let payload = &frame[ETHERNET_HEADER_LEN..];
    match u16::from_be_bytes([frame[12], frame[13]]) {
        ETHERTYPE_IPV4 => check_ipv4(payload),
        ETHERTYPE_ARP => check_arp(payload),
        other => Verdict::Ignored(Ignored::EtherType(other)),
    }
}

/// RFC 791 §3.1: version, IHL, total length, header checksum.
fn check_ipv4(packet: &[u8]) -> Verdict {
    use Malformation::*;
    if packet.len() < IPV4_MIN_HEADER {
        return Verdict::Malformed(Ipv4Truncated);
    }
    if packet[0] >> 4 != 4 {
        return Verdict::Malformed(Ipv4Version);
    }
    let header_len = usize::from(packet[0] & 0x0f) * 4;
    if header_len < IPV4_MIN_HEADER || header_len > packet.len() {
        return Verdict::Malformed(Ipv4HeaderLength);
    }
    // Past the total length is Ethernet padding (frames of under 60 bytes).
    let total_len = usize::from(u16::from_be_bytes([packet[2], packet[3]]));
    if total_len < header_len || total_len > packet.len() {
        return Verdict::Malformed(Ipv4TotalLength);
    }
    if internet_checksum(&packet[..header_len]) != 0 {
        return Verdict::Malformed(Ipv4Checksum);
    }
    // Flags and fragment offset: MF is bit 13, the offset the low 13 bits.
    let frag = u16::from_be_bytes([packet[6], packet[7]]);
    if frag & 0x3fff != 0 {
        return Verdict::Ignored(Ignored::Fragment);
    }
    Verdict::Accept
}

/// RFC 826: hardware type 1 (Ethernet), protocol 0x0800, lengths 6 and 4,
/// operation 1 (request) or 2 (reply).
fn check_arp(packet: &[u8]) -> Verdict {
    if packet.len() < ARP_LEN {
        return Verdict::Malformed(Malformation::ArpTruncated);
    }
    let word = |i: usize| u16::from_be_bytes([packet[i], packet[i + 1]]);
    let ok = word(0) == 1
        && word(2) == ETHERTYPE_IPV4
        && packet[4] == 6
        && packet[5] == 4
        && matches!(word(6), 1 | 2);
    if ok {
        Verdict::Accept
    } else {
        Verdict::Malformed(Malformation::ArpFormat)
    }
}

/// The one's-complement sum of `bytes` as 16-bit words, complemented
/// (RFC 1071): 0 over a header whose checksum field is right.
pub fn internet_checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut words = bytes.chunks_exact(2);
    for w in &mut words {
        sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [last] = words.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checksum_matches_rfc_1071s_example() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
        let bytes = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(internet_checksum(&bytes), !0xddf2);
        assert_eq!(internet_checksum(&[0xff]), !0xff00);
    }
}
