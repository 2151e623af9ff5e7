//! `vantage plan SPEC [--from VANTAGE]`: what a scan would send, without
//! sending anything (without `--from`, from the vantage `cli::locate` finds).

use std::io::Write;

use anyhow::Context;
use vantage::plan::{Options, Plan};
use vantage::report::document::{ExcludedSummary, PlanFlow, PlanSummary, PlanTarget, ProbeLine};
use vantage::spec::intent::{Action, Intent, Require, net_contains};
use vantage::spec::{self, Severity};

use super::args::{Format, PlanArgs};
use super::exit::Outcome;

pub(crate) fn run(a: &PlanArgs) -> anyhow::Result<Outcome> {
    let shard = a.shard.resolve()?;
    let loaded = spec::load(&a.spec);
    let Some(intent) = loaded.intent else {
        let errors: Vec<_> =
            loaded.diagnostics.iter().filter(|d| d.severity == Severity::Error).cloned().collect();
        super::write_stdout(|out| {
            super::print_diagnostics(out, &errors)?;
            writeln!(
                out,
                "{}: refused: {} error(s); run `vantage lint` for warnings too",
                a.spec.display(),
                errors.len()
            )
        })?;
        return Ok(Outcome::Refused);
    };
    let exclusions = super::args::read_exclusions(a.exclude.as_deref())?;
    let from = super::locate::resolve_from(&intent, a.from.as_deref())?;
    let options = Options { seed: a.seed, shard, allow_large: a.allow_large };
    let plan = Plan::with_exclusions(&intent, &from, options, &exclusions)
        .with_context(|| format!("cannot plan from vantage `{from}`"))?;
    if a.list {
        list(&intent, &plan, a.format)?;
    } else {
        let mut summary = summary(a, &intent, &plan);
        summary.excluded = a
            .exclude
            .as_ref()
            .map(|p| ExcludedSummary::of(&exclusions, &p.display().to_string(), plan.excluded));
        match a.format {
            Format::Json => super::write_stdout(|out| {
                serde_json::to_writer_pretty(&mut *out, &summary)?;
                writeln!(out)
            })?,
            Format::Human => super::write_stdout(|out| human(out, &summary))?,
        }
    }
    Ok(Outcome::Conforms)
}

fn list(intent: &Intent, plan: &Plan, format: Format) -> anyhow::Result<()> {
    let zone_name = |t: &vantage::plan::Target| t.zone().map(|z| intent.zones[z.0].name.as_str());
    let host_name = |t: &vantage::plan::Target| t.host().map(|h| intent.hosts[h.0].name.as_str());
    super::write_stdout(|out| {
        for p in plan.probes() {
            match format {
                Format::Human => writeln!(out, "{} {}/{}", p.target, p.proto.as_str(), p.port)?,
                Format::Json => {
                    let line = ProbeLine {
                        target: p.target.to_string(),
                        proto: p.proto.as_str(),
                        port: p.port,
                        host: host_name(&p.target),
                        zone: zone_name(&p.target),
                    };
                    serde_json::to_writer(&mut *out, &line)?;
                    out.write_all(b"\n")?;
                }
            }
        }
        Ok(())
    })
}

fn summary(a: &PlanArgs, intent: &Intent, plan: &Plan) -> PlanSummary {
    let vantage = &intent.vantages[plan.vantage.0];
    let targets = plan
        .groups
        .iter()
        .map(|g| {
            let (kind, name) = match (g.host, g.zone) {
                (Some(h), _) => ("host", intent.hosts[h.0].name.clone()),
                (None, Some(z)) => ("zone", intent.zones[z.0].name.clone()),
                (None, None) => ("zone", String::new()),
            };
            let (zone_cidrs, minus_hosts, minus_zones) = match (g.host, g.zone) {
                (None, Some(z)) => {
                    let cidrs = &intent.zones[z.0].cidrs;
                    let nested = |o: &vantage::spec::intent::Zone| {
                        !o.probe && o.cidrs.iter().all(|n| cidrs.iter().any(|c| net_contains(c, n)))
                    };
                    (
                        cidrs.iter().map(ToString::to_string).collect(),
                        intent
                            .hosts
                            .iter()
                            .filter(|h| h.zone == Some(z))
                            .map(|h| h.name.clone())
                            .collect(),
                        intent.zones.iter().filter(|o| nested(o)).map(|o| o.name.clone()).collect(),
                    )
                }
                _ => (Vec::new(), Vec::new(), Vec::new()),
            };
            PlanTarget {
                kind,
                name,
                cidrs: g.addresses.cidrs().iter().map(ToString::to_string).collect(),
                zone_cidrs,
                minus_hosts,
                minus_zones,
                addresses: u64::try_from(g.addresses.len()).unwrap_or(u64::MAX),
                extra_tcp: g.extra_tcp.to_string(),
                extra_udp: g.extra_udp.to_string(),
                probes: g.probes(),
            }
        })
        .collect();
    let flows = plan
        .confirmable
        .iter()
        .map(|c| {
            let f = &intent.flows[c.flow];
            PlanFlow {
                index: f.index,
                from: f.from.iter().map(|e| intent.endpoint_name(*e).to_owned()).collect(),
                to: f.to.iter().map(|e| intent.endpoint_name(*e).to_owned()).collect(),
                action: match f.action {
                    Action::Allow => "allow",
                    Action::Deny => "deny",
                },
                services: f.services.iter().map(|s| intent.services[s.0].name.clone()).collect(),
                expect: match (f.action, f.require) {
                    (Action::Deny, _) => "denied",
                    (Action::Allow, Require::Reachable) => "reachable",
                    (Action::Allow, Require::Optional) => "optional",
                },
                tcp: c.tcp.to_string(),
                udp: c.udp.to_string(),
                at: f.at.to_string(),
            }
        })
        .collect();
    let probes = plan.len();
    PlanSummary {
        spec: a.spec.display().to_string(),
        vantage: vantage.name.clone(),
        zone: intent.zones[vantage.zone.0].name.clone(),
        seed: plan.options.seed,
        shard: plan.options.shard.to_string(),
        probes,
        probes_total: plan.total(),
        addresses: u64::try_from(plan.addresses()).unwrap_or(u64::MAX),
        sweep_tcp: intent.sweep.tcp.to_string(),
        sweep_udp: intent.sweep.udp.to_string(),
        targets,
        flows,
        not_probed: plan.skipped_zones.iter().map(|z| intent.zones[z.0].name.clone()).collect(),
        rate: a.rate,
        estimated_seconds: probes as f64 / f64::from(a.rate),
        excluded: None,
    }
}

