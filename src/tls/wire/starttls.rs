//! STARTTLS preambles (issue 5): the plaintext a client speaks on a fresh
//! connection before TLS starts on the same socket, for SMTP (RFC 3207),
//! IMAP (RFC 9051 section 6.2.1), POP3 (RFC 2595 section 4) and
//! PostgreSQL (the `SSLRequest` message of its frontend/backend protocol).
//!
//! Sans-I/O, like the rest of `wire`: a [`Preamble`] is told what arrived
//! ([`Preamble::push`]) and says what to do next ([`Step`]): send a
//! command, read more, or start TLS. The prober moves the bytes and keeps
//! the clock; [`Preamble::close`] and [`Preamble::timed_out`] name the
//! stage a dead or silent server stopped at.
//!
//! The codec is apart from the state machine: a line splitter turns the
//! server's bytes into lines (or, for PostgreSQL, one byte), `smtp_line`
//! reads a reply line's code, and each `Expect` state takes one complete
//! reply and returns the next state.
//!
//! Invariants: the server's bytes are never indexed; a line is at most
//! [`MAX_LINE`] bytes, a reply at most [`MAX_LINES`] lines, and the whole
//! preamble at most [`MAX_PREAMBLE`] bytes, so an endless multi-line reply
//! or a flood without a newline ends in [`StartTlsError::Oversized`];
//! nothing here panics on any input (the `starttls_preamble` fuzz target
//! checks it). Time is the prober's: its deadline covers the preamble too.

use std::fmt;

/// The longest line a server may send, its line ending included. RFC 5321
/// allows 512 bytes for an SMTP reply line and RFC 2449 as much for POP3;
/// an IMAP greeting that lists capabilities is longer, so the cap is wider.
pub const MAX_LINE: usize = 4096;

/// The most lines in one reply: SMTP continuation lines, or the untagged
/// IMAP responses before the tagged one.
pub const MAX_LINES: usize = 64;

/// The most bytes a server may send before TLS starts, in all.
pub const MAX_PREAMBLE: usize = 32 * 1024;

/// How many bytes of the reply that ended a preamble are kept as evidence.
pub const EVIDENCE_BYTES: usize = 512;

/// A protocol that upgrades a plaintext connection to TLS. Alphabetical.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    /// IMAP: `a001 STARTTLS` after the `* OK` greeting.
    Imap,
    /// POP3: `STLS` after the `+OK` greeting.
    Pop3,
    /// PostgreSQL: an `SSLRequest`, answered `S` (or `N`: no TLS).
    Postgres,
    /// SMTP: `EHLO`, which must list `STARTTLS`, then `STARTTLS`.
    Smtp,
}

impl Protocol {
    /// Every protocol, in the order the spec's documentation lists them.
    pub const ALL: [Self; 4] = [Self::Smtp, Self::Imap, Self::Pop3, Self::Postgres];

    /// The name the spec and the observation files use (`smtp`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Imap => "imap",
            Self::Pop3 => "pop3",
            Self::Postgres => "postgres",
            Self::Smtp => "smtp",
        }
    }

    /// The protocol a spec or observation names; `None` for any other name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Imap => "IMAP",
            Self::Pop3 => "POP3",
            Self::Postgres => "PostgreSQL",
            Self::Smtp => "SMTP",
        })
    }
}

