//! `tokio_util::codec` over the same decoder and encoder, for native programs
//! that read with `FramedRead` and write with `FramedWrite`.

use bytes::BytesMut;

use crate::decode::{DecodeError, Decoded, Decoder, DecoderConfig, Event};
use crate::encode::encode_into;
use crate::model::{EncodeError, Message};

/// Frames messages on a byte stream. Decoding yields whole messages; the
/// intermediate stages are the [`Decoder`]'s business.
pub struct MessageCodec {
    decoder: Decoder,
}

impl MessageCodec {
    /// A codec whose decoder has `config`; servers turn the layout off.
    pub fn new(config: DecoderConfig) -> Self {
        MessageCodec {
            decoder: Decoder::new(config),
        }
    }

    /// The decoder, to ask what a half-read frame still needs.
    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }
}

impl Default for MessageCodec {
    fn default() -> Self {
        MessageCodec::new(DecoderConfig::default())
    }
}

/// An I/O error, or a frame that could not be decoded or encoded.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// Reading or writing the stream failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The bytes read are not a valid frame; final for the connection.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A message to send could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

impl tokio_util::codec::Decoder for MessageCodec {
    type Item = Decoded;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Decoded>, CodecError> {
        while let Some(event) = self.decoder.decode_from(src)? {
            if let Event::Message(decoded) = event {
                return Ok(Some(decoded));
            }
        }
        Ok(None)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Decoded>, CodecError> {
        match self.decode(src)? {
            Some(decoded) => Ok(Some(decoded)),
            None => {
                self.decoder.finish_with(src.len())?;
                Ok(None)
            }
        }
    }
}

impl tokio_util::codec::Encoder<&Message> for MessageCodec {
    type Error = CodecError;

    fn encode(&mut self, message: &Message, dst: &mut BytesMut) -> Result<(), CodecError> {
        let mut out = Vec::new();
        encode_into(message, &mut out)?;
        dst.extend_from_slice(&out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::request;
    use crate::decode::{Need, Part};
    use tokio_util::codec::{Decoder as _, Encoder as _};

    #[test]
    fn frames_round_trip_through_the_codec() {
        let mut codec = MessageCodec::default();
        let mut buf = BytesMut::new();
        let message = request("search", "ring");
        codec.encode(&message, &mut buf).unwrap();
        codec.encode(&message, &mut buf).unwrap();
        let first = codec.decode(&mut buf).unwrap().unwrap();
        assert_eq!(first.message, message);
        let second = codec.decode_eof(&mut buf).unwrap().unwrap();
        assert_eq!(second.frame_start, first.frame_len as u64);
        assert!(buf.is_empty());
        assert!(codec.decode_eof(&mut buf).unwrap().is_none());
    }

    #[test]
    fn eof_inside_a_frame_is_truncation() {
        let mut codec = MessageCodec::default();
        let mut buf = BytesMut::from(&b"\x00"[..]);
        assert!(codec.decode(&mut buf).unwrap().is_none());
        match codec.decode_eof(&mut buf) {
            Err(CodecError::Decode(DecodeError::Truncated(need))) => assert_eq!(
                need,
                Need {
                    part: Part::LengthPrefix,
                    have: 1,
                    need: 2
                }
            ),
            other => panic!("{other:?}"),
        }
    }
}
