//! `--from` when it is not given: which vantage this machine is. The kernel
//! is asked which source address it would send from towards each target
//! (`plan::locate::targets`): a UDP socket bound to the unspecified address
//! of the target's family and connected to the target's port 9 (discard),
//! which sends nothing, then `local_addr`. Targets the kernel has no route
//! to are left out. `plan::locate::vantage_for` decides from the addresses,
//! and the choice is said on stderr; no choice is an error listing the
//! candidates (exit 2).

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};

use vantage::plan::locate;
use vantage::spec::Intent;

/// The vantage to run as: `from` when given (checked later, by the plan),
/// else the one `vantage_for` finds for this machine's source addresses,
/// said on stderr.
pub(crate) fn resolve_from(intent: &Intent, from: Option<&str>) -> anyhow::Result<String> {
    if let Some(name) = from {
        return Ok(name.to_owned());
    }
    let sources = source_addresses(&locate::targets(intent));
    let id = locate::vantage_for(intent, &sources)
        .map_err(|e| anyhow::anyhow!("--from not given: {e}; name the vantage with --from"))?;
    let vantage = &intent.vantages[id.0];
    let mine: Vec<String> = sources
        .iter()
        .filter(|a| intent.zone_of(**a) == Some(vantage.zone))
        .map(ToString::to_string)
        .collect();
    {
        super::log::note(&format!(
            "--from not given: this machine's source address{} {} towards the targets {} \
             in zone `{}`: vantage `{}`",
            if mine.len() == 1 { "" } else { "es" },
            mine.join(", "),
            if mine.len() == 1 { "is" } else { "are" },
            intent.zones[vantage.zone.0].name,
            vantage.name
        ));
    }
    Ok(vantage.name.clone())
}

/// The addresses this machine would send from towards `targets`, each
/// once, in order; a target without a route gives none.
pub(crate) fn source_addresses(targets: &[IpAddr]) -> Vec<IpAddr> {
    let found: BTreeSet<IpAddr> = targets.iter().filter_map(|t| source_towards(*t)).collect();
    found.into_iter().collect()
}

/// The kernel's source address towards `target`: connecting a UDP socket
/// picks the route and the address, and sends no packet.
fn source_towards(target: IpAddr) -> Option<IpAddr> {
    let any = match target {
        IpAddr::V4(_) => SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
        IpAddr::V6(_) => SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)),
    };
    let socket = UdpSocket::bind(any).ok()?;
    socket.connect(SocketAddr::new(target, 9)).ok()?;
    let local = socket.local_addr().ok()?.ip();
    (!local.is_unspecified()).then_some(local)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_reached_from_loopback() {
        let lo = IpAddr::from(Ipv4Addr::LOCALHOST);
        assert_eq!(source_addresses(&[lo, lo]), [lo]);
        // The limited broadcast address needs SO_BROADCAST: refused, left out.
        assert!(source_addresses(&[IpAddr::from(Ipv4Addr::BROADCAST)]).is_empty());
    }
}
