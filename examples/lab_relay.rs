//! `lab_relay`: the test lab's "bad cable", a user-space Ethernet relay that
//! adds delay and loss where the kernel has no `sch_netem`.
//!
//! It runs inside a relay namespace made by the test lab (`tests/lab/`), opens
//! the two interfaces named on the command line with `AF_PACKET` sockets in
//! promiscuous mode, and forwards every frame that arrives on one out of the
//! other, in both directions. Each frame is held for `--delay-ms` and dropped
//! with probability `--loss`, decided by a pseudo-random sequence seeded with
//! `--seed`, one sequence per direction, so a run is reproducible frame by frame.
//!
//! Invariants:
//! - Frames leave in the order they arrived, each no sooner than one delay
//!   after it was read (the delay is constant, so a FIFO queue is already
//!   ordered by due time).
//! - It bridges only interfaces without addresses: an address means this is
//!   not a lab relay namespace, and the relay refuses to start there.
//! - Nothing is invented: the relay sends only frames it received, after
//!   completing TCP/UDP checksums that a veth sender left to "hardware" (see
//!   [`complete_checksum`]); it never sends a frame of its own.
//! - The counters in the `--stats` file only grow. `received` counts frames
//!   taken in, `dropped` those the loss decision discarded, and `forwarded`
//!   those sent on; `received - dropped - forwarded` are still in the queue or
//!   failed to send (`send_errors`).
//!
//! The stats file is rewritten every 20 ms (write to a temporary file, then
//! rename, so a reader never sees half a file). Its first version appears once
//! both interfaces are open, which tells the lab the relay is ready. `seq`
//! counts the rewrites, so a reader that waits for `seq` to move on knows the
//! counters it then reads were taken after it started waiting.
//!
//! Threads: two per direction, a receiver that never waits for the clock and a
//! sender that sleeps until the head of its queue is due. A single thread per
//! direction would have to poll the socket with a short timeout to keep its
//! send deadlines; splitting the two jobs keeps each loop blocking and exact.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use clap::Parser;
use pnet_datalink::{Channel, Config, DataLinkReceiver, DataLinkSender, MacAddr};
use pnet_packet::ethernet::{EtherTypes, EthernetPacket};
use pnet_packet::ip::IpNextHeaderProtocols;
use pnet_packet::ipv4::{Ipv4Flags, Ipv4Packet};
use pnet_packet::tcp::{self, MutableTcpPacket};
use pnet_packet::udp::{self, MutableUdpPacket};

/// How often the stats file is rewritten.
const STATS_EVERY: Duration = Duration::from_millis(20);

/// The largest frame read in one piece. Veth hands over GSO super-frames of up
/// to 64 KiB when segmentation offload is on; the lab turns that off on the
/// links around a relay, but a frame that still arrives too big is read whole
/// and then counted as a send error rather than silently cut short.
const READ_BUFFER: usize = 65_536 + 1_024;

/// Forward Ethernet frames between two interfaces with delay and loss.
#[derive(Parser)]
struct Args {
    /// First interface (the lab puts the zone's side here).
    a: String,
    /// Second interface (the lab puts the router's side here).
    b: String,
    /// How long each frame is held before it is sent on, in milliseconds.
    #[arg(long, default_value_t = 0)]
    delay_ms: u64,
    /// Fraction of frames dropped in each direction, from 0.0 to 1.0.
    #[arg(long, default_value_t = 0.0)]
    loss: f64,
    /// Seed for the loss decisions (direction b->a uses seed + 1).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// File the counters are written to, every 20 ms.
    #[arg(long)]
    stats: PathBuf,
}

/// Counters for one direction, shared between its two threads and the writer
/// of the stats file.
#[derive(Default)]
struct Counters {
    received: AtomicU64,
    dropped: AtomicU64,
    forwarded: AtomicU64,
    csum_fixed: AtomicU64,
    send_errors: AtomicU64,
}

impl Counters {
    fn line(&self, name: &str, out: &mut String) {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        // Writing to a String cannot fail; the Result exists for other sinks.
        let _ = writeln!(
            out,
            "{name} received={} dropped={} forwarded={} csum_fixed={} send_errors={}",
            get(&self.received),
            get(&self.dropped),
            get(&self.forwarded),
            get(&self.csum_fixed),
            get(&self.send_errors),
        );
    }
}

