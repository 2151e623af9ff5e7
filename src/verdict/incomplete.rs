//! `scan-incomplete`: a validator never presents silence as success. Per
//! vantage, every shard of the scan must be there, and every file must end
//! with a trailer saying it concluded every planned probe without local
//! errors; otherwise one finding says what is missing, with counts. A
//! vantage expected but absent (no file at all) is one finding saying why,
//! and every probe the spec plans from it counts as unconcluded.
//!
//! Excluded addresses (`--exclude`) are not incomplete: they were never
//! planned, so a complete scan with exclusions is complete. The coverage
//! counts them (`excluded_addresses`, `excluded_probes`, from the files'
//! headers) and every report says so beside the probes, so what was
//! excluded is never presented as checked.

use std::collections::BTreeSet;

use crate::plan::{Options, Plan};
use crate::report::document::{Coverage, Finding, Rule, Severity};
use crate::spec::Intent;

use super::Source;
use super::merge::Merged;

/// The scan-incomplete findings, and the coverage of the whole set.
pub(crate) fn findings(
    intent: &Intent,
    sources: &[Source<'_>],
    merged: &Merged<'_>,
) -> (Vec<Finding>, Coverage) {
    let mut out = Vec::new();
    let mut coverage = Coverage {
        vantages: Vec::new(),
        probes_sent: 0,
        incomplete: 0,
        excluded_addresses: 0,
        excluded_probes: 0,
    };
    for v in &merged.vantages {
        let vantage = &intent.vantages[v.id.0];
        coverage.vantages.push(vantage.name.clone());
        let mut problems = Vec::new();
        let (mut planned, mut concluded) = (0u64, 0u64);
        let mut shards = BTreeSet::new();
        let mut count = 1;
        // Exclusions are of the whole plan, and every shard records the
        // same (`merge` refuses shards that disagree): counted once.
        if let Some(x) = v.files.iter().find_map(|&i| sources[i].file.header.excluded.as_ref()) {
            coverage.excluded_addresses = coverage.excluded_addresses.saturating_add(x.addresses);
            coverage.excluded_probes = coverage.excluded_probes.saturating_add(x.probes);
        }
        for &i in &v.files {
            let s = &sources[i];
            let h = &s.file.header;
            count = h.shard_count;
            shards.insert(h.shard_index);
            planned = planned.saturating_add(h.probes_planned);
            let shard = format!("{} (shard {}/{})", s.name, h.shard_index, h.shard_count);
            let file_concluded = match &s.file.trailer {
                None => {
                    problems.push(format!("{shard} has no trailer: the run was killed"));
                    // What the file holds is all that is known.
                    let lines: u64 = s.file.facts.len() as u64
                        + s.file.filtered.iter().map(|f| u64::from(f.count)).sum::<u64>();
                    lines.min(h.probes_planned)
                }
                Some(t) => {
                    coverage.probes_sent = coverage.probes_sent.saturating_add(t.probes_sent);
                    let n = t.open + t.closed + t.filtered + t.open_filtered;
                    if t.interrupted {
                        problems.push(format!("{shard} was interrupted"));
                    } else if !t.complete {
                        problems.push(format!("{shard} did not finish"));
                    }
                    if t.errors > 0 {
                        problems.push(format!("{shard} had {} local errors", t.errors));
                    }
                    n
                }
            };
            if let Some(line) = s.file.truncated_last_line {
                problems.push(format!("{shard} was cut off at line {line}"));
            }
            if file_concluded < h.probes_planned {
                problems.push(format!(
                    "{shard}: {file_concluded} of {} planned probes concluded",
                    h.probes_planned
                ));
            }
            concluded = concluded.saturating_add(file_concluded.min(h.probes_planned));
        }
        let missing: Vec<String> =
            (0..count).filter(|k| !shards.contains(k)).map(|k| format!("{k}/{count}")).collect();
        if !missing.is_empty() {
            problems.push(format!(
                "shard{} {} missing",
                if missing.len() == 1 { " is" } else { "s are" },
                missing.join(", ")
            ));
        }
        let unconcluded = planned - concluded.min(planned);
        coverage.incomplete = coverage.incomplete.saturating_add(unconcluded);
        if problems.is_empty() {
            continue;
        }
        // `problems` is not empty here (checked above).
        out.push(Finding {
            rule: Rule::ScanIncomplete,
            severity: Severity::High,
            vantage: Some(vantage.name.clone()),
            target: None,
            host: None,
            port: None,
            proto: None,
            expected: format!("every planned probe concluded, in all {count} shard(s)"),
            observed: format!(
                "{concluded} of {planned} planned probes concluded in {} of {count} shard(s); {}{}",
                shards.len(),
                problems[0],
                match problems.len() {
                    1 => String::new(),
                    n => format!(" (and {} more)", n - 1),
                }
            ),
            evidence: problems.join("; "),
            waived: None,
            location: (&vantage.at).into(),
        });
    }
    for (id, why) in &merged.absent {
        let vantage = &intent.vantages[id.0];
        coverage.vantages.push(vantage.name.clone());
        // Every probe it would have sent went without a conclusion: as many
        // as the spec plans from it, in all shards, large sweeps included.
        let options = Options { allow_large: true, ..Options::default() };
        let planned = Plan::new(intent, &vantage.name, options).map_or(0, |p| p.total());
        coverage.incomplete = coverage.incomplete.saturating_add(planned);
        let text = format!("no observations from vantage {}: {}", vantage.name, why.join("; "));
        out.push(Finding {
            rule: Rule::ScanIncomplete,
            severity: Severity::High,
            vantage: Some(vantage.name.clone()),
            target: None,
            host: None,
            port: None,
            proto: None,
            expected: format!("observations from vantage {}", vantage.name),
            evidence: format!("{text}; 0 of {planned} planned probes concluded"),
            observed: text,
            waived: None,
            location: (&vantage.at).into(),
        });
    }
    // Observed and absent vantages in one name order.
    coverage.vantages.sort();
    (out, coverage)
}
