//! `--tap`: decodes the protocol frames crossing a session with the protocol
//! crate's [`Decoder`] and logs each one as a Python bytes literal, the way
//! the tutorial prints what a socket sent.
//!
//! One [`Tap`] watches one direction of one session. Bytes that are not the
//! tutorial's protocol (the echo target carries anything) end the tap for
//! that direction with one warning; the bytes still flow.

use bytes::{Buf, BytesMut};
use protocol::python::python_bytes_repr;
use protocol::{app, Decoder, DecoderConfig, Event};

/// Content above this is counted, not decoded: held for decoding, a large
/// message would cost the session its size once more per direction.
pub const TAP_MAX_CONTENT: u64 = 16 * 1024;

/// What a tap keeps allocated between reads at most, beyond what it
/// holds of an unfinished frame.
pub const TAP_IDLE_BYTES: usize = 4 * 1024;

/// Bytes of a frame shown in its log line; longer frames end "… (N bytes)".
pub const TAP_LOG_BYTES: usize = 256;

/// One direction of one session. Holds at most one JSON header (64 KiB by
/// the 2-byte prefix) or [`TAP_MAX_CONTENT`] bytes of content, plus
/// [`TAP_LOG_BYTES`] for the log line, and a read's chunk while it decodes
/// it; between reads no more than it keeps of an unfinished frame and
/// [`TAP_IDLE_BYTES`] (whatever size a message declared), all counted in
/// the relay's held bytes.
pub struct Tap {
    /// `"browser → app"` or `"app → browser"`.
    direction: String,
    config: DecoderConfig,
    decoder: Decoder,
    /// The first bytes of the frame being read, for its log line.
    head: Vec<u8>,
    /// Bytes of the frame being read so far.
    seen: usize,
    /// Content bytes still to pass uncounted (a message above [`TAP_MAX_CONTENT`]).
    skip: u64,
    pending: BytesMut,
    stopped: bool,
}

impl Tap {
    /// A tap whose decoder refuses content above `max_content_length` (the
    /// relay's message limit) like the app server would.
    pub fn new(direction: String, max_content_length: u64) -> Self {
        let config = DecoderConfig {
            max_content_length,
            layout: false,
        };
        Tap {
            direction,
            decoder: Decoder::new(config),
            config,
            head: Vec::new(),
            seen: 0,
            skip: 0,
            pending: BytesMut::new(),
            stopped: false,
        }
    }

    /// Feeds bytes that crossed the relay; logs each frame they complete.
    pub fn observe(&mut self, chunk: &[u8]) {
        for line in self.frames(chunk) {
            tracing::info!("{line}");
        }
    }

    /// Bytes the tap holds now, as allocated (its bound is in the type's
    /// docs); the bridge counts them in the relay's held bytes.
    pub fn held(&self) -> usize {
        self.pending.capacity() + self.head.capacity()
    }

    /// Gives back what a large chunk or the decoder's reservation for a
    /// declared content length grew the buffer to, keeping only what is
    /// pending: an idle tap holds next to nothing.
    fn shrink(&mut self) {
        if self.pending.capacity() > TAP_IDLE_BYTES.max(2 * self.pending.len()) {
            self.pending = BytesMut::from(&self.pending[..]);
        }
    }

