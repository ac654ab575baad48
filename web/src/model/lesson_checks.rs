//! The lessons' checks (the lessons themselves are `lessons.rs`): pure functions over what the
//! page observed in the current session. Each returns what it saw when it
//! passes and what is missing when it does not, in numbers read from the
//! same events the panels show.

use std::ops::Range;

use protocol::relay_api::{CloseReason, ConnectFailure, DecoderState, Observed};

use super::{counted, group_digits, State};

type Verdict = Result<String, String>;

fn playground<'a>(e: &Evidence<'a>) -> Result<&'a State, String> {
    match e {
        Evidence::Playground(s) if s.session.id == 0 => Err("nothing sent yet".into()),
        Evidence::Playground(s) => Ok(s),
        _ => Err("this part is done in the Playground tab".into()),
    }
}

fn framing(e: &Evidence) -> Result<FramingFacts, String> {
    match e {
        Evidence::Framing(f) if f.key == 0 => Err("nothing sent yet".into()),
        Evidence::Framing(f) => Ok(*f),
        _ => Err("this part is done in the Framing tab".into()),
    }
}

fn many(e: &Evidence) -> Result<ManyFacts, String> {
    match e {
        Evidence::Many(m) if m.connections == 0 => Err("nothing sent yet".into()),
        Evidence::Many(m) => Ok(*m),
        _ => Err("this part is done in the Many connections tab".into()),
    }
}

/// The session went to `name`.
fn on(s: &State, name: &str) -> Result<(), String> {
    if s.session.target == name {
        Ok(())
    } else {
        Err(format!(
            "this session went to {}: pick the target {name}",
            s.session.target
        ))
    }
}

/// What the browser sent in this session, in order.
fn sent_bytes(s: &State) -> Vec<u8> {
    s.session
        .sent_chunks
        .iter()
        .flat_map(|c| c.bytes.iter().copied())
        .collect()
}

/// The JSON header's byte range in a stream that starts with a frame.
pub fn header_range(bytes: &[u8]) -> Option<Range<usize>> {
    let len = u16::from_be_bytes([*bytes.first()?, *bytes.get(1)?]) as usize;
    Some(2..2 + len)
}

/// How many of the `chunks` (stream ranges) hold bytes of `part`.
pub fn pieces(chunks: impl Iterator<Item = Range<usize>>, part: &Range<usize>) -> usize {
    chunks
        .filter(|c| c.start < part.end && part.start < c.end)
        .count()
}

/// The server's `recv()` calls that returned bytes, as stream ranges (the
/// kept rows; those dropped before them are counted in the first offset).
fn server_ranges(s: &State) -> Vec<Range<usize>> {
    let o = &s.observe;
    let kept: u64 = o.recvs.iter().map(|r| r.len).sum();
    let mut at = (o.recv_bytes - kept) as usize;
    o.recvs
        .iter()
        .filter(|r| r.len > 0)
        .map(|r| {
            let range = at..at + r.len as usize;
            at = range.end;
            range
        })
        .collect()
}

fn seen(s: &State, pred: impl Fn(&Observed) -> bool) -> bool {
    s.observe.lane.iter().any(|l| pred(&l.event))
}

fn close_reason(s: &State) -> Option<CloseReason> {
    s.session
        .timeline
        .iter()
        .rev()
        .find_map(|e| e.kind.close_reason())
}

fn header_words(part: &Range<usize>) -> String {
    format!("the JSON header (bytes {}..{})", part.start, part.end)
}

/// Lesson 1: a request decoded by the server, its reply decoded here.
pub fn request_and_reply(e: &Evidence) -> Verdict {
    let s = playground(e)?;
    if s.observe.request_count == 0 {
        return Err("the server has decoded no request yet: send to app".into());
    }
    if s.inbound.messages.is_empty() {
        return Err("no reply decoded yet".into());
    }
    Ok(format!(
        "the app server decoded {}; {} decoded here",
        counted(s.observe.request_count, "request", "requests"),
        counted(s.inbound.messages.len() as u64, "reply", "replies")
    ))
}

/// Lesson 1, your turn: the server's decoder gave up.
pub fn server_rejected(e: &Evidence) -> Verdict {
    let s = playground(e)?;
    on(s, "app")?;
    s.observe
        .recvs
        .iter()
        .find_map(|r| match &r.decoder {
            Some(DecoderState::Failed { error }) => {
                Some(format!("the server's decoder gave up: {error}"))
            }
            _ => None,
        })
        .ok_or_else(|| {
            "the server's decoder accepted every byte so far: send a malformed message".into()
        })
}

