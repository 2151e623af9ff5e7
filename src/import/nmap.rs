//! nmap's XML output (`-oX`), read into plain data: sans-I/O, bytes in,
//! an [`NmapRun`] or a located [`NmapError`] out.
//!
//! Only what an observation file can hold is kept: the scanned port lists
//! (`<scaninfo services=..>`), each host's address and status, its listed
//! ports (state, reason, service product/version, the `banner` script's
//! output, and what the `ssl-enum-ciphers` and `ssl-cert` scripts found:
//! the suites accepted per version, the server's preference, the leaf
//! certificate's PEM) and its `<extraports>` groups (state, count, and the ports of
//! each `<extrareasons>` when nmap lists them, as 7.80 and later do), and
//! how the run ended (`<runstats><finished exit=..>`).
//!
//! Invariants: bounded and never panicking on any bytes: the input is at
//! most [`MAX_INPUT_BYTES`], elements nest at most [`MAX_DEPTH`] deep, an
//! attribute value is at most [`MAX_ATTR_BYTES`], a run holds at most
//! [`MAX_HOSTS`] hosts; entities are only XML's own (quick-xml expands no
//! DTD), so no entity expansion can grow the input. Every error carries the
//! line and column where it was found. No I/O, no clock.

use std::net::IpAddr;

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use crate::spec::ports::PortSet;

/// The largest XML document read: 256 MiB (a /16 with every port listed
/// is far less, since nmap folds repeated states into `<extraports>`).
pub const MAX_INPUT_BYTES: usize = 256 * 1024 * 1024;

/// The deepest nesting of elements accepted (nmap's own is under 10).
pub const MAX_DEPTH: usize = 32;

/// The longest attribute value kept, in bytes, before unescaping (script
/// output can be long; a banner is cut far shorter later).
pub const MAX_ATTR_BYTES: usize = 64 * 1024;

/// The most `<host>` elements in one run.
pub const MAX_HOSTS: usize = 1 << 20;

/// The most protocol versions one `ssl-enum-ciphers` result may list
/// (nmap knows five).
pub const MAX_TLS_VERSIONS: usize = 8;

/// The most suites one version of an `ssl-enum-ciphers` result may list
/// (nmap's table holds about 400).
pub const MAX_SUITES: usize = 1024;

/// A protocol nmap scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// Anything else (`sctp`, `ip`), kept by name and not imported.
    Other,
}

impl Protocol {
    fn parse(s: &str) -> Self {
        match s {
            "tcp" => Self::Tcp,
            "udp" => Self::Udp,
            _ => Self::Other,
        }
    }
}

/// One `<scaninfo>`: a scan type and the ports it scanned on every host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanInfo {
    /// nmap's scan type (`syn`, `connect`, `udp`, `ack`, `fin`...).
    pub scan_type: String,
    /// The protocol.
    pub protocol: Protocol,
    /// The ports scanned (`services`).
    pub ports: PortSet,
}

/// One `<port>` nmap listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    /// The protocol.
    pub protocol: Protocol,
    /// The port, 1-65535 (0 is refused).
    pub port: u16,
    /// nmap's state, as written (`open`, `closed|filtered`...).
    pub state: String,
    /// nmap's reason, as written (`syn-ack`, `conn-refused`...).
    pub reason: String,
    /// `<service product=.. version=.. extrainfo=..>`, joined by spaces.
    pub product: Option<String>,
    /// The `banner` script's `output`.
    pub banner: Option<String>,
    /// The `ssl-enum-ciphers` script's result, when it ran and listed a
    /// version (a script that failed or found no TLS lists none, and says
    /// nothing): each version it found accepted, in file order.
    pub ciphers: Option<Vec<EnumeratedVersion>>,
    /// The `ssl-cert` script's `pem`: the leaf certificate alone (nmap
    /// records no other certificate of the chain).
    pub cert_pem: Option<String>,
}

