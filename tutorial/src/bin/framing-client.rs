//! Run with
//!
//! ```not_rust
//! cargo run -p tutorial --bin framing-client -- 127.0.0.1 65432 --mode lines --message 'Hi'
//! cargo run -p tutorial --bin framing-client -- 127.0.0.1 65432 --mode close --message 'Hi'
//! ```
//!
//! The framing lab's client: sends one message framed one of the four ways
//! and prints every message that comes back. It says what the framing did
//! to the message on the way (padding, cutting, a delimiter inside). With
//! `--mode close` it half-closes (`shutdown(SHUT_WR)`) after sending, since
//! the server cannot answer before the FIN, then reads until the server closes.

use std::process::ExitCode;

use clap::Parser;
use protocol::framing::{Framer, FramerConfig, Framing};
use protocol::python::python_bytes_repr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tracing::info;
use tutorial::args::{ClientTimeout, ServerAddr};
use tutorial::cli::{fail, init_logging};
use tutorial::servers::framing::FramingArgs;
use tutorial::servers::net;

/// Sends a message framed one way and prints what comes back.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    server: ServerAddr,
    #[command(flatten)]
    framing: FramingArgs,
    /// What to send (a newline inside shows the delimiter's failure: $'two\nlines').
    #[arg(long, default_value = "Hello, world")]
    message: String,
    #[command(flatten)]
    timeout: ClientTimeout,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    init_logging();
    let framing = args.framing.framing();
    let encoded = match framing.encode(args.message.as_bytes()) {
        Ok(encoded) => encoded,
        Err(e) => return fail(e),
    };
    if encoded.padding > 0 {
        info!(
            "Padded with {} zero bytes to the fixed length",
            encoded.padding
        );
    }
    if encoded.beyond > 0 {
        info!(
            "{} bytes go past the fixed length: the server takes them for the start of another message and waits for the rest",
            encoded.beyond
        );
    }
    if encoded.delimiters_inside > 0 {
        info!(
            "The message holds {} delimiter(s): the server will see {} messages",
            encoded.delimiters_inside,
            encoded.delimiters_inside + 1
        );
    }
    // Lines come back one per delimiter; until-EOF answers once, then closes.
    let expected = 1 + encoded.delimiters_inside;
    let (host, port) = (&args.server.host, args.server.port);
    let exchange = async {
        let mut stream = TcpStream::connect(net::resolve(host, port)?).await?;
        info!("Sending {}", python_bytes_repr(&encoded.bytes));
        stream.write_all(&encoded.bytes).await?;
        if framing == Framing::UntilEof {
            info!("Shutting down the sending side (SHUT_WR): the message ends here");
            stream.shutdown().await?;
        }
        let mut framer =
            Framer::new(framing, FramerConfig::default()).map_err(std::io::Error::other)?;
        let mut got = Vec::new();
        let mut buf = vec![0u8; 4096];
        while got.len() < expected {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                framer.close();
            } else {
                framer.push(&buf[..n]);
            }
            while let Some(framed) = framer.poll().map_err(std::io::Error::other)? {
                info!("Received {}", python_bytes_repr(&framed.payload));
                got.push(framed);
            }
            if n == 0 {
                break;
            }
        }
        Ok::<_, std::io::Error>(got.len())
    };
    let server = net::py_host_port(host, port);
    match tokio::time::timeout(args.timeout.timeout, exchange).await {
        Ok(Ok(n)) if n == expected => ExitCode::SUCCESS,
        Ok(Ok(n)) => fail(format_args!(
            "{server} closed after {n} of {expected} messages"
        )),
        Ok(Err(e)) => fail(format_args!("exchange with {server} failed: {e}")),
        Err(_) => fail(format_args!(
            "no reply from {server} within {:?}",
            args.timeout.timeout
        )),
    }
}
