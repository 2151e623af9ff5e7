//! The agent protocol, inside a mutually authenticated TLS 1.3 connection:
//!
//! 1. the controller sends one JSON line, a [`PlanRequest`]: the spec's
//!    files, its digest, the vantage, the shard and the limits it asks for;
//! 2. the agent answers one JSON line, a [`Reply`]: accepted (with the
//!    limits it will actually use, never above its own ceilings) or
//!    refused (why);
//! 3. when accepted, the agent sends the observation file itself, line by
//!    line as the scan makes them (exactly what `vantage scan -o` writes),
//!    and ends the connection with TLS close_notify after the trailer.
//!
//! The controller's closing the connection stops the scan. Both messages
//! are bounded ([`MAX_REQUEST_BYTES`], [`MAX_REPLY_BYTES`]) and checked
//! field by field on decode, so a peer's bytes are either a valid message
//! or an error naming what is wrong.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::observe::ScanMode;
use crate::plan::Exclusions;
use crate::plan::exclude::NetListError;

/// The protocol version both sides must speak.
pub const PROTOCOL: u32 = 1;

/// The largest plan request: a spec and its includes, base64-encoded.
pub const MAX_REQUEST_BYTES: usize = 16 * 1024 * 1024;

/// The largest reply line.
pub const MAX_REPLY_BYTES: usize = 64 * 1024;

/// What a controller asks an agent to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanRequest {
    /// [`PROTOCOL`].
    pub protocol: u32,
    /// The spec, as the controller loaded it.
    pub spec: SpecBundle,
    /// Its digest (`spec::digest`); the agent computes it again and
    /// refuses a request whose files do not give it.
    pub spec_digest: String,
    /// The vantage to scan from.
    pub vantage: String,
    /// The shard, counted from 0.
    pub shard_index: u32,
    /// How many shards.
    pub shard_count: u32,
    /// The probe order's seed.
    pub seed: u64,
    /// How fast and how patiently to probe.
    pub limits: Limits,
    /// How to probe TCP.
    pub mode: ModeWish,
    /// Addresses never to probe (`check --exclude`), as CIDRs
    /// (`plan::Exclusions::networks`). Sent only when there are some: an
    /// agent that does not know the field refuses the request (unknown
    /// fields are refused), rather than scan what was excluded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
}

/// How the controller wants TCP probed (`--mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModeWish {
    /// SYN when the agent may and can, connect otherwise.
    Auto,
    /// connect(), which every agent can do.
    Connect,
    /// SYN, or a refusal when the agent cannot.
    Syn,
}

/// A spec and the files it includes, as read by the controller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecBundle {
    /// The spec's path as the controller's user gave it: the name in
    /// messages and in the observation header, and what its includes are
    /// relative to.
    pub path: String,
    /// Every file read, the spec first, each under the path it was read at.
    pub files: Vec<SpecFile>,
}

/// One file of a [`SpecBundle`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecFile {
    /// The path it was read at.
    pub path: String,
    /// Its bytes, base64 (standard alphabet, padded).
    pub base64: String,
}

impl SpecFile {
    /// A file of `bytes` read at `path`.
    pub fn new(path: String, bytes: &[u8]) -> Self {
        Self { path, base64: base64::engine::general_purpose::STANDARD.encode(bytes) }
    }

    /// Its bytes, or `None` when `base64` is not valid base64.
    pub fn bytes(&self) -> Option<Vec<u8>> {
        base64::engine::general_purpose::STANDARD.decode(&self.base64).ok()
    }
}

/// How a scan may probe: what the controller asks, and (in [`Reply`]) what
/// the agent grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Probe attempts per second, all targets together (at least 1).
    pub rate: u32,
    /// Per host (at least 1).
    pub host_rate: u32,
    /// Retries of a silent probe (at most 10).
    pub retries: u8,
    /// Shortest wait for an answer, in ms (1 to 60,000).
    pub min_rtt_ms: u64,
    /// Longest wait for an answer, in ms (1 to 60,000, at least `min_rtt_ms`).
    pub max_rtt_ms: u64,
    /// Banner wait, in ms (at most 10,000).
    pub banner_ms: u64,
    /// Permit sweeping more than 65,536 addresses.
    pub allow_large: bool,
}

impl Limits {
    /// The engine settings these limits give, with `max_parallel` probe
    /// sockets (`engine::limits::probe_sockets`).
    pub fn engine(&self, max_parallel: usize) -> crate::engine::Config {
        use std::time::Duration;
        crate::engine::Config {
            rate: std::num::NonZeroU32::new(self.rate).unwrap_or(std::num::NonZeroU32::MIN),
            host_rate: std::num::NonZeroU32::new(self.host_rate)
                .unwrap_or(std::num::NonZeroU32::MIN),
            retries: self.retries,
            bounds: crate::engine::timing::Bounds {
                min: Duration::from_millis(self.min_rtt_ms),
                max: Duration::from_millis(self.max_rtt_ms),
                initial: Duration::from_millis(self.max_rtt_ms.min(1_000)),
            },
            max_parallel,
            banner: Duration::from_millis(self.banner_ms),
        }
    }