/// One version table of `ssl-enum-ciphers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumeratedVersion {
    /// The table's key, as nmap writes it (`TLSv1.2`, `SSLv3`...).
    pub version: String,
    /// The suites' names as nmap writes them (`TLS_RSA_WITH_AES_128_CBC_SHA`,
    /// and for TLS 1.3 `TLS_AKE_WITH_AES_128_GCM_SHA256`), in file order.
    pub ciphers: Vec<String>,
    /// `cipher preference`: `server`, `client` or `indeterminate`.
    pub preference: Option<String>,
}

/// One `<extrareasons>` of an `<extraports>` group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraReason {
    /// nmap's reason (`reset`, `no-response`...).
    pub reason: String,
    /// How many ports had it.
    pub count: u32,
    /// The protocol (`proto`, nmap 7.80+).
    pub protocol: Option<Protocol>,
    /// The ports (`ports`, nmap 7.80+); `None` when nmap did not list them.
    pub ports: Option<PortSet>,
}

/// One `<extraports>`: ports nmap folded because they shared a state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraPorts {
    /// The state they share.
    pub state: String,
    /// How many there are.
    pub count: u32,
    /// Why, per reason.
    pub reasons: Vec<ExtraReason>,
}

/// One `<host>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// Its IPv4 or IPv6 address (MAC addresses are skipped).
    pub address: Option<IpAddr>,
    /// `<status state=..>`: `up`, `down`, `unknown`, `skipped`.
    pub status: String,
    /// The ports listed one by one.
    pub ports: Vec<Port>,
    /// The folded groups.
    pub extra: Vec<ExtraPorts>,
}

/// A whole nmap run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NmapRun {
    /// nmap's version (`nmaprun version=..`).
    pub version: String,
    /// The command line nmap recorded (`args`).
    pub args: String,
    /// One per scan type.
    pub scans: Vec<ScanInfo>,
    /// The hosts, in file order.
    pub hosts: Vec<Host>,
    /// When nmap started (`nmaprun start`, seconds since 1970).
    pub start: Option<i64>,
    /// When nmap finished (`finished time`, seconds since 1970).
    pub finished: Option<i64>,
    /// `<finished exit=..>`; `None` when the run has no `<runstats>` (it was
    /// killed, or the file was cut).
    pub exit: Option<String>,
}

/// Why a document was refused, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NmapError {
    /// Larger than [`MAX_INPUT_BYTES`].
    #[error("the file is {0} bytes, over the {MAX_INPUT_BYTES}-byte limit")]
    TooLarge(usize),
    /// Not UTF-8 (nmap writes UTF-8).
    #[error("line {line}, column {column}: not UTF-8")]
    NotUtf8 {
        /// 1-based line.
        line: u64,
        /// 1-based column (bytes).
        column: u64,
    },
    /// Malformed XML, or XML that is not nmap's.
    #[error("line {line}, column {column}: {message}")]
    At {
        /// 1-based line.
        line: u64,
        /// 1-based column (bytes).
        column: u64,
        /// What was wrong.
        message: String,
    },
}

/// Reads nmap XML.
pub fn parse(bytes: &[u8]) -> Result<NmapRun, NmapError> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(NmapError::TooLarge(bytes.len()));
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let (line, column) = locate(bytes, e.valid_up_to());
            return Err(NmapError::NotUtf8 { line, column });
        }
    };
    let mut p = Parser {
        text,
        reader: Reader::from_str(text),
        run: NmapRun::default(),
        keys: Vec::new(),
        script: None,
        capture: None,
    };
    p.reader.config_mut().check_end_names = true;
    p.document()?;
    Ok(p.run)
}

struct Parser<'a> {
    text: &'a str,
    reader: Reader<&'a [u8]>,
    run: NmapRun,
    /// The `key` attribute of each element open (beside `document`'s
    /// stack of names), for the scripts' `<table key=..>`/`<elem key=..>`.
    keys: Vec<Option<String>>,
    /// The TLS script open, and how many elements were open above it.
    script: Option<(TlsScript, usize)>,
    /// The `<elem>` whose text is being read, and the text so far.
    capture: Option<(Capture, String)>,
}

/// The scripts whose tables are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TlsScript {
    EnumCiphers,
    Cert,
}

/// What an `<elem>`'s text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Capture {
    SuiteName,
    Preference,
    Pem,
}

