//! Run with
//!
//! ```not_rust
//! cargo run --release -p tutorial --example bare-server -- 127.0.0.1 0
//! ```
//!
//! The benchmark's floor, not a program for readers: reads one frame (with
//! `protocol`'s decoder), writes a fixed reply, closes. No logging, no limits,
//! no timeouts, no shutdown. With `--echo` it is a bare echo instead.
//!
//! An example rather than a binary: it is a yardstick for `loadgen`
//! (`scripts/bench-programs.sh`), not one of the tutorial's programs.

use std::process::ExitCode;

use bytes::BytesMut;
use clap::Parser;
use protocol::codec::MessageCodec;
use protocol::DecoderConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::codec::Decoder as _;
use tutorial::cli::fail;
use tutorial::servers::net;

/// Bare comparison server for loadgen: one frame in, a fixed reply out, close.
#[derive(Parser)]
struct Args {
    /// Interface to listen on.
    host: String,
    /// Port to listen on (0 picks one; printed on stdout).
    port: u16,
    /// Echo every byte back instead (the keep-alive comparison).
    #[arg(long)]
    echo: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let listener = match net::listen_addr(&args.host, args.port)
        .and_then(|addr| net::bind(addr, net::DEFAULT_BACKLOG))
    {
        Ok(listener) => listener,
        Err(e) => return fail(format_args!("cannot listen: {e}")),
    };
    let port = listener.local_addr().map_or(args.port, |a| a.port());
    println!("Listening on {}", net::py_host_port(&args.host, port));
    // The reply the app server gives the loadgen's default request.
    let mut reply = Vec::new();
    let answer = protocol::app::respond(&protocol::app::request("search", "morpheus"))
        .expect("the tutorial's search is answerable");
    protocol::encode_into(&answer, &mut reply).expect("the reply encodes");
    let reply: &'static [u8] = reply.leak();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        if args.echo {
            tokio::spawn(echo(stream));
        } else {
            tokio::spawn(one_frame(stream, reply));
        }
    }
}

async fn one_frame(mut stream: TcpStream, reply: &'static [u8]) {
    let mut codec = MessageCodec::new(DecoderConfig {
        layout: false,
        ..DecoderConfig::default()
    });
    let mut buf = BytesMut::with_capacity(1024);
    loop {
        match codec.decode(&mut buf) {
            Ok(Some(_)) => break,
            Ok(None) => {}
            Err(_) => return,
        }
        match stream.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
    let _ = stream.write_all(reply).await;
    let _ = stream.shutdown().await;
}

async fn echo(mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut buf = vec![0u8; 4096];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if stream.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}
