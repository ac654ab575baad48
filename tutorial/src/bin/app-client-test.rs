//! Run with
//!
//! ```not_rust
//! cargo run -p tutorial --bin app-server-test -- 127.0.0.1 65432 &
//! cargo run -p tutorial --bin app-client-test -- 127.0.0.1 65432 binary test
//! ```
//!
//! The tutorial's `app-client-test.py`: a non-blocking client that sends its
//! request over and over to a server that never reads, until `send()` would
//! block. Then it prints the tutorial's lines
//!
//! ```text
//! Error: socket.send() blocking io exception for ('127.0.0.1', 65432):
//! BlockingIOError(11, 'Resource temporarily unavailable')
//! ```
//!
//! (errno 11 is Linux's EAGAIN; the tutorial ran on macOS, where it is 35)
//! and how many bytes the kernel took before that. It tries again after
//! `--retry-after`, and exits 0 after `--blocked` blocked sends or
//! `--time-limit`, whichever comes first.

use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use protocol::app::request;
use protocol::encode;
use protocol::python::python_str_repr;
use tutorial::args::{ClientTimeout, ServerAddr};
use tutorial::cli::{duration_text, fail, parse_duration};
use tutorial::servers::net::{resolve, PyAddr};

/// Default `--blocked`.
const DEFAULT_BLOCKED: u32 = 3;
/// Default `--retry-after`.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_millis(200);
/// Default `--time-limit`.
const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(10);

/// Sends ACTION VALUE's request again and again without blocking until send()
/// would block (the tutorial's app-client-test.py); run app-server-test first.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    server: ServerAddr,
    /// `search`, or anything else for a binary request.
    action: String,
    /// The search term, or the rest of the binary request.
    value: String,
    /// Exit after send() would have blocked this many times.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_BLOCKED)]
    blocked: u32,
    /// How long to wait after a blocked send before trying again.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration,
          default_value = duration_text(DEFAULT_RETRY_AFTER))]
    retry_after: Duration,
    /// Exit after this long even if send() never blocked (a server that reads keeps up).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration,
          default_value = duration_text(DEFAULT_TIME_LIMIT))]
    time_limit: Duration,
    #[command(flatten)]
    timeout: ClientTimeout,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

fn run(args: &Args) -> io::Result<()> {
    let addr: SocketAddr = resolve(&args.server.host, args.server.port)?;
    let frame = encode(&request(&args.action, &args.value))
        .map_err(io::Error::other)?
        .bytes;
    let mut out = io::stdout().lock();
    writeln!(out, "Starting connection to {}", PyAddr(addr))?;
    let mut stream = TcpStream::connect_timeout(&addr, args.timeout.timeout)?;
    stream.set_nonblocking(true)?;

    let started = Instant::now();
    let mut taken: u64 = 0;
    let mut blocked = 0;
    // Where in the current copy of the request the next send starts: a
    // partial send leaves the rest of that copy to go first.
    let mut offset = 0;
    while blocked < args.blocked {
        if started.elapsed() >= args.time_limit {
            writeln!(
                out,
                "send() never blocked within {:?}: the server took all {taken} bytes",
                args.time_limit
            )?;
            return Ok(());
        }
        match stream.write(&frame[offset..]) {
            Ok(n) => {
                taken += n as u64;
                offset = (offset + n) % frame.len();
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                blocked += 1;
                writeln!(
                    out,
                    "Error: socket.send() blocking io exception for {}:",
                    PyAddr(addr)
                )?;
                writeln!(out, "{}", python_exception("BlockingIOError", &e))?;
                writeln!(
                    out,
                    "(the kernel took {taken} bytes, {} requests, before send() would block)",
                    taken / frame.len() as u64
                )?;
                out.flush()?;
                std::thread::sleep(args.retry_after);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    writeln!(out, "Closing connection to {}", PyAddr(addr))?;
    Ok(())
}

/// An OS error as Python's repr of the exception shows it:
/// `BlockingIOError(11, 'Resource temporarily unavailable')`.
fn python_exception(name: &str, e: &io::Error) -> String {
    let errno = e.raw_os_error().unwrap_or(0);
    let text = e.to_string();
    // Rust appends " (os error N)" to strerror's text; Python does not.
    let message = text
        .strip_suffix(&format!(" (os error {errno})"))
        .unwrap_or(&text);
    format!("{name}({errno}, {})", python_str_repr(message))
}