/// The name we give in `EHLO`: a reserved name (RFC 2606), as we are no
/// mail host.
pub const EHLO: &[u8] = b"EHLO vantage.invalid\r\n";
/// SMTP's command (RFC 3207).
pub const SMTP_STARTTLS: &[u8] = b"STARTTLS\r\n";
/// IMAP's command, with our one tag.
pub const IMAP_STARTTLS: &[u8] = b"a001 STARTTLS\r\n";
/// POP3's command (RFC 2595).
pub const POP3_STLS: &[u8] = b"STLS\r\n";
/// PostgreSQL's `SSLRequest`: length 8, then the code 80877103.
pub const SSL_REQUEST: &[u8] = &[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// What the prober does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Read from the server and [`Preamble::push`] what arrives.
    Receive,
    /// Write these bytes, then `push(&[])`: what is already buffered may
    /// decide the next step.
    Send(&'static [u8]),
    /// The server agreed: start TLS on this connection now.
    StartTls,
}

/// How a server declined to start TLS, in its own protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The STARTTLS command (or IMAP's tagged reply to it) was answered
    /// with an error, such as SMTP 454 or IMAP `BAD`.
    Command,
    /// SMTP: `EHLO` was refused, so no extension can be used.
    EhloRefused,
    /// The greeting turned the client away (SMTP 554, IMAP `BYE`, POP3
    /// `-ERR`) or, for IMAP `PREAUTH`, left no state STARTTLS is valid in.
    Greeting,
    /// PostgreSQL answered the `SSLRequest` with `N`.
    NoSsl,
    /// SMTP: the `EHLO` reply does not list `STARTTLS`.
    NotAdvertised,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Command => "it refused the STARTTLS command",
            Self::EhloRefused => "it refused EHLO, without which there is no STARTTLS",
            Self::Greeting => "its greeting turned the client away",
            Self::NoSsl => "it answered the SSLRequest with N (no SSL)",
            Self::NotAdvertised => "its EHLO reply does not list STARTTLS",
        })
    }
}

/// Why a preamble did not end in TLS. Every variant is the server's
/// doing: the state machine has no local failures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StartTlsError {
    /// The connection ended before TLS could start.
    #[error("{protocol}: the server closed the connection during {stage}")]
    Closed {
        /// The protocol spoken.
        protocol: Protocol,
        /// What we were waiting for.
        stage: &'static str,
        /// What had arrived of it (up to [`EVIDENCE_BYTES`]).
        reply: Vec<u8>,
    },
    /// The server sent something that is not its protocol.
    #[error("{protocol}: the server sent something else where {expected} was due")]
    Malformed {
        /// The protocol spoken.
        protocol: Protocol,
        /// What the protocol allows there.
        expected: &'static str,
        /// The offending reply (up to [`EVIDENCE_BYTES`]).
        reply: Vec<u8>,
    },
    /// The server sent bytes after agreeing to start TLS and before our
    /// ClientHello; they would be read as its TLS (a client that did so
    /// would take injected plaintext for protected data), so we stop.
    #[error(
        "{protocol}: the server sent {len} bytes after agreeing to start TLS, before the handshake"
    )]
    EarlyData {
        /// The protocol spoken.
        protocol: Protocol,
        /// How many bytes were buffered (at least; more may be in flight).
        len: usize,
    },
    /// A line, a reply or the whole preamble went over our limits.
    #[error("{protocol}: the server's {what} exceeds our limit of {limit}")]
    Oversized {
        /// The protocol spoken.
        protocol: Protocol,
        /// What was too large (`line`, `reply`, `preamble`).
        what: &'static str,
        /// The limit, in bytes or (for a reply) lines.
        limit: usize,
    },
    /// The server declined, in its protocol: it does not offer STARTTLS.
    #[error("{protocol}: the server does not offer STARTTLS: {refusal}")]
    Refused {
        /// The protocol spoken.
        protocol: Protocol,
        /// How it declined.
        refusal: Refusal,
        /// Its reply (up to [`EVIDENCE_BYTES`]).
        reply: Vec<u8>,
    },
    /// Nothing decisive arrived before the prober's deadline.
    #[error("{protocol}: {stage} did not come before the deadline")]
    TimedOut {
        /// The protocol spoken.
        protocol: Protocol,
        /// What we were waiting for.
        stage: &'static str,
        /// What had arrived of it (up to [`EVIDENCE_BYTES`]).
        reply: Vec<u8>,
    },
}

impl StartTlsError {
    /// What the server sent that led here (empty when nothing did).
    pub fn reply(&self) -> &[u8] {
        match self {
            Self::Closed { reply, .. }
            | Self::Malformed { reply, .. }
            | Self::Refused { reply, .. }
            | Self::TimedOut { reply, .. } => reply,
            Self::EarlyData { .. } | Self::Oversized { .. } => &[],
        }
    }
}

