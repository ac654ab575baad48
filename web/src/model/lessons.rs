//! The lessons: a path through the tutorial, twelve steps, each a text, a
//! setup (message, target, segments, delay, tab) and two checks over what
//! the page observed ([`super::lesson_checks`]). A lesson holds no data of
//! its own: its checks read the same session the panels show.
//!
//! Progress is two bit sets (the lesson's own check, its "Your turn"),
//! kept by the page in `localStorage` as [`Progress::to_text`] writes it.

use super::lesson_checks as check;
pub use super::lesson_checks::{Evidence, FramingFacts, ManyFacts};

/// Where a lesson is done: the page's tabs that have sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Playground,
    Framing,
    Many,
}

impl Place {
    /// The tab's label, as the tab bar shows it.
    pub fn label(self) -> &'static str {
        match self {
            Place::Playground => "Playground",
            Place::Framing => "Framing",
            Place::Many => "Many connections",
        }
    }
}

/// What **Set it up** puts in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// A preset message (`model::presets`), a target, segment size and delay.
    Playground {
        preset: &'static str,
        target: &'static str,
        segment: usize,
        delay_ms: u32,
    },
    /// The framing lab's payload, segment size and delay.
    Framing {
        payload: &'static str,
        segment: usize,
        delay_ms: u32,
    },
    /// Many connections: how many.
    Many { connections: usize },
}

impl Setup {
    pub fn place(self) -> Place {
        match self {
            Setup::Playground { .. } => Place::Playground,
            Setup::Framing { .. } => Place::Framing,
            Setup::Many { .. } => Place::Many,
        }
    }
}

impl Evidence<'_> {
    /// The tab it comes from.
    pub fn place(&self) -> Place {
        match self {
            Evidence::Playground(_) => Place::Playground,
            Evidence::Framing(_) => Place::Framing,
            Evidence::Many(_) => Place::Many,
        }
    }
}

/// A check: `Ok(what was seen)` or `Err(what is missing)`.
pub type Check = fn(&Evidence) -> Result<String, String>;

/// One lesson.
#[derive(Debug, Clone, Copy)]
pub struct Lesson {
    pub title: &'static str,
    /// The tutorial's section it comes from (`/work/shared/seeds`' titles).
    pub section: &'static str,
    /// One paragraph in the page's own words.
    pub text: &'static str,
    pub setup: Setup,
    /// What to press once set up.
    pub action: &'static str,
    pub check: Check,
    /// The variation the learner makes.
    pub turn: &'static str,
    pub turn_check: Check,
}

const GUIDE: &str = "Socket Programming in Python (Guide)";

/// Shorthand for a playground setup.
const fn play(preset: &'static str, target: &'static str, segment: usize, delay_ms: u32) -> Setup {
    Setup::Playground {
        preset,
        target,
        segment,
        delay_ms,
    }
}