    /// The log lines for the frames `chunk` completes.
    pub fn frames(&mut self, chunk: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        if self.stopped {
            return lines;
        }
        self.pending.extend_from_slice(chunk);
        loop {
            if self.skip > 0 {
                let n = (self.skip as usize).min(self.pending.len());
                self.keep(n);
                self.pending.advance(n);
                self.skip -= n as u64;
                if self.skip > 0 {
                    break;
                }
                lines.push(format!(
                    "tap {}: a message with more than {TAP_MAX_CONTENT} bytes of content, not decoded {}",
                    self.direction,
                    self.shown()
                ));
                self.decoder = Decoder::new(self.config);
                self.next_frame();
                continue;
            }
            let before = self.pending.len();
            let room = TAP_LOG_BYTES.saturating_sub(self.head.len()).min(before);
            let start = self.pending[..room].to_vec();
            let result = self.decoder.decode_from(&mut self.pending);
            let consumed = before - self.pending.len();
            self.head.extend_from_slice(&start[..consumed.min(room)]);
            self.seen += consumed;
            match result {
                Ok(Some(Event::Message(decoded))) => {
                    lines.push(format!(
                        "tap {}: {} {}",
                        self.direction,
                        app::describe(&decoded.message, "message"),
                        self.shown()
                    ));
                    self.next_frame();
                }
                Ok(Some(Event::Header { content_length, .. }))
                    if content_length > TAP_MAX_CONTENT =>
                {
                    // The decoder reserved room for the content the tap
                    // only counts: not held.
                    self.skip = content_length;
                    self.shrink();
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => {
                    lines.push(format!(
                        "tap {}: not the tutorial's protocol, tap off for this direction: {e}",
                        self.direction
                    ));
                    self.stopped = true;
                    self.head = Vec::new();
                    self.pending = BytesMut::new();
                    break;
                }
            }
        }
        self.shrink();
        lines
    }

    /// Notes `n` bytes of the frame from the front of `pending`.
    fn keep(&mut self, n: usize) {
        let room = TAP_LOG_BYTES.saturating_sub(self.head.len()).min(n);
        self.head.extend_from_slice(&self.pending[..room]);
        self.seen += n;
    }

    /// The frame as a Python bytes literal, cut after [`TAP_LOG_BYTES`].
    fn shown(&self) -> String {
        let repr = python_bytes_repr(&self.head);
        if self.seen > self.head.len() {
            format!("{repr}… ({} bytes)", self.seen)
        } else {
            repr
        }
    }

    fn next_frame(&mut self) {
        self.head.clear();
        self.seen = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_split_over_chunks_is_logged_once_whole() {
        let frame = protocol::encode(&app::request("search", "ring"))
            .unwrap()
            .bytes;
        let mut tap = Tap::new("browser → app".into(), 1 << 20);
        let mut lines = Vec::new();
        for byte in frame.iter() {
            lines.extend(tap.frames(std::slice::from_ref(byte)));
        }
        assert_eq!(lines.len(), 1);
        assert!(
            lines[0].starts_with(
                "tap browser → app: message {'action': 'search', 'value': 'ring'} b'\\x00"
            ),
            "{}",
            lines[0]
        );
        assert!(lines[0].ends_with(&python_bytes_repr(&frame)));
    }

    /// Issue 23: the decoder reserved the declared 1 MiB and the tap kept
    /// it (2,160 KiB per idle session), while `held` counted only lengths.
    #[test]
    fn after_a_large_frame_an_idle_tap_holds_next_to_nothing_and_counts_what_it_holds() {
        let frame = protocol::encode(&app::request("search", &"x".repeat(1 << 20)))
            .unwrap()
            .bytes;
        let mut tap = Tap::new("browser → app".into(), 2 << 20);
        let mut most = 0;
        for chunk in frame.chunks(64 * 1024) {
            tap.frames(chunk);
            assert!(tap.held() >= tap.pending.capacity() + tap.head.capacity());
            most = most.max(tap.held());
        }
        assert!(most <= 64 * 1024 + 16 * 1024 + 4096, "held {most} bytes");
        assert!(
            tap.held() <= TAP_IDLE_BYTES + TAP_LOG_BYTES,
            "idle: {}",
            tap.held()
        );
    }

    #[test]
    fn bytes_that_are_not_frames_turn_the_tap_off() {
        let mut tap = Tap::new("echo → browser".into(), 1 << 20);
        let lines = tap.frames(b"\x00\x03abc");
        assert_eq!(lines.len(), 1);
        assert!(lines[0].contains("tap off"), "{}", lines[0]);
        assert!(tap.frames(b"more").is_empty());
    }

    #[test]
    fn a_large_message_split_in_chunks_is_counted_not_held() {
        let content = "x".repeat(1 << 20);
        let message = app::request("search", &content);
        let frame = protocol::encode(&message).unwrap().bytes;
        let small = protocol::encode(&app::request("search", "ring"))
            .unwrap()
            .bytes;
        let mut stream = frame.to_vec();
        stream.extend_from_slice(&small);
        let mut tap = Tap::new("browser → app".into(), 2 << 20);
        let mut lines = Vec::new();
        let mut most = 0;
        for chunk in stream.chunks(16 * 1024) {
            lines.extend(tap.frames(chunk));
            most = most.max(tap.held());
        }
        assert!(most <= 2 * 16 * 1024 + TAP_LOG_BYTES, "held {most} bytes");
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[0].ends_with(&format!("… ({} bytes)", frame.len())),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].ends_with(&python_bytes_repr(&small)),
            "{}",
            lines[1]
        );
    }
}