    /// What is wrong with these limits, if anything.
    pub fn problem(&self) -> Option<String> {
        if self.rate == 0 || self.host_rate == 0 {
            return Some("rates must be at least 1".to_owned());
        }
        if self.retries > 10 {
            return Some(format!("retries {} is above 10", self.retries));
        }
        let rtt = 1..=60_000;
        if !rtt.contains(&self.min_rtt_ms) || !rtt.contains(&self.max_rtt_ms) {
            return Some("round-trip bounds must be 1 to 60,000 ms".to_owned());
        }
        if self.min_rtt_ms > self.max_rtt_ms {
            return Some(format!(
                "min rtt {} ms is above max rtt {} ms",
                self.min_rtt_ms, self.max_rtt_ms
            ));
        }
        if self.banner_ms > 10_000 {
            return Some(format!("banner wait {} ms is above 10,000", self.banner_ms));
        }
        None
    }
}

/// The agent's answer to a [`PlanRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Reply {
    /// The scan starts; observation lines follow.
    Accepted {
        /// The agent's `vantage` version.
        version: String,
        /// How it probes TCP.
        mode: ScanMode,
        /// The limits it uses: the request's, lowered to its ceilings.
        limits: Limits,
        /// What it changed or wants said (a rate lowered to its ceiling).
        notes: Vec<String>,
    },
    /// Nothing will be scanned.
    Refused {
        /// Why, for the controller's user.
        reason: String,
    },
}

/// Why a message could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtoError {
    /// The line is longer than the message may be.
    #[error("message longer than {limit} bytes")]
    TooLong {
        /// The bound.
        limit: usize,
    },
    /// Not the JSON of the message.
    #[error("not a valid message: {0}")]
    Malformed(String),
    /// Valid JSON with a field out of bounds.
    #[error("{0}")]
    Invalid(String),
}

/// The longest vantage name accepted (as an observation header's names).
const MAX_NAME_BYTES: usize = 256;

/// One line of JSON, newline included.
fn line<T: Serialize>(message: &T) -> Vec<u8> {
    // Serializing these plain structs cannot fail (no maps with non-string
    // keys, no custom serializers); an empty object would be refused by the
    // peer, never misread.
    let mut out = serde_json::to_vec(message).unwrap_or_else(|_| b"{}".to_vec());
    out.push(b'\n');
    out
}

impl PlanRequest {
    /// The request as the line the controller sends.
    pub fn encode(&self) -> Vec<u8> {
        line(self)
    }

    /// Reads a request line (without its newline) and checks every field.
    pub fn decode(bytes: &[u8]) -> Result<Self, ProtoError> {
        if bytes.len() > MAX_REQUEST_BYTES {
            return Err(ProtoError::TooLong { limit: MAX_REQUEST_BYTES });
        }
        let r: Self =
            serde_json::from_slice(bytes).map_err(|e| ProtoError::Malformed(e.to_string()))?;
        let invalid = |s: String| Err(ProtoError::Invalid(s));
        if r.protocol != PROTOCOL {
            return invalid(format!(
                "protocol {} (this agent speaks {PROTOCOL}): use the same vantage version on both sides",
                r.protocol
            ));
        }
        if r.vantage.is_empty() || r.vantage.len() > MAX_NAME_BYTES {
            return invalid(format!("vantage name of {} bytes", r.vantage.len()));
        }
        if r.shard_count == 0 || r.shard_index >= r.shard_count {
            return invalid(format!("shard {}/{}", r.shard_index, r.shard_count));
        }
        if r.spec.files.is_empty() {
            return invalid("the spec bundle holds no file".to_owned());
        }
        if r.spec.files[0].path != r.spec.path {
            return invalid("the spec bundle's first file is not the spec".to_owned());
        }
        if let Some(f) = r.spec.files.iter().find(|f| f.bytes().is_none()) {
            return invalid(format!("{}: not base64", f.path));
        }
        if let Some(p) = r.limits.problem() {
            return invalid(p);
        }
        if let Err(e) = r.exclusions() {
            return invalid(e.to_string());
        }
        Ok(r)
    }

    /// The exclusions the request carries.
    pub fn exclusions(&self) -> Result<Exclusions, NetListError> {
        let text = self.exclude.join("\n");
        Exclusions::parse("the plan's exclusions", text.as_bytes())
    }
}

impl Reply {
    /// The reply as the line the agent sends.
    pub fn encode(&self) -> Vec<u8> {
        line(self)
    }