impl<'a> Parser<'a> {
    fn error(&self, pos: u64, message: impl Into<String>) -> NmapError {
        let (line, column) =
            locate(self.text.as_bytes(), usize::try_from(pos).unwrap_or(usize::MAX));
        NmapError::At { line, column, message: message.into() }
    }

    fn document(&mut self) -> Result<(), NmapError> {
        // The element names open above the current event.
        let mut stack: Vec<String> = Vec::new();
        let mut seen_root = false;
        let mut closed_root = false;
        loop {
            let pos = self.reader.buffer_position();
            let event = match self.reader.read_event() {
                Ok(e) => e,
                Err(e) => {
                    let at = self.reader.error_position();
                    return Err(self.error(at, format!("malformed XML: {e}")));
                }
            };
            match event {
                Event::Eof => break,
                Event::Start(e) | Event::Empty(e) if closed_root => {
                    let name = e.name().as_ref().to_owned();
                    return Err(self.error(pos, format!("<{name}> after the end of <nmaprun>")));
                }
                Event::Start(e) => {
                    let (name, key, script) = self.element(&e, &stack, pos, &mut seen_root)?;
                    if stack.len() >= MAX_DEPTH {
                        return Err(self
                            .error(pos, format!("elements nest deeper than {MAX_DEPTH} levels")));
                    }
                    if let Some(script) = script {
                        self.script = Some((script, stack.len()));
                    }
                    stack.push(name);
                    self.keys.push(key);
                }
                Event::Empty(e) => {
                    self.element(&e, &stack, pos, &mut seen_root)?;
                    // An empty `<elem/>` is an empty text.
                    self.end_capture(pos)?;
                    if stack.is_empty() {
                        closed_root = true;
                    }
                }
                Event::End(_) => {
                    self.end_capture(pos)?;
                    stack.pop();
                    self.keys.pop();
                    if self.script.is_some_and(|(_, depth)| depth >= stack.len()) {
                        self.script = None;
                    }
                    if stack.is_empty() {
                        closed_root = true;
                    }
                }
                Event::Text(t) if self.capture.is_some() => {
                    let text = t.xml10_content().into_owned();
                    self.captured(&text, pos)?;
                }
                Event::GeneralRef(r) if self.capture.is_some() => {
                    let c = self.reference(&r, pos)?;
                    self.captured(c.encode_utf8(&mut [0u8; 4]), pos)?;
                }
                // Attributes hold everything else imported; other text,
                // comments, the DOCTYPE and processing instructions are
                // skipped.
                _ => {}
            }
        }
        if !seen_root {
            return Err(self.error(self.reader.buffer_position(), "no <nmaprun> element"));
        }
        if !stack.is_empty() {
            return Err(self.error(
                self.reader.buffer_position(),
                format!("the file ends inside <{}>: it was cut off", stack.join("><")),
            ));
        }
        Ok(())
    }