/// SplitMix64: tiny, seedable and good enough to decide which frames to drop.
/// The crate has no `rand` dependency, and loss decisions need no more.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // The top 53 bits make a uniformly spaced value in [0, 1).
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !(0.0..=1.0).contains(&args.loss) {
        bail!("--loss must be between 0.0 and 1.0, got {}", args.loss);
    }
    let delay = Duration::from_millis(args.delay_ms);

    let a = Port::open(&args.a)?;
    let b = Port::open(&args.b)?;
    let a_to_b = Arc::new(Counters::default());
    let b_to_a = Arc::new(Counters::default());

    // A worker that fails reports here, and main exits with its error, so the
    // lab sees the relay die instead of a link that silently stops.
    let (fail_tx, fail_rx) = mpsc::channel::<anyhow::Error>();
    let hop = |rx, tx, own_mac, seed, counters: &Arc<Counters>| Hop {
        own_mac,
        rx,
        tx,
        delay,
        loss: args.loss,
        rng: SplitMix64(seed),
        counters: Arc::clone(counters),
    };
    hop(a.rx, b.tx, a.mac, args.seed, &a_to_b).spawn("a_to_b", fail_tx.clone())?;
    hop(b.rx, a.tx, b.mac, args.seed.wrapping_add(1), &b_to_a).spawn("b_to_a", fail_tx)?;

    let mut seq = 0u64;
    loop {
        write_stats(&args.stats, seq, &a_to_b, &b_to_a)?;
        seq += 1;
        match fail_rx.recv_timeout(STATS_EVERY) {
            Ok(err) => return Err(err),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            // Only the workers hold senders, and each reports before it
            // ends, so this arm is a backstop that should never be taken.
            Err(mpsc::RecvTimeoutError::Disconnected) => bail!("all relay threads ended"),
        }
    }
}

/// One interface, opened for raw Ethernet frames.
struct Port {
    mac: Option<MacAddr>,
    tx: Box<dyn DataLinkSender>,
    rx: Box<dyn DataLinkReceiver>,
}

impl Port {
    /// Open `name` in promiscuous mode, so frames addressed to the hosts on
    /// either side (not to the relay) are seen.
    fn open(name: &str) -> anyhow::Result<Self> {
        let iface = pnet_datalink::interfaces()
            .into_iter()
            .find(|i| i.name == name)
            .ok_or_else(|| anyhow!("no interface named {name:?} in this namespace"))?;
        if !iface.ips.is_empty() {
            bail!("{name} has addresses {:?}; lab_relay only bridges bare lab veths", iface.ips);
        }
        let config =
            Config { read_buffer_size: READ_BUFFER, promiscuous: true, ..Config::default() };
        match pnet_datalink::channel(&iface, config).with_context(|| format!("opening {name}"))? {
            Channel::Ethernet(tx, rx) => Ok(Self { mac: iface.mac, tx, rx }),
            _ => bail!("{name}: not an Ethernet channel"),
        }
    }
}

/// One direction of the relay: frames read from `rx` go out on `tx`.
struct Hop {
    /// The MAC of the interface `rx` reads. An `AF_PACKET` socket also sees
    /// frames the relay namespace's own stack sends on that interface; the lab
    /// gives the relay no addresses and no IPv6, so there should be none, but
    /// forwarding one would put a frame on the wire that no lab host sent.
    own_mac: Option<MacAddr>,
    rx: Box<dyn DataLinkReceiver>,
    tx: Box<dyn DataLinkSender>,
    delay: Duration,
    loss: f64,
    rng: SplitMix64,
    counters: Arc<Counters>,
}