/// Where a preamble is: what the server's next reply must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// SMTP, IMAP, POP3: the server speaks first.
    Greeting,
    /// SMTP: the reply to `EHLO`.
    EhloReply,
    /// The reply to the STARTTLS command (PostgreSQL: to `SSLRequest`).
    GoAhead,
    /// TLS may start (or the preamble failed); nothing more is read.
    Done,
}

impl Expect {
    fn stage(self, protocol: Protocol) -> &'static str {
        match (self, protocol) {
            (Self::Greeting, _) => "the greeting",
            (Self::EhloReply, _) => "the EHLO reply",
            (Self::GoAhead, Protocol::Postgres) => "the SSLRequest reply",
            (Self::GoAhead, _) => "the STARTTLS reply",
            (Self::Done, _) => "nothing (the preamble was over)",
        }
    }
}

/// One complete reply from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reply {
    /// SMTP: a code and the text of each line, in order.
    Smtp { code: u16, lines: Vec<Vec<u8>> },
    /// IMAP, POP3: one line, without its line ending.
    Line(Vec<u8>),
    /// PostgreSQL: the one byte answering `SSLRequest`.
    Byte(u8),
}

/// One connection's STARTTLS preamble. See the module docs.
#[derive(Debug, Clone)]
pub struct Preamble {
    protocol: Protocol,
    state: Expect,
    /// Bytes received and not yet consumed: at most a partial line, plus
    /// whatever came with the last piece pushed.
    pending: Vec<u8>,
    /// Bytes consumed into lines so far, for [`MAX_PREAMBLE`].
    consumed: usize,
    /// SMTP: the lines of a multi-line reply so far, with its code.
    smtp: Option<(u16, Vec<Vec<u8>>)>,
    /// IMAP: untagged lines skipped while waiting for the tagged reply.
    untagged: usize,
    /// The current reply's raw bytes, up to [`EVIDENCE_BYTES`].
    evidence: Vec<u8>,
}

impl Preamble {
    /// A preamble for `protocol`, before anything was sent or received.
    pub fn new(protocol: Protocol) -> Self {
        let state = if protocol == Protocol::Postgres { Expect::GoAhead } else { Expect::Greeting };
        Self {
            protocol,
            state,
            pending: Vec::new(),
            consumed: 0,
            smtp: None,
            untagged: 0,
            evidence: Vec::new(),
        }
    }

    /// The protocol spoken.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The first step: PostgreSQL's client speaks first, the others wait
    /// for a greeting.
    pub fn start(&self) -> Step {
        if self.protocol == Protocol::Postgres { Step::Send(SSL_REQUEST) } else { Step::Receive }
    }