    /// Takes what one opening (or empty) element holds; returns its name.
    fn element(
        &mut self,
        e: &BytesStart<'_>,
        stack: &[String],
        pos: u64,
        seen_root: &mut bool,
    ) -> Result<(String, Option<String>, Option<TlsScript>), NmapError> {
        let name = e.name().as_ref().to_owned();
        let attrs = self.attributes(e, pos)?;
        let get = |key: &str| attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        let key = get("key").map(str::to_owned);
        if let Some((script, depth)) = self.script {
            // Inside a TLS script: its tables, by depth below `<script>`.
            self.script_element(script, stack.len() - depth - 1, &name, key.as_deref(), pos)?;
            return Ok((name, key, None));
        }
        let parent = stack.last().map(String::as_str);
        // A TLS script of a listed port (`<ports><port><script>`) whose
        // tables are read; one that failed (`output="ERROR: ..."`) has
        // none to read and says nothing about the port.
        let in_ports = stack.len() >= 2 && stack.get(stack.len() - 2).is_some_and(|g| g == "ports");
        let failed = get("output").is_some_and(|o| o.trim_start().starts_with("ERROR"));
        let script = match (parent, name.as_str(), get("id")) {
            (Some("port"), "script", Some("ssl-enum-ciphers")) if in_ports && !failed => {
                Some(TlsScript::EnumCiphers)
            }
            (Some("port"), "script", Some("ssl-cert")) if in_ports && !failed => {
                Some(TlsScript::Cert)
            }
            _ => None,
        };
        match (parent, name.as_str()) {
            (None, "nmaprun") => {
                *seen_root = true;
                self.run.version = get("version").unwrap_or("").to_owned();
                self.run.args = get("args").unwrap_or("").to_owned();
                self.run.start = get("start").and_then(|t| t.parse().ok());
            }
            (None, other) => {
                return Err(self.error(pos, format!("the root is <{other}>, expected <nmaprun>")));
            }
            (Some("nmaprun"), "scaninfo") => {
                let services = get("services").unwrap_or("");
                let ports = port_list(services).map_err(|m| {
                    self.error(pos, format!("<scaninfo services=\"{}\">: {m}", cut(services)))
                })?;
                self.run.scans.push(ScanInfo {
                    scan_type: get("type").unwrap_or("").to_owned(),
                    protocol: Protocol::parse(get("protocol").unwrap_or("")),
                    ports,
                });
            }
            (Some("nmaprun"), "host") => {
                if self.run.hosts.len() >= MAX_HOSTS {
                    return Err(self.error(pos, format!("more than {MAX_HOSTS} hosts")));
                }
                self.run.hosts.push(Host {
                    address: None,
                    status: String::new(),
                    ports: Vec::new(),
                    extra: Vec::new(),
                });
            }
            (Some("host"), "status") => {
                let status = get("state").unwrap_or("").to_owned();
                self.host(pos)?.status = status;
            }
            (Some("host"), "address") => {
                let kind = get("addrtype").unwrap_or("");
                if kind == "ipv4" || kind == "ipv6" {
                    let text = get("addr").unwrap_or("");
                    let addr: IpAddr = text.parse().map_err(|_| {
                        self.error(pos, format!("<address addr=\"{}\">: not an address", cut(text)))
                    })?;
                    let host = self.host(pos)?;
                    if host.address.is_none() {
                        host.address = Some(addr);
                    }
                }
            }
            (Some("ports"), "port") => {
                let text = get("portid").unwrap_or("");
                let port = match text.parse::<u16>() {
                    Ok(p) if p > 0 => p,
                    _ => {
                        return Err(self.error(
                            pos,
                            format!("<port portid=\"{}\">: expected 1-65535", cut(text)),
                        ));
                    }
                };
                let protocol = Protocol::parse(get("protocol").unwrap_or(""));
                let p = Port {
                    protocol,
                    port,
                    state: String::new(),
                    reason: String::new(),
                    product: None,
                    banner: None,
                    ciphers: None,
                    cert_pem: None,
                };
                self.host(pos)?.ports.push(p);
            }
            (Some("port"), "state") => {
                let state = get("state").unwrap_or("").to_owned();
                let reason = get("reason").unwrap_or("").to_owned();
                let port = self.port(pos)?;
                port.state = state;
                port.reason = reason;
            }
            (Some("port"), "service") => {
                let words: Vec<&str> = ["product", "version", "extrainfo"]
                    .into_iter()
                    .filter_map(get)
                    .filter(|w| !w.is_empty())
                    .collect();
                if !words.is_empty() {
                    self.port(pos)?.product = Some(words.join(" "));
                }
            }
            (Some("port"), "script") if get("id") == Some("banner") => {
                let output = get("output").unwrap_or("").to_owned();
                self.port(pos)?.banner = Some(output);
            }
            (Some("ports"), "extraports") => {
                let state = get("state").unwrap_or("").to_owned();
                let count = self.count(get("count"), pos)?;
                self.host(pos)?.extra.push(ExtraPorts { state, count, reasons: Vec::new() });
            }
            (Some("extraports"), "extrareasons") => {
                let count = self.count(get("count"), pos)?;
                let ports = match get("ports") {
                    None => None,
                    Some(list) => Some(port_list(list).map_err(|m| {
                        self.error(pos, format!("<extrareasons ports=\"{}\">: {m}", cut(list)))
                    })?),
                };
                let reason = ExtraReason {
                    reason: get("reason").unwrap_or("").to_owned(),
                    count,
                    protocol: get("proto").map(Protocol::parse),
                    ports,
                };
                let host = self.host(pos)?;
                match host.extra.last_mut() {
                    Some(group) => group.reasons.push(reason),
                    None => return Err(self.error(pos, "<extrareasons> outside <extraports>")),
                }
            }
            (Some("runstats"), "finished") => {
                self.run.exit = Some(get("exit").unwrap_or("").to_owned());
                self.run.finished = get("time").and_then(|t| t.parse().ok());
            }
            _ => {}
        }
        Ok((name, key, script))
    }