impl Hop {
    fn spawn(self, name: &'static str, fail: mpsc::Sender<anyhow::Error>) -> anyhow::Result<()> {
        let Self { own_mac, mut rx, mut tx, delay, loss, mut rng, counters } = self;
        let (queue_tx, queue_rx) = mpsc::channel::<(Instant, Vec<u8>)>();

        let recv_counters = Arc::clone(&counters);
        let recv_fail = fail.clone();
        thread::Builder::new()
            .name(format!("{name}-recv"))
            .spawn(move || {
                let err = loop {
                    let frame = match rx.next() {
                        Ok(frame) => frame,
                        Err(e) => break anyhow!("{name}: reading a frame: {e}"),
                    };
                    let Some(eth) = EthernetPacket::new(frame) else { continue };
                    if own_mac.is_some_and(|mac| eth.get_source() == mac) {
                        continue;
                    }
                    recv_counters.received.fetch_add(1, Ordering::Relaxed);
                    if loss > 0.0 && rng.next_f64() < loss {
                        recv_counters.dropped.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    let mut frame = frame.to_vec();
                    if complete_checksum(&mut frame) {
                        recv_counters.csum_fixed.fetch_add(1, Ordering::Relaxed);
                    }
                    if queue_tx.send((Instant::now() + delay, frame)).is_err() {
                        break anyhow!("{name}: the sender thread is gone");
                    }
                };
                let _ = recv_fail.send(err);
            })
            .context("spawning a receiver thread")?;

        thread::Builder::new()
            .name(format!("{name}-send"))
            .spawn(move || {
                // The queue ends only when the receiver thread ends, which has
                // already reported why.
                for (due, frame) in queue_rx {
                    let now = Instant::now();
                    if due > now {
                        thread::sleep(due - now);
                    }
                    match tx.send_to(&frame, None) {
                        Some(Ok(())) => counters.forwarded.fetch_add(1, Ordering::Relaxed),
                        // A full device queue (ENOBUFS) or an oversized frame
                        // loses this frame only; a real link drops it too.
                        Some(Err(_)) | None => counters.send_errors.fetch_add(1, Ordering::Relaxed),
                    };
                }
                let _ = fail.send(anyhow!("{name}: the receiver thread is gone"));
            })
            .context("spawning a sender thread")?;
        Ok(())
    }
}

/// Fill in the TCP or UDP checksum of an IPv4 frame if it is wrong, and say
/// whether it was.
///
/// A veth pair advertises checksum offload, so a lab host's stack hands it TCP
/// and UDP segments whose checksum field holds only the pseudo-header sum,
/// expecting "hardware" to finish the job; within the kernel the skb carries a
/// flag saying so. The copy the relay reads through `AF_PACKET` has lost that
/// flag, and the host on the far side would drop it as corrupt. Real NICs
/// compute the checksum as the frame goes onto the wire; the relay is the wire
/// here, so it does the same. Fragments are left alone: their checksum spans
/// several frames, and the kernel computes it in software before fragmenting.
fn complete_checksum(frame: &mut [u8]) -> bool {
    let Some(eth) = EthernetPacket::new(frame) else { return false };
    if eth.get_ethertype() != EtherTypes::Ipv4 {
        return false;
    }
    let Some(ip) = Ipv4Packet::new(&frame[EthernetPacket::minimum_packet_size()..]) else {
        return false;
    };
    let fragmented =
        ip.get_flags() & Ipv4Flags::MoreFragments != 0 || ip.get_fragment_offset() != 0;
    let header_len = usize::from(ip.get_header_length()) * 4;
    let total_len = usize::from(ip.get_total_length());
    if fragmented || header_len < Ipv4Packet::minimum_packet_size() || total_len < header_len {
        return false;
    }
    let (src, dst, proto) = (ip.get_source(), ip.get_destination(), ip.get_next_level_protocol());
    let start = EthernetPacket::minimum_packet_size() + header_len;
    let end = EthernetPacket::minimum_packet_size() + total_len;
    let Some(segment) = frame.get_mut(start..end) else { return false };
    match proto {
        IpNextHeaderProtocols::Tcp => {
            let Some(mut seg) = MutableTcpPacket::new(segment) else { return false };
            let want = tcp::ipv4_checksum(&seg.to_immutable(), &src, &dst);
            let wrong = seg.get_checksum() != want;
            seg.set_checksum(want);
            wrong
        }
        IpNextHeaderProtocols::Udp => {
            let Some(mut seg) = MutableUdpPacket::new(segment) else { return false };
            // Zero means the sender chose to send no checksum (RFC 768), and
            // the receiver accepts it as it is.
            if seg.get_checksum() == 0 {
                return false;
            }
            // A computed zero is sent as all ones, since zero means "none".
            let want = match udp::ipv4_checksum(&seg.to_immutable(), &src, &dst) {
                0 => 0xFFFF,
                sum => sum,
            };
            let wrong = seg.get_checksum() != want;
            seg.set_checksum(want);
            wrong
        }
        _ => false,
    }
}

/// Rewrite the stats file in one step (write a sibling, then rename over it).
fn write_stats(path: &Path, seq: u64, a_to_b: &Counters, b_to_a: &Counters) -> anyhow::Result<()> {
    let mut text = format!("seq={seq}\n");
    a_to_b.line("a_to_b", &mut text);
    b_to_a.line("b_to_a", &mut text);
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}
