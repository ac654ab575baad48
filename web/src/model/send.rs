//! How the frame goes out: where to (the target), in how many WebSocket
//! messages and how far apart.

use std::fmt;

use protocol::relay_api::TargetInfo;

use super::words::counted;

/// Most segments one send may cut a frame into: each is a WebSocket message
/// and a transcript line, and the page stays responsive up to about this many.
pub const MAX_SEGMENTS: usize = 2000;

/// Most bytes one flood offers: enough to fill a server's receive buffer
/// and the relay's send buffer on loopback (a few MiB each) and then the
/// browser's own buffer, small enough for any browser to hold.
pub const FLOOD_LIMIT: usize = 16 << 20;

/// Largest WebSocket message a flood sends (whole copies of the frame),
/// below the relay's `max_message_size` when that is smaller.
pub const FLOOD_MESSAGE: usize = 64 << 10;

/// Why a flood stopped offering bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FloodEnd {
    /// Still offering.
    Running,
    /// The next copy would pass [`FLOOD_LIMIT`].
    AtLimit,
    /// The user pressed Stop.
    Stopped,
    /// The socket closed under it.
    SocketClosed,
}

/// A flood's progress as the socket hook reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FloodProgress {
    /// Bytes handed to the WebSocket so far.
    pub offered: usize,
    pub messages: usize,
    /// `WebSocket.bufferedAmount`: bytes the browser holds, not yet sent.
    pub buffered: u32,
    pub end: FloodEnd,
}

impl FloodProgress {
    pub fn running(&self) -> bool {
        self.end == FloodEnd::Running
    }
}

/// How many bytes one flood message carries: whole copies of a `frame_len`
/// frame, at most [`FLOOD_MESSAGE`] and the relay's limit, at least one copy.
pub fn flood_message_len(frame_len: usize, max_message_size: Option<u64>) -> usize {
    if frame_len == 0 {
        return 0;
    }
    let cap = max_message_size.map_or(FLOOD_MESSAGE, |m| {
        FLOOD_MESSAGE.min(usize::try_from(m).unwrap_or(usize::MAX))
    });
    (cap / frame_len).max(1) * frame_len
}

/// How the message goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendOptions {
    /// Bytes per WebSocket message; 0 sends the frame whole.
    pub segment: usize,
    /// Pause between segments, in milliseconds.
    pub delay_ms: u32,
    /// The relay's largest WebSocket message (its `/limits`), once known: no
    /// segment is larger, whatever `segment` says. Not part of a link.
    pub max_message_size: Option<u64>,
}

impl Default for SendOptions {
    fn default() -> Self {
        SendOptions {
            segment: 0,
            delay_ms: 300,
            max_message_size: None,
        }
    }
}

/// A send refused because it would cut the frame into more than
/// [`MAX_SEGMENTS`] segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManySegments {
    pub count: usize,
}

impl fmt::Display for TooManySegments {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} segments is more than {MAX_SEGMENTS}: raise the segment size",
            self.count
        )
    }
}

impl SendOptions {
    /// Bytes per segment for a frame of `len` bytes: the chosen segment
    /// size (or the whole frame), never above [`max_message_size`](Self::max_message_size).
    /// TCP keeps no message boundaries, so the server reads the same bytes
    /// however they were cut.
    pub fn segment_len(&self, len: usize) -> usize {
        let chosen = if self.segment == 0 { len } else { self.segment };
        let cap = self
            .max_message_size
            .map_or(usize::MAX, |m| usize::try_from(m).unwrap_or(usize::MAX));
        chosen.min(cap).max(1)
    }

    /// How many segments a frame of `len` bytes goes out in.
    pub fn count(&self, len: usize) -> usize {
        len.div_ceil(self.segment_len(len))
    }

    /// The pause between two segments. It paces the segments the learner
    /// asked for; a whole frame (`segment` 0) that only the relay's message
    /// limit cuts goes out back to back: a 16 MiB file is 16 messages of
    /// 1 MiB, and a pause between them would only make it slow.
    pub fn pause_ms(&self) -> u32 {
        if self.segment == 0 {
            0
        } else {
            self.delay_ms
        }
    }

    /// What the picker says about how a frame of `len` bytes goes out.
    pub fn describe(&self, len: usize) -> String {
        let n = self.count(len);
        let messages = counted(n as u64, "WebSocket message", "WebSocket messages");
        let pace = match (n, self.pause_ms()) {
            (0 | 1, _) => String::new(),
            (_, 0) if self.segment == 0 => format!(
                ", back to back: the relay takes at most {} bytes in one message",
                self.segment_len(len)
            ),
            (_, 0) => ", back to back".into(),
            (_, ms) => format!(", {ms} ms apart"),
        };
        format!("{len} bytes go out as {messages}{pace}; the relay writes each to TCP as it comes.")
    }