    /// One element inside `ssl-enum-ciphers` or `ssl-cert`, `below` levels
    /// under `<script>` (0: a child). `ssl-enum-ciphers` writes
    /// `<table key="TLSv1.2"><table key="ciphers"><table><elem key="name">`
    /// and `<elem key="cipher preference">` in the version's table;
    /// `ssl-cert`, `<elem key="pem">` under the script.
    fn script_element(
        &mut self,
        script: TlsScript,
        below: usize,
        name: &str,
        key: Option<&str>,
        pos: u64,
    ) -> Result<(), NmapError> {
        let parent_key = |up: usize| {
            self.keys.len().checked_sub(up).and_then(|i| self.keys.get(i)).cloned().flatten()
        };
        let capture = match (script, below, name, key) {
            (TlsScript::EnumCiphers, 0, "table", Some(version))
                if version.starts_with("SSL") || version.starts_with("TLS") =>
            {
                let version = version.to_owned();
                if self.port(pos)?.ciphers.as_ref().is_some_and(|v| v.len() >= MAX_TLS_VERSIONS) {
                    return Err(self.error(
                        pos,
                        format!("ssl-enum-ciphers lists more than {MAX_TLS_VERSIONS} versions"),
                    ));
                }
                let versions = self.port(pos)?.ciphers.get_or_insert_with(Vec::new);
                versions.push(EnumeratedVersion { version, ciphers: Vec::new(), preference: None });
                None
            }
            (TlsScript::EnumCiphers, 1, "elem", Some("cipher preference")) => {
                Some(Capture::Preference)
            }
            (TlsScript::EnumCiphers, 3, "elem", Some("name"))
                if parent_key(2).as_deref() == Some("ciphers") =>
            {
                Some(Capture::SuiteName)
            }
            (TlsScript::Cert, 0, "elem", Some("pem")) => Some(Capture::Pem),
            _ => None,
        };
        if let Some(c) = capture {
            self.capture = Some((c, String::new()));
        }
        Ok(())
    }

    /// The character a reference in text stands for: a character
    /// reference, or one of XML's five entities (no DTD defines others).
    fn reference(&self, r: &quick_xml::events::BytesRef<'_>, pos: u64) -> Result<char, NmapError> {
        match r.resolve_char_ref() {
            Ok(Some(c)) => Ok(c),
            Ok(None) => match r.as_ref() {
                "lt" => Ok('<'),
                "gt" => Ok('>'),
                "amp" => Ok('&'),
                "apos" => Ok('\''),
                "quot" => Ok('"'),
                other => Err(self.error(pos, format!("unknown entity &{}; in text", cut(other)))),
            },
            Err(e) => Err(self.error(pos, format!("bad character reference: {e}"))),
        }
    }

    /// Appends to the text being captured, within [`MAX_ATTR_BYTES`].
    fn captured(&mut self, text: &str, pos: u64) -> Result<(), NmapError> {
        let over =
            self.capture.as_ref().is_some_and(|(_, t)| t.len() + text.len() > MAX_ATTR_BYTES);
        if over {
            return Err(self.error(pos, format!("a script's text is over {MAX_ATTR_BYTES} bytes")));
        }
        if let Some((_, t)) = &mut self.capture {
            t.push_str(text);
        }
        Ok(())
    }