/// Lesson 2: one request, several `recv()` calls.
pub fn request_in_pieces(e: &Evidence) -> Verdict {
    let s = playground(e)?;
    let calls = server_ranges(s).len();
    if s.observe.request_count == 0 {
        return Err("the server has decoded no request yet: send to app".into());
    }
    if calls < 2 {
        return Err("the server's recv() got the whole request in one call: send it in segments with a delay".into());
    }
    Ok(format!("one request, read in {calls} recv() calls"))
}

/// Lesson 2, your turn: the echo back in 3 chunks or more.
pub fn echo_in_chunks(e: &Evidence) -> Verdict {
    let s = playground(e)?;
    on(s, "echo")?;
    let n = s.session.chunks.len();
    if n < 3 {
        return Err(format!(
            "the echo came back in {}; 3 or more needed: smaller segments, 50 ms apart",
            counted(n as u64, "chunk", "chunks")
        ));
    }
    Ok(format!("the echo came back in {n} chunks"))
}

/// Lesson 3: the page's decoder waited, then finished a message.
pub fn client_waited(e: &Evidence) -> Verdict {
    let s = playground(e)?;
    let chunks = &s.inbound.chunks;
    if s.inbound.messages.is_empty() {
        return Err("no whole message decoded here yet".into());
    }
    if chunks.len() < 2 {
        return Err(
            "the message came in one chunk: send it to echo in segments, with a delay".into(),
        );
    }
    Ok(format!(
        "a whole message from {} chunks; after the first the decoder waited ({})",
        chunks.len(),
        chunks[0].state
    ))
}

/// Lesson 3, your turn: the JSON header in 3 chunks or more at the page.
pub fn client_header_pieces(e: &Evidence) -> Verdict {
    let s = playground(e)?;
    let bytes = s.inbound.bytes.get();
    let part = header_range(&bytes).ok_or("no length prefix received yet")?;
    if bytes.len() < part.end {
        return Err(format!("{} has not all arrived yet", header_words(&part)));
    }
    let ranges = s.inbound.chunks.iter().map(|c| c.offset..c.offset + c.len);
    let n = pieces(ranges, &part);
    if n < 3 {
        return Err(format!(
            "{} came in {}; 3 or more needed: smaller segments",
            header_words(&part),
            counted(n as u64, "chunk", "chunks")
        ));
    }
    Ok(format!(
        "{} reached the page in {n} chunks",
        header_words(&part)
    ))
}

/// Lesson 4: the server's decoder waited between `recv()` calls.
pub fn server_waited(e: &Evidence) -> Verdict {
    let s = playground(e)?;
    if s.observe.request_count == 0 {
        return Err("the server has decoded no request yet: send to app".into());
    }
    let waits: Vec<String> = s
        .observe
        .recvs
        .iter()
        .filter_map(|r| match &r.decoder {
            Some(DecoderState::Waiting(need)) => Some(need.to_string()),
            _ => None,
        })
        .collect();
    match waits.first() {
        None => Err("the server got the request in one recv(): send it in segments".into()),
        Some(first) => Ok(format!(
            "the server's decoder waited after {} ({first} first), then had a whole request",
            counted(waits.len() as u64, "recv() call", "recv() calls")
        )),
    }
}

/// Lesson 4, your turn: the JSON header in 3 `recv()` calls or more.
pub fn server_header_pieces(e: &Evidence) -> Verdict {
    let s = playground(e)?;
    on(s, "app")?;
    let part = header_range(&sent_bytes(s)).ok_or("nothing sent yet")?;
    let ranges = server_ranges(s);
    if ranges.last().is_none_or(|r| r.end < part.end) {
        return Err(format!("{} has not all been read yet", header_words(&part)));
    }
    let n = pieces(ranges.into_iter(), &part);
    if n < 3 {
        return Err(format!(
            "{} came in {}; 3 or more needed: segments under a third of it, with a delay",
            header_words(&part),
            counted(n as u64, "recv() call", "recv() calls")
        ));
    }
    Ok(format!(
        "the server's recv() returned {} in {n} pieces",
        header_words(&part)
    ))
}

/// Lesson 5: a `send()` the kernel took less of.
pub fn short_send(e: &Evidence) -> Verdict {
    let s = playground(e)?;
    let w = s.observe.writes;
    if w.short == 0 {
        return Err(
            "no send() has come up short yet: flood blackhole and let the buffers fill".into(),
        );
    }
    Ok(format!(
        "the kernel took less than offered {} of the relay's send() calls; the relay wrote the rest later, as sendall() does",
        if w.short == 1 { "in one".to_owned() } else { format!("in at least {}", w.short) }
    ))
}

