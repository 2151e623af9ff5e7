//! Which vantage this machine is, when `--from` is not given: the one whose
//! zone contains the address this machine sends from towards the targets.
//!
//! Pure: `targets` lists an address per probe-able zone CIDR and declared
//! host, the CLI (`cli::locate`) asks the kernel which source address it
//! would use towards each, and `vantage_for` decides from those. A source
//! address belongs to the most specific zone containing it
//! (`Intent::zone_of`), so a `probe: false` zone such as `internet`
//! (0.0.0.0/0) means its CIDRs minus every other zone's, as everywhere else.
//!
//! The rule: the source addresses that fall in a zone must all fall in one,
//! and exactly one vantage must be in that zone; addresses in no zone are
//! left out (an IPv6 address the spec declares nothing about). Anything
//! else is refused with the candidates, never guessed.

use std::collections::BTreeSet;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::spec::intent::{Intent, VantageId, ZoneId};

/// A vantage that could have been chosen, and its zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The vantage's name.
    pub vantage: String,
    /// Its zone's name.
    pub zone: String,
}

/// A source address, and the zone it is in (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// The address this machine sends from.
    pub address: IpAddr,
    /// The most specific zone containing it.
    pub zone: Option<String>,
}

/// Why no vantage could be chosen. Each variant carries what the user needs
/// to choose one: the source addresses, their zones, the candidates.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LocateError {
    /// No source address is known: this machine has no route to any target.
    NoSource {
        /// Every vantage of the spec.
        candidates: Vec<Candidate>,
    },
    /// No vantage's zone contains the source addresses.
    NoVantage {
        /// The source addresses, with their zones.
        sources: Vec<Placed>,
        /// Every vantage of the spec.
        candidates: Vec<Candidate>,
    },
    /// The source addresses are in one zone, which several vantages share.
    Ambiguous {
        /// The source addresses in that zone.
        sources: Vec<Placed>,
        /// The zone.
        zone: String,
        /// The vantages in it.
        vantages: Vec<String>,
    },
    /// The source addresses are in several zones: this machine straddles
    /// them, so no one vantage is its position.
    SeveralZones {
        /// The source addresses, with their zones.
        sources: Vec<Placed>,
        /// Every vantage of the spec.
        candidates: Vec<Candidate>,
    },
}

impl fmt::Display for LocateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoSource { candidates } => write!(
                f,
                "this machine has no route to any target of the spec, so no source address \
                 says where it is; {}",
                candidates_text(candidates)
            ),
            Self::NoVantage { sources, candidates } => {
                let placed = sources.iter().find_map(|s| s.zone.as_deref());
                match (sources.as_slice(), placed) {
                    ([one], None) => write!(
                        f,
                        "this machine's source address {} towards the targets is in no zone",
                        one.address
                    )?,
                    ([one], Some(zone)) => write!(
                        f,
                        "this machine's source address {} towards the targets is in zone \
                         `{zone}`, which no vantage is in",
                        one.address
                    )?,
                    (_, None) => write!(
                        f,
                        "this machine's source addresses towards the targets ({}) are in no zone",
                        addresses_text(sources)
                    )?,
                    (_, Some(zone)) => write!(
                        f,
                        "this machine's source addresses towards the targets ({}) are in zone \
                         `{zone}`, which no vantage is in",
                        addresses_text(sources)
                    )?,
                }
                write!(f, "; {}", candidates_text(candidates))
            }
            Self::Ambiguous { sources, zone, vantages } => write!(
                f,
                "this machine's {} towards the targets {} in zone `{zone}`, which vantages {} \
                 share",
                source_words(sources),
                if sources.len() == 1 { "is" } else { "are" },
                vantages.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", ")
            ),
            Self::SeveralZones { sources, candidates } => write!(
                f,
                "this machine's source addresses towards the targets are in several zones ({}); {}",
                sources
                    .iter()
                    .filter_map(|s| Some(format!("{} in `{}`", s.address, s.zone.as_deref()?)))
                    .collect::<Vec<_>>()
                    .join(", "),
                candidates_text(candidates)
            ),
        }
    }
}

impl std::error::Error for LocateError {}

/// `source address A` or `source addresses A, B`.
fn source_words(sources: &[Placed]) -> String {
    match sources {
        [one] => format!("source address {}", one.address),
        _ => format!("source addresses {}", addresses_text(sources)),
    }
}