    /// Takes what arrived (possibly nothing) and says what to do next.
    /// After an `Err` the connection is of no further use; after
    /// [`Step::StartTls`] the socket belongs to TLS.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Step, StartTlsError> {
        self.pending.extend_from_slice(bytes);
        loop {
            if self.state == Expect::Done {
                return if self.pending.is_empty() {
                    Ok(Step::StartTls)
                } else {
                    Err(StartTlsError::EarlyData {
                        protocol: self.protocol,
                        len: self.pending.len(),
                    })
                };
            }
            let Some(reply) = self.next_reply()? else { return Ok(Step::Receive) };
            let (next, send) = self.on_reply(reply)?;
            self.state = next;
            self.evidence.clear();
            if let Some(bytes) = send {
                return Ok(Step::Send(bytes));
            }
        }
    }

    /// The server closed the connection (or reset it) before TLS started.
    pub fn close(&self) -> StartTlsError {
        StartTlsError::Closed {
            protocol: self.protocol,
            stage: self.state.stage(self.protocol),
            reply: self.partial_evidence(),
        }
    }

    /// The prober's deadline passed before TLS could start.
    pub fn timed_out(&self) -> StartTlsError {
        StartTlsError::TimedOut {
            protocol: self.protocol,
            stage: self.state.stage(self.protocol),
            reply: self.partial_evidence(),
        }
    }

    /// What arrived of the reply being waited for, complete lines and the
    /// partial one.
    fn partial_evidence(&self) -> Vec<u8> {
        let mut out = self.evidence.clone();
        out.extend(self.pending.iter().take(EVIDENCE_BYTES.saturating_sub(out.len())));
        out
    }

    fn oversized(&self, what: &'static str, limit: usize) -> StartTlsError {
        StartTlsError::Oversized { protocol: self.protocol, what, limit }
    }

    fn malformed(&self, expected: &'static str) -> StartTlsError {
        StartTlsError::Malformed { protocol: self.protocol, expected, reply: self.evidence.clone() }
    }

    fn refused(&self, refusal: Refusal) -> StartTlsError {
        StartTlsError::Refused { protocol: self.protocol, refusal, reply: self.evidence.clone() }
    }

    /// The next complete reply from `pending`, consuming it; `None` when
    /// more bytes are needed.
    fn next_reply(&mut self) -> Result<Option<Reply>, StartTlsError> {
        if self.protocol == Protocol::Postgres {
            let Some(&byte) = self.pending.first() else { return Ok(None) };
            self.pending.drain(..1);
            self.consumed += 1;
            self.evidence.push(byte);
            return Ok(Some(Reply::Byte(byte)));
        }
        loop {
            let Some(line) = self.next_line()? else { return Ok(None) };
            if self.protocol != Protocol::Smtp {
                return Ok(Some(Reply::Line(line)));
            }
            let Some((code, last, text)) = smtp_line(&line) else {
                return Err(self.malformed("a reply line of a three-digit code and text"));
            };
            let (first, mut lines) = self.smtp.take().unwrap_or((code, Vec::new()));
            if first != code {
                return Err(self.malformed("the same code on every line of a reply"));
            }
            lines.push(text.to_vec());
            if last {
                return Ok(Some(Reply::Smtp { code, lines }));
            }
            if lines.len() >= MAX_LINES {
                return Err(self.oversized("reply (lines)", MAX_LINES));
            }
            self.smtp = Some((code, lines));
        }
    }

    /// The next line from `pending` without its `\n` or `\r\n`; `None` when
    /// no complete line is buffered yet.
    fn next_line(&mut self) -> Result<Option<Vec<u8>>, StartTlsError> {
        let Some(end) = self.pending.iter().position(|&b| b == b'\n') else {
            if self.pending.len() >= MAX_LINE {
                return Err(self.oversized("line", MAX_LINE));
            }
            if self.consumed + self.pending.len() > MAX_PREAMBLE {
                return Err(self.oversized("preamble", MAX_PREAMBLE));
            }
            return Ok(None);
        };
        let len = end + 1;
        if len > MAX_LINE {
            return Err(self.oversized("line", MAX_LINE));
        }
        if self.consumed + len > MAX_PREAMBLE {
            return Err(self.oversized("preamble", MAX_PREAMBLE));
        }
        let raw: Vec<u8> = self.pending.drain(..len).collect();
        self.consumed += len;
        let room = EVIDENCE_BYTES.saturating_sub(self.evidence.len());
        self.evidence.extend(raw.iter().take(room));
        let line = raw.strip_suffix(b"\n").unwrap_or(&raw);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        Ok(Some(line.to_vec()))
    }

    /// The state after `reply`, and what to send on the way there.
    fn on_reply(&mut self, reply: Reply) -> Result<(Expect, Option<&'static [u8]>), StartTlsError> {
        match (self.protocol, self.state, reply) {
            (Protocol::Smtp, Expect::Greeting, Reply::Smtp { code, .. }) => match code {
                220 => Ok((Expect::EhloReply, Some(EHLO))),
                _ => Err(self.refused(Refusal::Greeting)),
            },
            (Protocol::Smtp, Expect::EhloReply, Reply::Smtp { code, lines }) => {
                if code != 250 {
                    return Err(self.refused(Refusal::EhloRefused));
                }
                // The first line names the server; extensions follow, one
                // keyword each, case-insensitive (RFC 5321 section 4.1.1.1).
                let offered = lines.iter().skip(1).any(|l| {
                    let keyword = l.split(|b| *b == b' ').next().unwrap_or_default();
                    keyword.eq_ignore_ascii_case(b"STARTTLS")
                });
                if offered {
                    Ok((Expect::GoAhead, Some(SMTP_STARTTLS)))
                } else {
                    Err(self.refused(Refusal::NotAdvertised))
                }
            }
            (Protocol::Smtp, Expect::GoAhead, Reply::Smtp { code, .. }) => match code {
                220 => Ok((Expect::Done, None)),
                _ => Err(self.refused(Refusal::Command)),
            },
            (Protocol::Imap, Expect::Greeting, Reply::Line(line)) => {
                if starts_with_word(&line, b"* OK") {
                    Ok((Expect::GoAhead, Some(IMAP_STARTTLS)))
                } else if starts_with_word(&line, b"* PREAUTH") || starts_with_word(&line, b"* BYE")
                {
                    Err(self.refused(Refusal::Greeting))
                } else {
                    Err(self.malformed("an IMAP greeting (`* OK`)"))
                }
            }
            (Protocol::Imap, Expect::GoAhead, Reply::Line(line)) => {
                if starts_with_word(&line, b"a001 OK") {
                    Ok((Expect::Done, None))
                } else if starts_with_word(&line, b"a001 NO")
                    || starts_with_word(&line, b"a001 BAD")
                    || starts_with_word(&line, b"* BYE")
                {
                    Err(self.refused(Refusal::Command))
                } else if line.starts_with(b"* ") {
                    // Untagged data (a CAPABILITY, an alert) may come
                    // before the tagged reply; a bounded number of lines.
                    self.untagged += 1;
                    if self.untagged >= MAX_LINES {
                        return Err(self.oversized("reply (lines)", MAX_LINES));
                    }
                    Ok((Expect::GoAhead, None))
                } else {
                    Err(self.malformed("the tagged reply `a001 OK` to STARTTLS"))
                }
            }
            (Protocol::Pop3, state @ (Expect::Greeting | Expect::GoAhead), Reply::Line(line)) => {
                let greeting = state == Expect::Greeting;
                if starts_with_word(&line, b"+OK") {
                    Ok(if greeting {
                        (Expect::GoAhead, Some(POP3_STLS))
                    } else {
                        (Expect::Done, None)
                    })
                } else if starts_with_word(&line, b"-ERR") {
                    Err(self.refused(if greeting { Refusal::Greeting } else { Refusal::Command }))
                } else {
                    Err(self.malformed("a POP3 status (`+OK` or `-ERR`)"))
                }
            }
            (Protocol::Postgres, Expect::GoAhead, Reply::Byte(b)) => match b {
                b'S' => Ok((Expect::Done, None)),
                b'N' => Err(self.refused(Refusal::NoSsl)),
                // An ErrorResponse: a server that predates SSL, or one
                // that refuses the request outright.
                b'E' => {
                    let mut e = self.refused(Refusal::Command);
                    if let StartTlsError::Refused { reply, .. } = &mut e {
                        let room = EVIDENCE_BYTES.saturating_sub(reply.len());
                        reply.extend(self.pending.iter().take(room));
                    }
                    Err(e)
                }
                _ => Err(self.malformed("`S` or `N` in answer to SSLRequest")),
            },
            // Unreachable by construction (each protocol yields one kind of
            // reply, and `Done` reads nothing); a malformed error is the
            // harmless answer should it ever happen.
            _ => Err(self.malformed("nothing")),
        }
    }
}

/// Whether `line` starts with `word` (ASCII case-insensitive) followed by
/// a space or the end of the line.
fn starts_with_word(line: &[u8], word: &[u8]) -> bool {
    let Some(head) = line.get(..word.len()) else { return false };
    head.eq_ignore_ascii_case(word) && matches!(line.get(word.len()), None | Some(b' '))
}

/// An SMTP reply line (RFC 5321 section 4.2): three digits, then `-` (more
/// lines follow), a space or nothing (the last line), then text. Returns
/// the code, whether it is the last line, and the text.
fn smtp_line(line: &[u8]) -> Option<(u16, bool, &[u8])> {
    let digits = line.get(..3)?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let code = digits.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    match line.get(3) {
        None => Some((code, true, &[])),
        Some(b' ') => Some((code, true, line.get(4..).unwrap_or_default())),
        Some(b'-') => Some((code, false, line.get(4..).unwrap_or_default())),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests;
