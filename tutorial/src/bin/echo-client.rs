//! Run with
//!
//! ```not_rust
//! cargo run -p tutorial --bin echo-client -- 127.0.0.1 65432
//! ```
//!
//! The tutorial's first client: sends `Hello, world` and prints what comes
//! back, reading until all of it has (the fix the tutorial teaches: one
//! recv() may return part of it).

use clap::Parser;
use protocol::python::python_bytes_repr;
use std::process::ExitCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tracing::info;
use tutorial::args::{ClientTimeout, TUTORIAL_HOST, TUTORIAL_PORT};
use tutorial::cli::{fail, init_logging};
use tutorial::servers::net;

/// The tutorial's echo client: sends a message and prints it once it is all back.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Server host: an IP address (::1 works) or a host name.
    #[arg(default_value = TUTORIAL_HOST)]
    host: String,
    /// Server port.
    #[arg(default_value_t = TUTORIAL_PORT)]
    port: u16,
    /// What to send.
    #[arg(long, default_value = "Hello, world")]
    message: String,
    #[command(flatten)]
    timeout: ClientTimeout,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    init_logging();
    let server = net::py_host_port(&args.host, args.port);
    let exchange = async {
        let addr = net::resolve(&args.host, args.port)?;
        let mut stream = TcpStream::connect(addr).await?;
        let (mut reader, mut writer) = stream.split();
        // Read while writing: a message bigger than the socket buffers would
        // otherwise deadlock, the server blocked on echoing what we don't read.
        let send = async {
            writer.write_all(args.message.as_bytes()).await?;
            Ok::<_, std::io::Error>(())
        };
        let receive = async {
            let mut data = vec![0u8; args.message.len()];
            let mut have = 0;
            while have < data.len() {
                match reader.read(&mut data[have..]).await? {
                    0 => {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::UnexpectedEof,
                            format!("closed after {have} of {} bytes", data.len()),
                        ))
                    }
                    n => have += n,
                }
            }
            Ok(data)
        };
        let ((), data) = tokio::try_join!(send, receive)?;
        Ok::<_, std::io::Error>(data)
    };
    match tokio::time::timeout(args.timeout.timeout, exchange).await {
        Ok(Ok(data)) => {
            info!("Received {}", python_bytes_repr(&data));
            ExitCode::SUCCESS
        }
        Ok(Err(e)) => fail(format_args!("echo from {server} failed: {e}")),
        Err(_) => fail(format_args!(
            "no full echo from {server} within {:?}",
            args.timeout.timeout
        )),
    }
}
