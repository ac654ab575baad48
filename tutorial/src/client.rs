//! The tutorial's application client as library code: connect, send
//! requests, read replies through `protocol`'s decoder, logging the
//! tutorial's lines (`Starting connection to …`, `Sending b'…' to …`,
//! `Received response {…} from …`).

use std::time::Duration;

use bytes::BytesMut;
use protocol::app::describe;
use protocol::codec::{CodecError, MessageCodec};
use protocol::python::python_bytes_repr;
use protocol::{encode_into, DecodeError, DecoderConfig, EncodeError, Message, Need};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::codec::Decoder as _;
use tracing::info;

use crate::servers::net::{py_host_port, resolve};

/// How long the clients wait by default (`--timeout`) for a connection, a
/// reply or an echo.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a conversation with the server failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to {server}: {source}")]
    Connect {
        server: String,
        source: std::io::Error,
    },
    #[error("no connection to {server} within {timeout:?}")]
    ConnectTimeout { server: String, timeout: Duration },
    #[error("no complete reply from {server} within {timeout:?} ({need})")]
    ReplyTimeout {
        server: String,
        timeout: Duration,
        need: Need,
    },
    #[error("{server} closed the connection before the reply was complete ({need})")]
    Closed { server: String, need: Need },
    #[error("malformed reply from {server}: {source}")]
    Malformed { server: String, source: DecodeError },
    #[error("cannot encode the request: {0}")]
    Encode(#[from] EncodeError),
    #[error("connection to {server} failed: {source}")]
    Io {
        server: String,
        source: std::io::Error,
    },
}

/// One connection to an application server.
pub struct AppConnection {
    stream: TcpStream,
    /// `(host, port)` as given, the way the tutorial's client prints it.
    server: String,
    codec: MessageCodec,
    buf: BytesMut,
    out: Vec<u8>,
    timeout: Duration,
}

impl AppConnection {
    /// Connects to `host`:`port`; `timeout` bounds the connect and every
    /// later wait for a reply.
    pub async fn connect(host: &str, port: u16, timeout: Duration) -> Result<Self, ClientError> {
        let server = py_host_port(host, port);
        info!("Starting connection to {server}");
        let addr = resolve(host, port).map_err(|source| ClientError::Connect {
            server: server.clone(),
            source,
        })?;
        let stream = match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(source)) => return Err(ClientError::Connect { server, source }),
            Err(_) => return Err(ClientError::ConnectTimeout { server, timeout }),
        };
        // Requests are single writes and the reply is awaited: no reason to
        // let Nagle hold back the next request on a kept-alive connection.
        let _ = stream.set_nodelay(true);
        Ok(AppConnection {
            stream,
            server,
            codec: MessageCodec::new(DecoderConfig {
                layout: false,
                ..DecoderConfig::default()
            }),
            buf: BytesMut::with_capacity(1024),
            out: Vec::with_capacity(256),
            timeout,
        })
    }

    /// `(host, port)` of the server, as printed.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Sends one request.
    pub async fn send(&mut self, request: &Message) -> Result<(), ClientError> {
        self.out.clear();
        encode_into(request, &mut self.out)?;
        info!(
            "Sending {} to {}",
            python_bytes_repr(&self.out),
            self.server
        );
        self.stream
            .write_all(&self.out)
            .await
            .map_err(|source| ClientError::Io {
                server: self.server.clone(),
                source,
            })
    }

    /// Reads the next reply.
    pub async fn receive(&mut self) -> Result<Message, ClientError> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        loop {
            match self.codec.decode(&mut self.buf) {
                Ok(Some(decoded)) => {
                    let reply = decoded.message;
                    info!(
                        "Received {} from {}",
                        describe(&reply, "response"),
                        self.server
                    );
                    return Ok(reply);
                }
                Ok(None) => {}
                Err(e) => return Err(self.codec_error(e)),
            }
            let read = tokio::time::timeout_at(deadline, self.stream.read_buf(&mut self.buf)).await;
            match read {
                Err(_) => {
                    return Err(ClientError::ReplyTimeout {
                        server: self.server.clone(),
                        timeout: self.timeout,
                        need: self.need(),
                    })
                }
                Ok(Ok(0)) => {
                    return Err(ClientError::Closed {
                        server: self.server.clone(),
                        need: self.need(),
                    })
                }
                Ok(Ok(_)) => {}
                Ok(Err(source)) => {
                    return Err(ClientError::Io {
                        server: self.server.clone(),
                        source,
                    })
                }
            }
        }
    }

    /// Closes the connection, logging it as the tutorial's client does.
    pub async fn close(mut self) {
        info!("Closing connection to {}", self.server);
        let _ = self.stream.shutdown().await;
    }

    fn need(&self) -> Need {
        self.codec
            .decoder()
            .need_with(self.buf.len())
            .unwrap_or(Need {
                part: protocol::Part::LengthPrefix,
                have: 0,
                need: 2,
            })
    }

    fn codec_error(&self, e: CodecError) -> ClientError {
        match e {
            CodecError::Decode(source) => ClientError::Malformed {
                server: self.server.clone(),
                source,
            },
            CodecError::Io(source) => ClientError::Io {
                server: self.server.clone(),
                source,
            },
            CodecError::Encode(e) => ClientError::Encode(e),
        }
    }
}