/// Target groups shown in human output; JSON has them all.
const MAX_TARGET_LINES: usize = 40;

fn human(out: &mut dyn Write, s: &PlanSummary) -> std::io::Result<()> {
    writeln!(
        out,
        "plan for {} from vantage `{}` (zone {}), shard {}, seed {}",
        s.spec, s.vantage, s.zone, s.shard, s.seed
    )?;
    writeln!(out)?;
    writeln!(out, "sweep, probed on every target:")?;
    writeln!(out, "       tcp {}", if s.sweep_tcp.is_empty() { "-" } else { &s.sweep_tcp })?;
    writeln!(out, "       udp {}", if s.sweep_udp.is_empty() { "-" } else { &s.sweep_udp })?;
    writeln!(out)?;
    writeln!(out, "targets ({} addresses in {} groups):", s.addresses, s.targets.len())?;
    for t in s.targets.iter().take(MAX_TARGET_LINES) {
        let cidrs = if t.kind == "host" {
            t.cidrs.join(" ")
        } else {
            let mut text = t.zone_cidrs.join(" ");
            if !t.minus_hosts.is_empty() {
                text.push_str(&format!(" minus {} host(s)", t.minus_hosts.len()));
            }
            if !t.minus_zones.is_empty() {
                text.push_str(&format!(" minus {}", t.minus_zones.join(",")));
            }
            text
        };
        let extra = [("tcp", &t.extra_tcp), ("udp", &t.extra_udp)]
            .iter()
            .filter(|(_, p)| !p.is_empty())
            .map(|(n, p)| format!("{n} {p}"))
            .collect::<Vec<_>>();
        let extra =
            if extra.is_empty() { String::new() } else { format!("  + {}", extra.join(" ")) };
        writeln!(
            out,
            "  {} {:<12} {:<34} {:>8} addr {:>10} probes{extra}",
            t.kind, t.name, cidrs, t.addresses, t.probes
        )?;
    }
    if s.targets.len() > MAX_TARGET_LINES {
        writeln!(
            out,
            "  ... and {} more groups (--format json lists them all)",
            s.targets.len() - MAX_TARGET_LINES
        )?;
    }
    if !s.not_probed.is_empty() {
        writeln!(out, "  never probed (probe: false): {}", s.not_probed.join(", "))?;
    }
    if let Some(x) = &s.excluded {
        let n = |count: u64, one: &str, many: &str| {
            format!("{count} {}", if count == 1 { one } else { many })
        };
        writeln!(
            out,
            "  never probed (--exclude {}, {}): {} and {} left out",
            x.file,
            n(x.networks, "network", "networks"),
            n(x.addresses, "address", "addresses"),
            n(x.probes, "probe", "probes")
        )?;
    }
    writeln!(out)?;
    if s.flows.is_empty() {
        writeln!(
            out,
            "flows this vantage can confirm: none (no flow's source covers zone {})",
            s.zone
        )?;
    } else {
        writeln!(out, "flows this vantage can confirm:")?;
        for f in &s.flows {
            let ports = [("tcp", &f.tcp), ("udp", &f.udp)]
                .iter()
                .filter(|(_, p)| !p.is_empty())
                .map(|(n, p)| format!("{n}/{p}"))
                .collect::<Vec<_>>()
                .join(" ");
            writeln!(
                out,
                "  #{:<3} {} -> {} {} {} ({ports}): {}   [{}]",
                f.index,
                f.from.join(","),
                f.to.join(","),
                f.action,
                f.services.join(","),
                f.expect,
                f.at
            )?;
        }
    }
    writeln!(out)?;
    writeln!(
        out,
        "probes: {} in this shard ({} in all shards); at {} probes/s that is about {}, plus timeouts",
        s.probes,
        s.probes_total,
        s.rate,
        duration(s.estimated_seconds)
    )
}

fn duration(secs: f64) -> String {
    if secs < 60.0 {
        format!("{secs:.1} s")
    } else if secs < 3600.0 {
        format!("{:.1} min", secs / 60.0)
    } else {
        format!("{:.1} h", secs / 3600.0)
    }
}
