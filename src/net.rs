//! Which addresses count as public: the one rule the firewall, discovery and node lookups share.

use std::net::Ipv4Addr;

/// The IPv4 ranges that are not the public internet (private, loopback, link-local with the metadata
/// address, CGNAT, "this network"): what an egress rule to outside destinations excludes.
pub const NON_PUBLIC_IPV4: [&str; 7] = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.168.0.0/16",
];
/// The same for IPv6: unique-local, link-local, loopback.
pub const NON_PUBLIC_IPV6: [&str; 3] = ["fc00::/7", "fe80::/10", "::1/128"];

/// Whether an address can reach a NodeBalancer from outside (not private, loopback, link-local, CGNAT, …).
pub fn is_public(ip: &Ipv4Addr) -> bool {
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        // 100.64.0.0/10, carrier-grade NAT
        || ip.octets()[0] == 100 && (ip.octets()[1] & 0xc0) == 64)
}

/// The public IPv4 addresses among `addresses` (unparsable entries skipped).
pub fn public_ipv4<'a>(addresses: impl IntoIterator<Item = &'a String>) -> Vec<Ipv4Addr> {
    addresses
        .into_iter()
        .filter_map(|a| a.parse::<Ipv4Addr>().ok())
        .filter(is_public)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_loopback_and_cgnat_are_not_public() {
        assert!(is_public(&Ipv4Addr::new(172, 105, 1, 1)));
        assert!(!is_public(&Ipv4Addr::new(192, 168, 130, 7)));
        assert!(!is_public(&Ipv4Addr::new(10, 2, 0, 1)));
        assert!(!is_public(&Ipv4Addr::new(100, 64, 0, 1)));
        let listed = ["192.168.1.2".to_string(), "172.105.1.1".into(), "nonsense".into()];
        assert_eq!(public_ipv4(&listed), vec![Ipv4Addr::new(172, 105, 1, 1)]);
    }
}