    /// Ends the `<elem>` being captured, if one is: its text goes where it
    /// belongs.
    fn end_capture(&mut self, pos: u64) -> Result<(), NmapError> {
        let Some((what, text)) = self.capture.take() else { return Ok(()) };
        let port = self.port(pos)?;
        match what {
            Capture::Pem => port.cert_pem = Some(text),
            Capture::Preference | Capture::SuiteName => {
                let Some(version) = port.ciphers.as_mut().and_then(|v| v.last_mut()) else {
                    return Ok(());
                };
                if what == Capture::Preference {
                    version.preference = Some(text.trim().to_owned());
                } else if version.ciphers.len() >= MAX_SUITES {
                    let v = version.version.clone();
                    return Err(self.error(
                        pos,
                        format!(
                            "ssl-enum-ciphers lists more than {MAX_SUITES} suites for {}",
                            cut(&v)
                        ),
                    ));
                } else {
                    version.ciphers.push(text.trim().to_owned());
                }
            }
        }
        Ok(())
    }

    fn attributes(&self, e: &BytesStart<'_>, pos: u64) -> Result<Vec<(String, String)>, NmapError> {
        let mut out = Vec::new();
        for attr in e.attributes() {
            let attr = attr.map_err(|err| self.error(pos, format!("bad attribute: {err}")))?;
            let key = attr.key.as_ref().to_owned();
            if attr.value.len() > MAX_ATTR_BYTES {
                return Err(self.error(
                    pos,
                    format!(
                        "attribute {key} is {} bytes, over the {MAX_ATTR_BYTES}-byte limit",
                        attr.value.len()
                    ),
                ));
            }
            let value = attr
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|err| self.error(pos, format!("attribute {key}: {err}")))?
                .into_owned();
            out.push((key, value));
        }
        Ok(out)
    }

    fn count(&self, text: Option<&str>, pos: u64) -> Result<u32, NmapError> {
        let text = text.unwrap_or("");
        text.parse::<u32>()
            .map_err(|_| self.error(pos, format!("count=\"{}\": expected a number", cut(text))))
    }

    fn host(&mut self, pos: u64) -> Result<&mut Host, NmapError> {
        let err = self.error(pos, "expected inside <host>");
        self.run.hosts.last_mut().ok_or(err)
    }

    fn port(&mut self, pos: u64) -> Result<&mut Port, NmapError> {
        let err = self.error(pos, "expected inside <port>");
        self.run.hosts.last_mut().and_then(|h| h.ports.last_mut()).ok_or(err)
    }
}

/// Reads an nmap port list (`1-1000,8080`): items in any order, each a
/// port or a range `a-b` with `a <= b`, 0-65535. Port 0, which nmap can be
/// told to scan and vantage never probes, is left out.
fn port_list(text: &str) -> Result<PortSet, String> {
    let number = |t: &str| -> Result<u16, String> {
        if t.is_empty() || t.len() > 5 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("\"{}\" is not a port number 0-65535", cut(t)));
        }
        t.parse::<u16>().map_err(|_| format!("\"{}\" is not a port number 0-65535", cut(t)))
    };
    let mut ranges = Vec::new();
    if text.is_empty() {
        return Ok(PortSet::new());
    }
    for item in text.split(',') {
        let (lo, hi) = match item.split_once('-') {
            None => (number(item)?, number(item)?),
            Some((a, b)) => (number(a)?, number(b)?),
        };
        if hi < lo {
            return Err(format!("the range {lo}-{hi} is backwards"));
        }
        if hi > 0 {
            ranges.push((lo.max(1), hi));
        }
    }
    Ok(PortSet::from_ranges(ranges))
}

/// At most 64 characters of a value, for messages.
fn cut(s: &str) -> String {
    s.chars().take(64).collect()
}

/// 1-based line and column (in bytes) of a byte offset.
fn locate(bytes: &[u8], offset: usize) -> (u64, u64) {
    let before = bytes.get(..offset).unwrap_or(bytes);
    let line = before.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    let column = before.iter().rev().take_while(|&&b| b != b'\n').count() as u64 + 1;
    (line, column)
}

#[cfg(test)]
mod tests;