    /// The frame cut into the segments to send, unless that makes too many;
    /// both the socket and "decode here" go through this one check.
    pub fn cut(&self, bytes: &[u8]) -> Result<Vec<Vec<u8>>, TooManySegments> {
        let count = self.count(bytes.len());
        if count > MAX_SEGMENTS {
            return Err(TooManySegments { count });
        }
        let size = self.segment_len(bytes.len());
        Ok(bytes.chunks(size).map(<[u8]>::to_vec).collect())
    }
}

/// Choices about where and how to send, and the relay's target list.
#[derive(Debug, Clone, PartialEq)]
pub enum SendAction {
    TargetsLoaded(Result<Vec<TargetInfo>, String>),
    SelectTarget(String),
    SetSegment(usize),
    SetDelay(u32),
    /// The relay's `GET /limits`, if it answered.
    LimitsLoaded(Option<protocol::relay_api::Limits>),
    /// Feeds the composed bytes to the decoder here, in the send segments.
    DecodeLocally,
    /// A send of this many segments was handed to the socket.
    Started {
        segments: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn segments_cut_the_frame() {
        let opts = SendOptions {
            segment: 50,
            delay_ms: 0,
            max_message_size: None,
        };
        let segs = opts.cut(&[0; 143]).unwrap();
        assert_eq!(segs.iter().map(Vec::len).collect::<Vec<_>>(), [50, 50, 43]);
        assert_eq!(SendOptions::default().cut(&[0; 143]).unwrap().len(), 1);
        assert_eq!(SendOptions::default().cut(&[]).unwrap().len(), 0);
    }

    #[test]
    fn no_segment_is_larger_than_the_relays_limit() {
        let limited = SendOptions {
            max_message_size: Some(100),
            ..SendOptions::default()
        };
        let whole = limited.cut(&[0; 250]).unwrap();
        assert_eq!(
            whole.iter().map(Vec::len).collect::<Vec<_>>(),
            [100, 100, 50]
        );
        let opts = SendOptions {
            segment: 40,
            ..limited
        };
        assert_eq!(opts.count(250), 7, "a smaller chosen size stays");
    }

    #[test]
    fn the_pause_paces_chosen_segments_not_a_whole_frame_the_relays_limit_cuts() {
        let whole = SendOptions {
            max_message_size: Some(100),
            ..SendOptions::default()
        };
        assert_eq!(whole.count(250), 3);
        assert_eq!(whole.pause_ms(), 0);
        let chosen = SendOptions {
            segment: 40,
            ..whole
        };
        assert_eq!(chosen.pause_ms(), SendOptions::default().delay_ms);
    }

    #[test]
    fn the_picker_says_how_many_messages_and_how_far_apart() {
        let whole = SendOptions::default();
        assert_eq!(
            whole.describe(143),
            "143 bytes go out as 1 WebSocket message; the relay writes each to TCP as it comes."
        );
        let limited = SendOptions {
            max_message_size: Some(100),
            ..whole
        };
        assert_eq!(
            limited.describe(250),
            "250 bytes go out as 3 WebSocket messages, back to back: the relay takes at most \
             100 bytes in one message; the relay writes each to TCP as it comes."
        );
        let chosen = SendOptions {
            segment: 50,
            ..whole
        };
        assert!(chosen
            .describe(143)
            .starts_with("143 bytes go out as 3 WebSocket messages, 300 ms apart;"));
        let unpaced = SendOptions {
            delay_ms: 0,
            ..chosen
        };
        assert!(unpaced
            .describe(143)
            .starts_with("143 bytes go out as 3 WebSocket messages, back to back;"));
    }

    #[test]
    fn a_flood_message_is_whole_frames_within_the_relays_limit() {
        assert_eq!(flood_message_len(143, None), 458 * 143);
        assert_eq!(flood_message_len(143, Some(1000)), 6 * 143);
        assert_eq!(flood_message_len(143, Some(100)), 143);
        assert_eq!(flood_message_len(0, None), 0);
    }

    #[test]
    fn too_many_segments_are_refused() {
        let opts = SendOptions {
            segment: 1,
            delay_ms: 0,
            max_message_size: None,
        };
        assert_eq!(opts.cut(&[0; MAX_SEGMENTS]).unwrap().len(), MAX_SEGMENTS);
        let refused = opts.cut(&[0; MAX_SEGMENTS + 1]).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "2001 segments is more than 2000: raise the segment size"
        );
    }
}
