//! The reset server: it reads a little of what a client sends and closes
//! while the rest still sits unread in its receive queue. Closing a socket
//! with unread data makes the kernel answer with RST instead of FIN
//! (RFC 2525 §2.17, what Linux does), so the client's next `recv()` fails
//! with `ConnectionResetError` (ECONNRESET): the "reset" of the tutorial's
//! error table, made on purpose (lesson 12 of the page).
//!
//! A client that sends no more than [`READ`] bytes leaves nothing unread:
//! after [`Config::wait`] without more, the server closes normally (FIN)
//! and says so.

use std::time::Duration;

use protocol::relay_api::LogLevel;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use super::accept::{Conn, Ending, Handler};
use crate::sockstat::socket_info;

/// Bytes the server reads (one `recv()`) before it closes.
pub const READ: usize = 10;
/// How often the server looks whether more bytes are queued.
const POLL: Duration = Duration::from_millis(10);
/// Default [`Config::wait`].
pub const DEFAULT_WAIT: Duration = Duration::from_secs(2);

/// The reset server's own setting (its connection bounds are the accept
/// loop's [`Limits`](super::accept::Limits)). Serve it with
/// [`accept::serve`](super::accept::serve).
#[derive(Debug, Clone)]
pub struct Config {
    /// After its one read, how long the server waits for more bytes to be
    /// queued (so that closing resets) before it closes anyway.
    pub wait: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config { wait: DEFAULT_WAIT }
    }
}

impl Handler for Config {
    async fn handle(&self, conn: &mut Conn) -> Ending {
        let wait = self.wait;
        let Conn {
            stream,
            stop,
            watch,
            ..
        } = conn;
        let mut buf = [0u8; READ];
        let read = tokio::select! {
            biased;
            _ = stop.abort.cancelled() => return Ending::Closed("server shutting down"),
            read = tokio::time::timeout(wait * 5, stream.read(&mut buf)) => read,
        };
        let n = match read {
            Ok(Ok(n)) => n,
            Ok(Err(e)) => return Ending::Failed(e.to_string()),
            Err(_) => 0,
        };
        watch.recv(stream, n, || None);
        let unread = if n > 0 {
            unread_within(stream, wait).await
        } else {
            0
        };
        if unread > 0 {
            watch.log(
                LogLevel::Info,
                format_args!("Closing it with {unread} bytes unread: the kernel sends RST"),
            );
            Ending::Closed("bytes unread: RST, not FIN")
        } else {
            Ending::Closed("nothing unread: a normal FIN")
        }
    }
}

/// Bytes queued and not read, once some are or `wait` has passed. Read
/// from the kernel (SIOCINQ): tokio's readiness may still say "readable"
/// from the read before.
async fn unread_within(stream: &TcpStream, wait: Duration) -> u64 {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let unread = socket_info(stream).map_or(0, |info| info.recv_q);
        if unread > 0 || tokio::time::Instant::now() >= deadline {
            return unread;
        }
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;
    use tokio_util::sync::CancellationToken;

    #[tokio::test]
    async fn closing_with_unread_bytes_resets_the_client() {
        let listener = super::super::net::bind(
            (std::net::Ipv4Addr::LOCALHOST, 0).into(),
            super::super::net::DEFAULT_BACKLOG,
        )
        .unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        tokio::spawn(super::super::serve(
            listener,
            super::super::Limits::default(),
            Config::default(),
            None,
            shutdown.clone(),
        ));
        let mut client = TcpStream::connect(addr).await.unwrap();
        client.write_all(&[7u8; 200]).await.unwrap();
        let mut buf = [0u8; 16];
        let err = tokio::time::timeout(Duration::from_secs(10), client.read(&mut buf))
            .await
            .expect("the server closes within its wait")
            .expect_err("a reset, not an EOF");
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset);

        // Nothing beyond what it reads: nothing unread, a plain FIN.
        let mut client = TcpStream::connect(addr).await.unwrap();
        client.write_all(&[7u8; READ]).await.unwrap();
        let n = tokio::time::timeout(Duration::from_secs(10), client.read(&mut buf))
            .await
            .expect("the server closes within its wait")
            .expect("an EOF, not a reset");
        assert_eq!(n, 0);
        shutdown.cancel();
    }
}