/// Lesson 5, your turn: the same with a message of 1,000 bytes or more.
pub fn short_send_big(e: &Evidence) -> Verdict {
    let s = playground(e)?;
    let len = s.composed.bytes.len();
    if len < 1000 {
        return Err(format!(
            "the message is {len} bytes; make it at least 1,000"
        ));
    }
    short_send(e).map(|seen| format!("{len}-byte messages: {seen}"))
}

fn recv_q(s: &State) -> u64 {
    s.observe.server.info.map_or(0, |i| i.recv_q)
}

/// Lesson 6: bytes sent and never read wait in the server's Recv-Q.
pub fn unread_in_recv_q(e: &Evidence) -> Verdict {
    let s = playground(e)?;
    let q = recv_q(s);
    if q == 0 {
        return Err("the server's Recv-Q is empty: send to blackhole, which never reads".into());
    }
    Ok(format!(
        "the server's Recv-Q holds {} of the {} bytes you sent, unread",
        group_digits(q),
        group_digits(s.session.sent as u64)
    ))
}

/// Lesson 6, your turn: 1,000 unread bytes without a flood.
pub fn recv_q_thousand(e: &Evidence) -> Verdict {
    let s = playground(e)?;
    if s.session.flood.is_some() {
        return Err("this session flooded: Close, then use Send only".into());
    }
    let q = recv_q(s);
    if q < 1000 {
        return Err(format!(
            "the server's Recv-Q holds {} bytes; 1,000 needed: Send again, or a bigger message",
            group_digits(q)
        ));
    }
    Ok(format!(
        "the server's Recv-Q holds {} bytes",
        group_digits(q)
    ))
}

/// Lesson 7: both queues past 100,000 bytes.
pub fn both_queues_full(e: &Evidence) -> Verdict {
    let s = playground(e)?;
    let (r, q) = (recv_q(s), s.observe.relay.info.map_or(0, |i| i.send_q));
    let words = format!(
        "the server's Recv-Q holds {} bytes and the relay's Send-Q {}",
        group_digits(r),
        group_digits(q)
    );
    if r < 100_000 || q < 100_000 {
        return Err(format!("{words}; both must pass 100,000: flood blackhole"));
    }
    Ok(format!("{words}: both full, so the relay's send() waits"))
}

/// Lesson 7, your turn: a server that reads keeps both queues empty.
pub fn echo_drained(e: &Evidence) -> Verdict {
    let s = playground(e)?;
    on(s, "echo")?;
    let read = s.observe.recv_bytes;
    if read == 0 || read < s.session.sent as u64 {
        return Err(format!(
            "echo has read {} of the {} bytes sent",
            group_digits(read),
            group_digits(s.session.sent as u64)
        ));
    }
    let (r, q) = (recv_q(s), s.observe.relay.info.map_or(0, |i| i.send_q));
    if r > 0 || q > 0 {
        return Err(format!(
            "echo's Recv-Q holds {} bytes and the relay's Send-Q {}",
            group_digits(r),
            group_digits(q)
        ));
    }
    Ok(format!(
        "echo read all {} bytes: its Recv-Q and the relay's Send-Q are at 0",
        group_digits(read)
    ))
}

fn echoed(m: ManyFacts, least: usize) -> Verdict {
    if m.connections < least {
        return Err(format!(
            "{} ran; {least} or more needed",
            counted(m.connections as u64, "connection", "connections")
        ));
    }
    if m.echoed < m.connections {
        return Err(format!(
            "{} of {} connections echoed whole so far",
            m.echoed, m.connections
        ));
    }
    Ok(format!(
        "{} connections, every one echoed whole by one thread in {}",
        m.connections,
        counted(m.iterations as u64, "loop iteration", "loop iterations")
    ))
}

/// Lesson 8: every connection echoed.
pub fn all_echoed(e: &Evidence) -> Verdict {
    echoed(many(e)?, 2)
}

/// Lesson 8, your turn: six connections or more, every one echoed.
pub fn six_echoed(e: &Evidence) -> Verdict {
    echoed(many(e)?, 6)
}

const STRATEGIES: [&str; 4] = ["fixed", "lines", "prefix", "close"];

/// Lesson 9: fixed, lines and prefix each cut a message.
pub fn three_cut(e: &Evidence) -> Verdict {
    let f = framing(e)?;
    let missing: Vec<&str> = (0..3)
        .filter(|&i| f.cuts[i] == 0)
        .map(|i| STRATEGIES[i])
        .collect();
    if !missing.is_empty() {
        return Err(format!("no message cut yet by {}", missing.join(", ")));
    }
    Ok(format!(
        "fixed cut {}, lines {}, prefix {}; close cuts only at the FIN",
        f.cuts[0], f.cuts[1], f.cuts[2]
    ))
}

