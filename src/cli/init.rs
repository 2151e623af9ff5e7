//! `vantage init [--out FILE] [--from-scan CIDR...]`: write a starter spec,
//! never over an existing file (exit 2).
//!
//! Without `--from-scan`, the commented example of `vantage::init::STARTER`.
//! With it, "adopt what exists, then tighten": a connect scan of exactly
//! the CIDRs given (the library's `scan::run` over `SystemNet`, planned from
//! the in-memory spec `init::discovery_spec` writes, so the scan's scope
//! guard and its 65,536-address cap without `--allow-large` apply as they
//! do to `scan`), then the spec `init::adopted` writes from what answered.
//! An interrupted or incomplete discovery writes nothing (exit 3): a spec
//! adopted from half a scan would call the other half's services exposures.
//!
//! The discovery's observations are kept in memory until the scan ends, as
//! `verdict` keeps a file's: one line per open or closed port.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context as TaskContext, Poll};

use anyhow::Context as _;
use ipnetwork::IpNetwork;
use tokio_util::sync::CancellationToken;
use vantage::engine::limits;
use vantage::engine::net::SystemNet;
use vantage::init::{DEFAULT_PORTS, VANTAGE};
use vantage::observe::ScanMode;
use vantage::plan::{Exclusions, Options, Shard};
use vantage::scan::{Output, Progress, Request};

use super::exit::Outcome;

/// `vantage init`.
#[derive(Debug, clap::Args)]
pub(crate) struct InitArgs {
    /// Where to write the spec (`-` for stdout); an existing file is never overwritten.
    #[arg(long, short, value_name = "FILE", default_value = "vantage.yaml")]
    pub(crate) out: PathBuf,
    /// Discover instead: connect-scan these CIDRs (only these) from this machine and write a
    /// spec that allows exactly what answered, each flow marked for review.
    #[arg(long, value_name = "CIDR", num_args = 1..)]
    pub(crate) from_scan: Vec<String>,
    /// The TCP ports the discovery scans, nmap style (default: 1-1024 and common services
    /// above it).
    #[arg(long, value_name = "LIST", requires = "from_scan")]
    pub(crate) ports: Option<String>,
    /// Probe attempts per second of the discovery, all targets together (at most 50,000
    /// without --unsafe-rate; to one host, at most 10,000).
    #[arg(long, default_value_t = 10_000, requires = "from_scan", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) rate: u32,
    /// Lift the maximum rates (50,000 probes/s in all, 10,000 to one host).
    #[arg(long, requires = "from_scan")]
    pub(crate) unsafe_rate: bool,
    /// Permit a discovery of more than 65,536 addresses.
    #[arg(long, requires = "from_scan")]
    pub(crate) allow_large: bool,
}

/// Writes the starter spec, or the one adopted from a discovery scan.
pub(crate) fn run(a: &InitArgs) -> anyhow::Result<Outcome> {
    // Refused before any scan, so a long discovery is not wasted; the
    // write itself is `create_new` too, in case the file appears meanwhile.
    let to_stdout = a.out.as_os_str() == "-";
    if !to_stdout && a.out.symlink_metadata().is_ok() {
        anyhow::bail!(
            "{} exists; init never overwrites a file (give another --out)",
            a.out.display()
        );
    }
    if !a.unsafe_rate
        && let Some(problem) = limits::rate_problem(a.rate, None, ("--rate", "--host-rate"))
    {
        anyhow::bail!(problem);
    }
    let text = if a.from_scan.is_empty() {
        vantage::init::STARTER.to_owned()
    } else {
        let cidrs = cidrs(&a.from_scan)?;
        let ports = ports(a.ports.as_deref().unwrap_or(DEFAULT_PORTS))?;
        match discover(a, &cidrs, &ports)? {
            Ok(found) => {
                let today = super::lint::today(None)?;
                vantage::init::adopted(&cidrs, &ports, &found, &today.to_string())
            }
            Err(outcome) => return Ok(outcome),
        }
    };
    if to_stdout {
        super::write_stdout(|out| out.write_all(text.as_bytes()))?;
    } else {
        write_new(&a.out, &text)?;
        super::log::note(&format!(
            "wrote {}; check it with: vantage lint {}",
            a.out.display(),
            a.out.display()
        ));
    }
    Ok(Outcome::Conforms)
}

fn write_new(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut file =
        std::fs::OpenOptions::new().write(true).create_new(true).open(path).with_context(|| {
            format!("cannot create {} (init never overwrites a file)", path.display())
        })?;
    file.write_all(text.as_bytes()).with_context(|| format!("cannot write {}", path.display()))
}

/// The CIDRs, each as its network (`198.18.0.7/24` is `198.18.0.0/24`), in the
/// order given; overlapping ones are refused, since each becomes a zone.
fn cidrs(given: &[String]) -> anyhow::Result<Vec<IpNetwork>> {
    let mut nets: Vec<IpNetwork> = Vec::new();
    for text in given {
        let net: IpNetwork =
            text.parse().with_context(|| format!("--from-scan {text:?} is not a CIDR"))?;
        let net = IpNetwork::new(net.network(), net.prefix())
            .with_context(|| format!("--from-scan {text:?}"))?;
        if let Some(other) =
            nets.iter().find(|o| o.contains(net.network()) || net.contains(o.network()))
        {
            anyhow::bail!("--from-scan {net} overlaps {other}: give each address range once");
        }
        nets.push(net);
    }
    Ok(nets)
}