/// The twelve lessons, in the tutorial's order.
pub const LESSONS: [Lesson; 12] = [
    Lesson {
        title: "The message format",
        section: "Application Protocol Header",
        text: "Every message is three parts: a 2-byte big-endian length prefix, a JSON header of that many bytes (byteorder, content-type, content-encoding, content-length), then content-length bytes of content. The prefix says where the header ends; the header says where the content ends. 3 · The bytes colours each part.",
        setup: play("morpheus", "app", 0, 0),
        action: "Press Send: the app server decodes your request and answers.",
        check: check::request_and_reply,
        turn: "Break the format: send the app server a message its decoder must reject (try the preset \"header not JSON\") and read its reason in the Server panel.",
        turn_check: check::server_rejected,
    },
    Lesson {
        title: "TCP is a byte stream: recv() returns chunks, not messages",
        section: "Handling Multiple Connections",
        text: "recv(1024) returns what has arrived, at most 1024 bytes: maybe one byte, maybe the end of one message and the start of the next. TCP keeps every byte, in order, but no message boundaries. Set up, the page sends the request in 10-byte pieces 50 ms apart, and the server's recv() returns them as they come.",
        setup: play("morpheus", "app", 10, 50),
        action: "Press Send and watch the Server panel's recv() rows.",
        check: check::request_in_pieces,
        turn: "The way back is a stream too: send to echo in 5-byte segments, 50 ms apart, so that the page's own recv() (one row per chunk in 5 · Decode) gets the echo in at least 3 chunks.",
        turn_check: check::echo_in_chunks,
    },
    Lesson {
        title: "The client's decoder, chunk by chunk",
        section: "Client Message Class",
        text: "The tutorial's client appends what recv() returns to a buffer and tries three steps in turn: process_protoheader() once 2 bytes are in, process_jsonheader() once the header is, process_response() once content-length bytes are; until then it waits for more. echo sends your request back in the pieces it read, so the page's decoder gets it in pieces too.",
        setup: play("morpheus", "echo", 60, 100),
        action: "Press Send and read 5 · Decode, chunk by chunk.",
        check: check::client_waited,
        turn: "Make the JSON header itself reach the page in at least three chunks.",
        turn_check: check::client_header_pieces,
    },
    Lesson {
        title: "The server's recv() calls and its decoder",
        section: "Server Message Class",
        text: "The server does the same with what its recv() returns: _read() appends to a buffer, then process_protoheader(), process_jsonheader() and process_request() run, each once its bytes are in. The Server panel shows each recv() and what the decoder waits for after it.",
        setup: play("morpheus", "app", 60, 100),
        action: "Press Send and read the Server panel.",
        check: check::server_waited,
        turn: "Make the server's recv() return the JSON header in at least three pieces.",
        turn_check: check::server_header_pieces,
    },
    Lesson {
        title: "send() may take less: why sendall() loops",
        section: "Handling Multiple Connections",
        text: "send() returns how many bytes the kernel took, fewer than offered when the socket's send buffer is full; sendall() calls send() until all are taken. The relay writes to the server the same way. blackhole never reads, so a flood fills the buffers until a send() comes up short, and the relay waits and writes the rest, as sendall() would.",
        setup: play("morpheus", "blackhole", 0, 0),
        action: "Press Flood (not Send) and watch for a short send().",
        check: check::short_send,
        turn: "Any message fills them: compose one of your own of at least 1,000 bytes (Custom content) and flood blackhole with it until a send() comes up short again.",
        turn_check: check::short_send_big,
    },
    Lesson {
        title: "The kernel's queues: Recv-Q and Send-Q",
        section: "Viewing Socket State",
        text: "The kernel keeps two queues per socket. Recv-Q: bytes that arrived and the program has not yet read with recv(). Send-Q: bytes the program sent that the peer has not yet acknowledged. blackhole accepts and never calls recv(), so what you send waits in its Recv-Q, as the socket table (netstat -an) shows.",
        setup: play("morpheus", "blackhole", 0, 0),
        action: "Press Send and read the socket table.",
        check: check::unread_in_recv_q,
        turn: "Without Flood, make the server's Recv-Q hold at least 1,000 bytes: Send again and again, or a bigger message.",
        turn_check: check::recv_q_thousand,
    },
    Lesson {
        title: "A server that never reads: buffers fill, the sender blocks",
        section: "Troubleshooting",
        text: "The tutorial's app-server-test.py never reads. A client that keeps sending fills the server's Recv-Q, then its own Send-Q, and then send() blocks (a non-blocking socket raises BlockingIOError instead). Flood blackhole and watch both queues fill while the flood stalls.",
        setup: play("morpheus", "blackhole", 0, 0),
        action: "Press Flood and read the socket table.",
        check: check::both_queues_full,
        turn: "Now a server that reads: Send the message to echo. Its recv() takes the bytes out of the Recv-Q as they come, so both queues are back at 0 at once.",
        turn_check: check::echo_drained,
    },
    Lesson {
        title: "Many connections, one select() loop",
        section: "Multi-Connection Server",
        text: "The multi-connection server runs one thread. sel.select() returns the sockets that are ready; the loop accepts, reads or writes each in turn and calls select() again. No call blocks, so one thread serves every connection.",
        setup: Setup::Many { connections: 2 },
        action: "Press Open and send.",
        check: check::all_echoed,
        turn: "Run it with 6 connections or more: one thread still echoes every one.",
        turn_check: check::six_echoed,
    },
    Lesson {
        title: "Four ways to find a message's end",
        section: "Python Socket HOWTO: Using a Socket",
        text: "A receiver needs a rule for where a message ends: a fixed length, a delimiter, a length prefix, or the end of the stream (the sender's shutdown). The Framing tab sends one payload the four ways, to four servers that each cut by their rule.",
        setup: Setup::Framing {
            payload: "Hello, world",
            segment: 4,
            delay_ms: 200,
        },
        action: "Press Send the four ways.",
        check: check::three_cut,
        turn: "Make the delimiter rule fail: a payload with a newline inside, which lines cuts into two messages.",
        turn_check: check::lines_cut_twice,
    },
    Lesson {
        title: "The connection on the wire: SYN, FIN, RST, Wireshark",
        section: "Wireshark",
        text: "Under connect() is TCP's handshake (SYN, SYN-ACK, ACK); under close() a FIN each way; an RST ends a connection at once. The Session diagram draws these calls as the relay saw them; the session can be saved as .pcapng for Wireshark.",
        setup: play("morpheus", "app", 0, 0),
        action: "Press Send: the app server answers and closes, and its FIN reaches the relay.",
        check: check::handshake_and_fin,
        turn: "End a connection with RST instead: send to reset, a server that closes with unread data.",
        turn_check: check::reset_seen,
    },
    Lesson {
        title: "Half-close: shutdown(SHUT_WR) and recv() returns b''",
        section: "Python Sockets Example: Disconnecting",
        text: "shutdown(SHUT_WR) sends a FIN: nothing more will come from this side, yet it can still receive. The peer's recv() returns b'' after the last byte, and the peer can still answer. Half-close makes the relay do exactly this.",
        setup: play("morpheus", "echo", 0, 0),
        action: "Press Send, then Half-close.",
        check: check::half_close_echo,
        turn: "The framing lab's close server knows a message has ended only by the FIN: in the Framing tab, Send the four ways, then Half-close the close column.",
        turn_check: check::close_column_cut,
    },
    Lesson {
        title: "Errors: refused, reset, timed out, malformed",
        section: "Errors",
        text: "ConnectionRefusedError (ECONNREFUSED): nothing listens at the port, the kernel answers the SYN with RST. ConnectionResetError (ECONNRESET): the peer's kernel reset an open connection, as reset does by closing with unread data. TimeoutError (ETIMEDOUT): no answer at all. A malformed message is the program's own error (lesson 1).",
        setup: play("morpheus", "refused", 0, 0),
        action: "Press Send: the relay's connect() to refused fails.",
        check: check::refused,
        turn: "Get the other error: send to reset, so that a recv() fails with ECONNRESET.",
        turn_check: check::reset_seen,
    },
];

