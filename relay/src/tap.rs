//! `--tap`: decodes the protocol frames crossing a session with the protocol
//! crate's [`Decoder`] and logs each one as a Python bytes literal, the way
//! the tutorial prints what a socket sent.
//!
//! One [`Tap`] watches one direction of one session. Bytes that are not the
//! tutorial's protocol (the echo target carries anything) end the tap for
//! that direction with one warning; the bytes still flow.

use bytes::BytesMut;
use protocol::python::python_bytes_repr;
use protocol::{app, Decoder, DecoderConfig, Event};

/// One direction of one session.
pub struct Tap {
    /// `"browser → app"` or `"app → browser"`.
    direction: String,
    decoder: Decoder,
    /// Bytes of the frame being read, kept to log the whole frame.
    frame: BytesMut,
    pending: BytesMut,
    stopped: bool,
}

impl Tap {
    pub fn new(direction: String, max_content_length: u64) -> Self {
        Tap {
            direction,
            decoder: Decoder::new(DecoderConfig {
                max_content_length,
                layout: false,
            }),
            frame: BytesMut::new(),
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

    /// The log lines for the frames `chunk` completes.
    pub fn frames(&mut self, chunk: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        if self.stopped {
            return lines;
        }
        self.pending.extend_from_slice(chunk);
        self.frame.extend_from_slice(chunk);
        loop {
            match self.decoder.decode_from(&mut self.pending) {
                Ok(Some(Event::Message(decoded))) => {
                    let bytes = self.frame.split_to(decoded.frame_len);
                    lines.push(format!(
                        "tap {}: {} {}",
                        self.direction,
                        app::describe(&decoded.message, "message"),
                        python_bytes_repr(&bytes)
                    ));
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => {
                    lines.push(format!(
                        "tap {}: not the tutorial's protocol, tap off for this direction: {e}",
                        self.direction
                    ));
                    self.stopped = true;
                    self.frame = BytesMut::new();
                    self.pending = BytesMut::new();
                    break;
                }
            }
        }
        lines
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

    #[test]
    fn bytes_that_are_not_frames_turn_the_tap_off() {
        let mut tap = Tap::new("echo → browser".into(), 1 << 20);
        let lines = tap.frames(b"\x00\x03abc");
        assert_eq!(lines.len(), 1);
        assert!(lines[0].contains("tap off"), "{}", lines[0]);
        assert!(tap.frames(b"more").is_empty());
    }
}