/// `--ports`, checked: comma-separated ports and `A-B` ranges, 1-65535.
fn ports(list: &str) -> anyhow::Result<String> {
    let port = |s: &str| s.trim().parse::<u16>().ok().filter(|p| *p > 0);
    let mut items = Vec::new();
    for item in list.split(',').map(str::trim) {
        let ok = match item.split_once('-') {
            Some((a, b)) => port(a).zip(port(b)).is_some_and(|(a, b)| a <= b),
            None => port(item).is_some(),
        };
        if !ok {
            anyhow::bail!("--ports {list:?}: {item:?} is not a port (1-65535) or a range A-B");
        }
        items.push(item.replace(' ', ""));
    }
    Ok(items.join(","))
}

/// Runs the discovery: what answered, or the outcome when the scan could
/// not finish (nothing is written then).
fn discover(
    a: &InitArgs,
    cidrs: &[IpNetwork],
    ports: &str,
) -> anyhow::Result<Result<Vec<vantage::init::Found>, Outcome>> {
    let yaml = vantage::init::discovery_spec(cidrs, ports);
    let name: Arc<str> = Arc::from("discovery");
    let loaded = vantage::spec::load_bytes(Path::new("discovery"), &name, yaml.as_bytes());
    let Some(intent) = &loaded.intent else {
        // The CIDRs and ports were checked above, so this is our bug, not
        // the user's input; say what the loader said.
        let problems: Vec<String> = loaded.diagnostics.iter().map(ToString::to_string).collect();
        anyhow::bail!("the discovery spec was refused:\n{}", problems.join("\n"));
    };
    let limits = vantage::agent::proto::Limits {
        rate: a.rate,
        host_rate: limits::default_host_rate(a.rate, a.unsafe_rate),
        retries: 2,
        min_rtt_ms: 50,
        max_rtt_ms: 3_000,
        // Banners are not needed to adopt a port.
        banner_ms: 0,
        allow_large: a.allow_large,
    };
    let request = Request {
        intent,
        spec: "init --from-scan",
        spec_digest: &loaded.digest,
        vantage: VANTAGE,
        plan: Options { seed: 1, shard: Shard::WHOLE, allow_large: a.allow_large },
        exclude: &Exclusions::none(),
        engine: limits.engine(limits::probe_sockets()),
        mode: ScanMode::Connect,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let buffer = Buffer::default();
    let cancel = CancellationToken::new();
    let report = runtime.block_on(async {
        super::signals::stop_on_signals(cancel.clone(), super::signals::say_stopping)?;
        let output = Output::Sink(Box::new(buffer.clone()), "discovery");
        let progress = Arc::new(Progress::default());
        // A discovery of a large range takes a while: the same bar as a
        // scan's, on a terminal only.
        let stop = CancellationToken::new();
        let bar = super::progress::wanted().then(|| {
            tokio::spawn(super::progress::show(Arc::clone(&progress), stop.clone(), None, a.rate))
        });
        let report =
            vantage::scan::run(Arc::new(SystemNet), &request, output, progress, cancel).await;
        stop.cancel();
        if let Some(bar) = bar {
            let _ = bar.await;
        }
        anyhow::Ok(report)
    })?;
    let report = report.context("discovery scan")?;
    let bytes = std::mem::take(&mut *buffer.0.lock().unwrap_or_else(PoisonError::into_inner));
    let file =
        vantage::observe::parse(&bytes, "discovery").context("the discovery's observations")?;
    let found = vantage::init::found(&file);
    let t = &report.trailer;
    {
        let scanned: Vec<String> = cidrs.iter().map(ToString::to_string).collect();
        super::log::note(&format!(
            "discovery connect scan of {}: {} of {} probes concluded: {} open on {} host(s), {} closed, {} filtered{}",
            scanned.join(" "),
            t.open + t.closed + t.filtered + t.open_filtered,
            report.planned,
            t.open,
            found.len(),
            t.closed,
            t.filtered,
            if t.interrupted { "; interrupted" } else { "" },
        ));
    }
    if !file.is_complete() {
        super::log::note_always("the discovery did not finish; no spec written");
        return Ok(Err(Outcome::Incomplete));
    }
    Ok(Ok(found))
}

/// The discovery's observation file, in memory: a `tokio` writer over a
/// shared buffer the command reads once the scan has ended.
#[derive(Debug, Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl tokio::io::AsyncWrite for Buffer {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_are_normalised_and_overlaps_refused() {
        let got = cidrs(&["198.18.0.7/24".to_owned(), "127.79.0.0/29".to_owned()]).expect("ok");
        assert_eq!(got[0].to_string(), "198.18.0.0/24");
        let err =
            cidrs(&["198.18.0.0/15".to_owned(), "198.19.1.0/24".to_owned()]).expect_err("overlap");
        assert!(err.to_string().contains("overlaps"), "{err}");
        assert!(cidrs(&["198.18.0.0/33".to_owned()]).is_err());
    }

    #[test]
    fn ports_take_numbers_and_ranges_only() {
        assert_eq!(ports("22, 80,8000-8100").expect("ok"), "22,80,8000-8100");
        for bad in ["", "0", "22,", "80-22", "65536", "ssh", "1-2-3"] {
            assert!(ports(bad).is_err(), "{bad:?}");
        }
    }
}