    /// Reads a reply line (without its newline).
    pub fn decode(bytes: &[u8]) -> Result<Self, ProtoError> {
        if bytes.len() > MAX_REPLY_BYTES {
            return Err(ProtoError::TooLong { limit: MAX_REPLY_BYTES });
        }
        let reply: Self =
            serde_json::from_slice(bytes).map_err(|e| ProtoError::Malformed(e.to_string()))?;
        if let Self::Accepted { limits, .. } = &reply
            && let Some(p) = limits.problem()
        {
            return Err(ProtoError::Invalid(p));
        }
        Ok(reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            rate: 100,
            host_rate: 10,
            retries: 2,
            min_rtt_ms: 50,
            max_rtt_ms: 3000,
            banner_ms: 250,
            allow_large: false,
        }
    }

    fn request() -> PlanRequest {
        PlanRequest {
            protocol: PROTOCOL,
            spec: SpecBundle {
                path: "lab.yaml".to_owned(),
                files: vec![SpecFile::new("lab.yaml".to_owned(), b"version: 1\n")],
            },
            spec_digest: "sha256:00".to_owned(),
            vantage: "dmz".to_owned(),
            shard_index: 0,
            shard_count: 1,
            seed: 1,
            limits: limits(),
            mode: ModeWish::Auto,
            exclude: Vec::new(),
        }
    }

    #[test]
    fn a_request_and_a_reply_round_trip() {
        let r = request();
        let line = r.encode();
        assert_eq!(line.last(), Some(&b'\n'));
        assert!(!String::from_utf8_lossy(&line).contains("exclude"), "sent only when some");
        assert_eq!(PlanRequest::decode(&line[..line.len() - 1]), Ok(r));
        let r = PlanRequest { exclude: vec!["198.18.2.0/28".to_owned()], ..request() };
        let line = r.encode();
        let back = PlanRequest::decode(&line[..line.len() - 1]).expect("decodes");
        assert!(back.exclusions().expect("valid").contains("198.18.2.9".parse().expect("addr")));
        assert_eq!(back, r);
        let reply = Reply::Accepted {
            version: "0.1.0".to_owned(),
            mode: ScanMode::Connect,
            limits: limits(),
            notes: vec!["rate lowered".to_owned()],
        };
        let line = reply.encode();
        assert_eq!(Reply::decode(&line[..line.len() - 1]), Ok(reply));
        let refused = Reply::Refused { reason: "busy".to_owned() };
        let line = refused.encode();
        assert_eq!(Reply::decode(&line[..line.len() - 1]), Ok(refused));
    }

    #[test]
    fn hostile_requests_are_errors_that_say_what() {
        let bad = |f: &dyn Fn(&mut PlanRequest)| {
            let mut r = request();
            f(&mut r);
            let line = r.encode();
            PlanRequest::decode(&line[..line.len() - 1]).expect_err("refused").to_string()
        };
        assert!(bad(&|r| r.protocol = 2).contains("protocol 2"));
        assert!(bad(&|r| r.shard_index = 1).contains("shard 1/1"));
        assert!(bad(&|r| r.shard_count = 0).contains("shard 0/0"));
        assert!(bad(&|r| r.vantage.clear()).contains("vantage name"));
        assert!(bad(&|r| r.spec.files.clear()).contains("no file"));
        assert!(bad(&|r| r.spec.files[0].base64 = "%%".to_owned()).contains("not base64"));
        assert!(bad(&|r| r.spec.path = "other.yaml".to_owned()).contains("not the spec"));
        assert!(bad(&|r| r.limits.rate = 0).contains("at least 1"));
        assert!(bad(&|r| r.limits.retries = 11).contains("above 10"));
        assert!(bad(&|r| r.limits.min_rtt_ms = 5000).contains("above max rtt"));
        assert!(bad(&|r| r.limits.max_rtt_ms = 600_000).contains("60,000"));
        assert!(bad(&|r| r.limits.banner_ms = 20_000).contains("banner"));
        assert!(
            bad(&|r| r.exclude = vec!["198.18.2.1/24".to_owned()]).contains("is not a network")
        );
        for junk in [&b""[..], b"{", b"null", b"[]", b"{\"protocol\":1}", b"\xff\xfe"] {
            assert!(matches!(PlanRequest::decode(junk), Err(ProtoError::Malformed(_))), "{junk:?}");
            assert!(Reply::decode(junk).is_err(), "{junk:?}");
        }
        let mut extra = request().encode();
        extra.truncate(extra.len() - 2);
        extra.extend_from_slice(b",\"widen_scope\":true}");
        assert!(matches!(PlanRequest::decode(&extra), Err(ProtoError::Malformed(_))));
        let long = vec![b' '; MAX_REQUEST_BYTES + 1];
        assert_eq!(
            PlanRequest::decode(&long),
            Err(ProtoError::TooLong { limit: MAX_REQUEST_BYTES })
        );
    }
}
