//! Declaring a lab and checking the declaration before anything is made.
//!
//! Invariants: every problem in a declaration is reported at once, not just
//! the first; a declaration that passes uses only 198.18.0.0/15, with zone
//! subnets that do not overlap and each have room for the router (`.1`) and
//! the host (`.10`); and the check needs no root, so it runs everywhere.

use std::net::Ipv4Addr;
use std::time::Duration;

use ipnetwork::Ipv4Network;

use super::{Lab, LabError, relay};

/// The only addresses a lab may use: the benchmarking range (RFC 2544).
fn lab_range() -> Ipv4Network {
    Ipv4Network::new(Ipv4Addr::new(198, 18, 0, 0), 15).expect("198.18.0.0/15 is a valid network")
}

/// A declared lab, not yet built. See the module docs.
#[must_use]
pub(crate) struct LabBuilder {
    tag: String,
    zones: Vec<(String, String)>,
    rules: Option<String>,
    links: Vec<(String, LinkSetting)>,
}

enum LinkSetting {
    Delay(Duration),
    Loss(f64),
    Seed(u64),
}

impl LabBuilder {
    pub(super) fn new(tag: &str) -> Self {
        Self { tag: tag.to_owned(), zones: Vec::new(), rules: None, links: Vec::new() }
    }

    /// Add a zone: a namespace whose host is `.10` of `subnet` (which must lie
    /// in 198.18.0.0/15 and be at most a /28), linked to the router at `.1`.
    pub(crate) fn zone(mut self, name: &str, subnet: &str) -> Self {
        self.zones.push((name.to_owned(), subnet.to_owned()));
        self
    }

    /// Load this nftables ruleset (`nft -f` syntax) into the router. Without
    /// one the router forwards everything. (Mind nft's keywords: a chain
    /// named `fwd` is a syntax error; call it `forward`.)
    pub(crate) fn router_rules(mut self, ruleset: &str) -> Self {
        self.rules = Some(ruleset.to_owned());
        self
    }

    /// Run the zone's link through a relay that holds every frame this long,
    /// in each direction (a round trip gains twice this).
    pub(crate) fn link_delay(mut self, zone: &str, delay: Duration) -> Self {
        self.links.push((zone.to_owned(), LinkSetting::Delay(delay)));
        self
    }

    /// Run the zone's link through a relay that drops this fraction of
    /// frames, independently in each direction.
    pub(crate) fn link_loss(mut self, zone: &str, fraction: f64) -> Self {
        self.links.push((zone.to_owned(), LinkSetting::Loss(fraction)));
        self
    }

    /// Seed the relay's loss decisions on this zone's link (default 1).
    pub(crate) fn link_seed(mut self, zone: &str, seed: u64) -> Self {
        self.links.push((zone.to_owned(), LinkSetting::Seed(seed)));
        self
    }

    /// Check the declaration, then build the lab. Errors:
    /// [`LabError::Spec`] (even without root), [`LabError::NotRoot`], or the
    /// setup step that failed, after tearing down what was already made.
    pub(crate) fn build(self) -> Result<Lab, LabError> {
        let plan = self.resolve()?;
        let uid = effective_uid()?;
        if uid != "0" {
            return Err(LabError::NotRoot { tag: plan.tag, uid });
        }
        Lab::create(plan)
    }

    /// Check everything and collect every problem, not just the first.
    fn resolve(self) -> Result<Plan, LabError> {
        let mut problems = Vec::new();
        if !short_name(&self.tag) {
            problems.push(format!("tag {:?} must be 1 to 10 of a-z, 0-9", self.tag));
        }
        let mut zones: Vec<ZonePlan> = Vec::new();
        for (name, subnet) in &self.zones {
            if !short_name(name) || name == Lab::ROUTER {
                problems.push(format!(
                    "zone name {name:?} must be 1 to 10 of a-z, 0-9, not \"router\""
                ));
            }
            if zones.iter().any(|z| &z.name == name) {
                problems.push(format!("zone {name:?} is declared twice"));
            }
            match subnet_problem(subnet) {
                Err(problem) => problems.push(format!("zone {name:?}: {problem}")),
                Ok(net) => {
                    if let Some(other) = zones.iter().find(|z| z.net.overlaps(net)) {
                        problems
                            .push(format!("zone {name:?}: {net} overlaps zone {:?}", other.name));
                    }
                    zones.push(ZonePlan { name: name.clone(), net, relay: None });
                }
            }
        }
        for (zone, setting) in self.links {
            let Some(plan) = zones.iter_mut().find(|z| z.name == zone) else {
                problems.push(format!("link setting for undeclared zone {zone:?}"));
                continue;
            };
            let relay = plan.relay.get_or_insert(relay::Settings {
                delay: Duration::ZERO,
                loss: 0.0,
                seed: 1,
            });
            match setting {
                LinkSetting::Delay(delay) => relay.delay = delay,
                LinkSetting::Loss(loss) if (0.0..=1.0).contains(&loss) => relay.loss = loss,
                LinkSetting::Loss(loss) => {
                    problems.push(format!("zone {zone:?}: loss {loss} is not in 0..=1"))
                }
                LinkSetting::Seed(seed) => relay.seed = seed,
            }
        }
        if problems.is_empty() {
            Ok(Plan { tag: self.tag, zones, rules: self.rules })
        } else {
            Err(LabError::Spec { tag: self.tag, problems })
        }
    }
}

/// A checked declaration.
pub(super) struct Plan {
    pub(super) tag: String,
    pub(super) zones: Vec<ZonePlan>,
    pub(super) rules: Option<String>,
}

pub(super) struct ZonePlan {
    pub(super) name: String,
    pub(super) net: Ipv4Network,
    pub(super) relay: Option<relay::Settings>,
}

fn short_name(name: &str) -> bool {
    (1..=10).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Parse a zone subnet and check it may be used.
fn subnet_problem(subnet: &str) -> Result<Ipv4Network, String> {
    let net: Ipv4Network =
        subnet.parse().map_err(|e| format!("{subnet:?} is not an IPv4 subnet: {e}"))?;
    if net.ip() != net.network() {
        return Err(format!("{subnet} has host bits set (the network is {})", net.network()));
    }
    if !net.is_subnet_of(lab_range()) {
        return Err(format!("{subnet} is outside {}, the only range a lab may use", lab_range()));
    }
    if net.prefix() > 28 {
        return Err(format!("{subnet} is smaller than a /28, so it has no room for host .10"));
    }
    Ok(net)
}

/// The effective uid, from `/proc/self/status` (the crate forbids the
/// `unsafe` a `geteuid` call would need).
fn effective_uid() -> Result<String, LabError> {
    let fail =
        |detail: String| LabError::Setup { what: "reading /proc/self/status".to_owned(), detail };
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| fail(e.to_string()))?;
    // The line is "Uid:\treal\teffective\tsaved\tfs".
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .map(str::to_owned)
        .ok_or_else(|| fail("no Uid: line".to_owned()))
}