fn addresses_text(sources: &[Placed]) -> String {
    sources
        .iter()
        .map(|s| match &s.zone {
            Some(z) => format!("{} in `{z}`", s.address),
            None => format!("{} in no zone", s.address),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn candidates_text(candidates: &[Candidate]) -> String {
    if candidates.is_empty() {
        return "the spec declares no vantage".to_owned();
    }
    let list: Vec<String> =
        candidates.iter().map(|c| format!("`{}` (zone {})", c.vantage, c.zone)).collect();
    format!("the spec's vantages: {}", list.join(", "))
}

/// One address per CIDR of each probe-able zone (the first after the
/// network address, when there is one) and each declared host in a
/// probe-able zone, without repeats: where the scan sends, so the routes
/// towards these are the routes a scan takes.
pub fn targets(intent: &Intent) -> Vec<IpAddr> {
    let mut out = BTreeSet::new();
    for zone in intent.zones.iter().filter(|z| z.probe) {
        for net in &zone.cidrs {
            let first = match net.network() {
                IpAddr::V4(a) if net.prefix() < 31 => Ipv4Addr::from(u32::from(a) + 1).into(),
                IpAddr::V6(a) if net.prefix() < 127 => Ipv6Addr::from(u128::from(a) + 1).into(),
                a => a,
            };
            out.insert(first);
        }
    }
    for host in &intent.hosts {
        if host.zone.is_some_and(|z| intent.zones[z.0].probe) {
            out.insert(host.address);
        }
    }
    out.into_iter().collect()
}

/// The vantage this machine is, given the addresses it sends from towards
/// the targets (`sources`, in any order, repeats allowed).
pub fn vantage_for(intent: &Intent, sources: &[IpAddr]) -> Result<VantageId, LocateError> {
    let sources: BTreeSet<IpAddr> = sources.iter().copied().collect();
    let candidates = || -> Vec<Candidate> {
        intent
            .vantages
            .iter()
            .map(|v| Candidate {
                vantage: v.name.clone(),
                zone: intent.zones[v.zone.0].name.clone(),
            })
            .collect()
    };
    if sources.is_empty() {
        return Err(LocateError::NoSource { candidates: candidates() });
    }
    let zoned: Vec<(IpAddr, Option<ZoneId>)> =
        sources.iter().map(|&a| (a, intent.zone_of(a))).collect();
    let placed = |list: &mut dyn Iterator<Item = &(IpAddr, Option<ZoneId>)>| -> Vec<Placed> {
        list.map(|&(address, zone)| Placed {
            address,
            zone: zone.map(|z| intent.zones[z.0].name.clone()),
        })
        .collect()
    };
    let zones: BTreeSet<ZoneId> = zoned.iter().filter_map(|(_, z)| *z).collect();
    let mut zones = zones.into_iter();
    let (Some(zone), None) = (zones.next(), zones.next()) else {
        let all = placed(&mut zoned.iter());
        return Err(if all.iter().all(|p| p.zone.is_none()) {
            LocateError::NoVantage { sources: all, candidates: candidates() }
        } else {
            LocateError::SeveralZones { sources: all, candidates: candidates() }
        });
    };
    let in_zone = placed(&mut zoned.iter().filter(|(_, z)| *z == Some(zone)));
    let vantages: Vec<VantageId> = (0..intent.vantages.len())
        .map(VantageId)
        .filter(|v| intent.vantages[v.0].zone == zone)
        .collect();
    match vantages.as_slice() {
        [one] => Ok(*one),
        [] => Err(LocateError::NoVantage { sources: in_zone, candidates: candidates() }),
        _ => Err(LocateError::Ambiguous {
            sources: in_zone,
            zone: intent.zones[zone.0].name.clone(),
            vantages: vantages.iter().map(|v| intent.vantages[v.0].name.clone()).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use super::*;

    fn intent(vantages: &str) -> Intent {
        let text = format!(
            "version: 1
zones:
  internet: {{ cidrs: [\"0.0.0.0/0\"], probe: false }}
  dmz: {{ cidrs: [198.18.10.0/24, \"2001:db8:10::/64\"] }}
  app: {{ cidrs: [198.18.20.0/24] }}
  lone: {{ cidrs: [198.18.30.7/32] }}
hosts:
  web: {{ address: 198.18.10.10 }}
  far: {{ address: 192.0.2.1 }}
vantages:
{vantages}"
        );
        let file: Arc<str> = Arc::from("test.yaml");
        let loaded = crate::spec::load_bytes(Path::new("test.yaml"), &file, text.as_bytes());
        loaded.intent.unwrap_or_else(|| panic!("spec refused: {:?}", loaded.diagnostics))
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    fn chosen(intent: &Intent, sources: &[&str]) -> Result<String, LocateError> {
        let sources: Vec<IpAddr> = sources.iter().map(|s| ip(s)).collect();
        vantage_for(intent, &sources).map(|v| intent.vantages[v.0].name.clone())
    }

    #[test]
    fn one_vantage_in_the_source_zone() {
        let i = intent("  dmz-runner: { zone: dmz }\n");
        assert_eq!(chosen(&i, &["198.18.10.2"]).as_deref(), Ok("dmz-runner"));
        // Both families, repeated: one zone, one vantage.
        let both = ["198.18.10.2", "2001:db8:10::2", "198.18.10.2"];
        assert_eq!(chosen(&i, &both).as_deref(), Ok("dmz-runner"));
        // An address in no zone beside one in a zone is left out.
        let i = intent("  app-runner: { zone: app }\n");
        assert_eq!(chosen(&i, &["198.18.20.9", "2001:db8:99::9"]).as_deref(), Ok("app-runner"));
    }

    #[test]
    fn a_nested_internet_zone_means_its_cidrs_minus_the_others() {
        let i = intent("  outside: { zone: internet }\n  dmz-runner: { zone: dmz }\n");
        assert_eq!(chosen(&i, &["203.0.113.5"]).as_deref(), Ok("outside"));
        assert_eq!(chosen(&i, &["198.18.10.77"]).as_deref(), Ok("dmz-runner"));
        // In app, which has no vantage: not `outside`, although 0.0.0.0/0 holds it.
        let err = chosen(&i, &["198.18.20.5"]).expect_err("no vantage in app");
        assert_eq!(
            err.to_string(),
            "this machine's source address 198.18.20.5 towards the targets is in zone `app`, \
             which no vantage is in; the spec's vantages: `outside` (zone internet), \
             `dmz-runner` (zone dmz)"
        );
    }

    #[test]
    fn several_vantages_in_the_zone_are_named() {
        let i = intent("  a: { zone: dmz }\n  outside: { zone: internet }\n  b: { zone: dmz }\n");
        let err = chosen(&i, &["198.18.10.2"]).expect_err("ambiguous");
        assert!(
            matches!(&err, LocateError::Ambiguous { zone, vantages, .. }
                if zone == "dmz" && vantages == &["a", "b"]),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "this machine's source address 198.18.10.2 towards the targets is in zone `dmz`, \
             which vantages `a`, `b` share"
        );
    }

    #[test]
    fn none_fits() {
        let i = intent("  dmz-runner: { zone: dmz }\n");
        // No zone at all: the spec has `internet`, but not for IPv6.
        let err = chosen(&i, &["2001:db8:99::9"]).expect_err("no zone");
        assert_eq!(
            err.to_string(),
            "this machine's source address 2001:db8:99::9 towards the targets is in no zone; \
             the spec's vantages: `dmz-runner` (zone dmz)"
        );
        // In `internet`, where no vantage is.
        let err = chosen(&i, &["203.0.113.5"]).expect_err("no vantage in internet");
        assert!(matches!(err, LocateError::NoVantage { .. }), "{err:?}");
        // Straddling two zones.
        let err = chosen(&i, &["198.18.10.2", "198.18.20.2"]).expect_err("two zones");
        assert_eq!(
            err.to_string(),
            "this machine's source addresses towards the targets are in several zones \
             (198.18.10.2 in `dmz`, 198.18.20.2 in `app`); the spec's vantages: `dmz-runner` \
             (zone dmz)"
        );
        // No route to anything.
        let err = chosen(&i, &[]).expect_err("no source");
        assert!(err.to_string().starts_with("this machine has no route"), "{err}");
        // No vantage declared.
        let err = chosen(&intent("  {}\n"), &["198.18.10.2"]).expect_err("no vantages");
        assert!(err.to_string().ends_with("the spec declares no vantage"), "{err}");
    }

    #[test]
    fn targets_are_one_address_per_probed_cidr_and_each_probed_host() {
        let i = intent("  dmz-runner: { zone: dmz }\n");
        let got: Vec<String> = targets(&i).iter().map(ToString::to_string).collect();
        // Not `internet` (probe: false), not `far` (in it); a /32 is itself.
        assert_eq!(
            got,
            ["198.18.10.1", "198.18.10.10", "198.18.20.1", "198.18.30.7", "2001:db8:10::1"]
        );
    }
}