/// The guide's title before a section named without a source.
pub fn source(section: &str) -> String {
    if section.contains(':') {
        section.to_owned()
    } else {
        format!("{GUIDE}: {section}")
    }
}

/// Which parts of which lessons passed: bit `n` is lesson `n + 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    pub checked: u32,
    pub turned: u32,
}

impl Progress {
    /// `checked.turned`, two bit sets in decimal: what `localStorage` keeps.
    pub fn to_text(self) -> String {
        format!("{}.{}", self.checked, self.turned)
    }

    /// [`Progress::to_text`] read back; anything else is no progress.
    pub fn from_text(text: &str) -> Progress {
        let mask = (1u32 << LESSONS.len()) - 1;
        let mut parts = text.split('.').map(|p| p.parse::<u32>().ok());
        match (parts.next().flatten(), parts.next().flatten(), parts.next()) {
            (Some(checked), Some(turned), None) => Progress {
                checked: checked & mask,
                turned: turned & mask,
            },
            _ => Progress::default(),
        }
    }

    /// Records a pass of lesson `index`'s check (or its turn).
    pub fn pass(&mut self, index: usize, turn: bool) {
        let bit = 1u32 << index;
        if turn {
            self.turned |= bit;
        } else {
            self.checked |= bit;
        }
    }

    /// Whether both parts of lesson `index` passed.
    pub fn done(self, index: usize) -> bool {
        let bit = 1u32 << index;
        self.checked & bit != 0 && self.turned & bit != 0
    }
}

/// `lesson=N` (1-based) from a URL hash, as the lessons' links write it.
pub fn lesson_from_hash(hash: &str) -> Option<usize> {
    let n: usize = hash
        .strip_prefix('#')
        .unwrap_or(hash)
        .strip_prefix("lesson=")?
        .parse()
        .ok()?;
    (1..=LESSONS.len()).contains(&n).then(|| n - 1)
}

/// A check's verdict for what is on screen: before a new session since
/// **Set it up** (`baseline`: the set-up tab and its [`Evidence::key`] then),
/// nothing is judged.
pub fn verdict(
    check: Check,
    evidence: &Evidence,
    baseline: Option<(Place, u32)>,
) -> Result<String, String> {
    if baseline == Some((evidence.place(), evidence.key())) {
        return Err("nothing sent since Set it up".into());
    }
    check(evidence)
}