/// Lesson 9, your turn: lines cuts one payload into two messages or more.
pub fn lines_cut_twice(e: &Evidence) -> Verdict {
    let n = framing(e)?.cuts[1];
    if n < 2 {
        return Err(format!(
            "lines cut {}; a newline inside the payload makes it cut two",
            counted(n as u64, "message", "messages")
        ));
    }
    Ok(format!("lines cut one payload into {n} messages"))
}

/// Lesson 10: the handshake, then the server's FIN.
pub fn handshake_and_fin(e: &Evidence) -> Verdict {
    let s = playground(e)?;
    let handshake = s.observe.lane.iter().find_map(|l| match &l.event {
        Observed::Connect { connect_us, .. } => Some(*connect_us),
        _ => None,
    });
    let Some(us) = handshake else {
        return Err("no connection made yet".into());
    };
    if !seen(s, |e| matches!(e, Observed::Eof)) {
        return Err("connected, but no FIN from the server yet".into());
    }
    Ok(format!(
        "connect() finished the handshake in {us} µs; the server's FIN arrived: the relay's recv() returned b''"
    ))
}

/// Lessons 10 and 12, your turn: a reset.
pub fn reset_seen(e: &Evidence) -> Verdict {
    let s = playground(e)?;
    on(s, "reset")?;
    if seen(s, |e| matches!(e, Observed::Reset))
        || close_reason(s) == Some(CloseReason::UpstreamReset)
    {
        return Ok(
            "the server's kernel sent RST: the relay's recv() failed with ECONNRESET".into(),
        );
    }
    Err("no reset yet: send a whole message, more than the server reads".into())
}

/// Lesson 11: half-closed, the server read b'', and the echo still came back.
pub fn half_close_echo(e: &Evidence) -> Verdict {
    let s = playground(e)?;
    on(s, "echo")?;
    if s.session.sent == 0 {
        return Err("nothing sent yet: Send first".into());
    }
    if !seen(s, |e| matches!(e, Observed::ShutdownWrite)) {
        return Err("not half-closed yet: press Half-close".into());
    }
    if !seen(s, |e| matches!(e, Observed::ServerRecv { len: 0, .. })) {
        return Err("the server's recv() has not returned b'' yet".into());
    }
    if s.inbound.bytes.len() < s.session.sent {
        return Err(format!(
            "{} of the {} bytes sent came back so far",
            s.inbound.bytes.len(),
            s.session.sent
        ));
    }
    Ok(format!(
        "after your FIN the server's recv() returned b'', and all {} bytes still came back",
        s.session.sent
    ))
}

/// Lesson 11, your turn: the until-EOF server cut at the FIN.
pub fn close_column_cut(e: &Evidence) -> Verdict {
    match framing(e)?.cuts[3] {
        0 => Err("close has cut nothing: it waits for your FIN (Half-close)".into()),
        n => Ok(format!(
            "close cut {} at your FIN",
            counted(n as u64, "message", "messages")
        )),
    }
}

/// Lesson 12: connection refused.
pub fn refused(e: &Evidence) -> Verdict {
    let s = playground(e)?;
    match close_reason(s) {
        Some(CloseReason::ConnectFailed {
            failure: ConnectFailure::Refused,
            address,
        }) => Ok(format!(
            "the relay's connect() to {address} failed: connection refused (ECONNREFUSED)"
        )),
        _ => Err("no refused connection yet: send to refused".into()),
    }
}

/// What the framing lab's checks read: messages each server cut, in
/// `protocol::framing::Strategy::ALL`'s order (fixed, lines, prefix, close).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FramingFacts {
    pub cuts: [usize; 4],
    /// The columns' session ids added up: changes with every send.
    pub key: u32,
}

/// What the Many connections checks read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ManyFacts {
    pub connections: usize,
    /// Connections whose bytes all came back.
    pub echoed: usize,
    /// Loop iterations that served one of them.
    pub iterations: usize,
    /// The run's number: changes with every start.
    pub key: u32,
}

/// What a check reads: the state of the tab it runs in.
#[derive(Debug, Clone, Copy)]
pub enum Evidence<'a> {
    Playground(&'a State),
    Framing(FramingFacts),
    Many(ManyFacts),
}

impl Evidence<'_> {
    /// Tells one session from the next, so that a check after **Set it up**
    /// waits for a new one.
    pub fn key(&self) -> u32 {
        match self {
            Evidence::Playground(s) => s.session.id,
            Evidence::Framing(f) => f.key,
            Evidence::Many(m) => m.key,
        }
    }
}
