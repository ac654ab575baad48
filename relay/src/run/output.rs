//! The program's output: what it prints on its pseudo-terminal, cut into
//! lines, each logged by the relay and sent as `server_log` to every
//! connection of the program open now. A line is not about one connection
//! (a program prints what it likes, when it likes), so every open session
//! of the target gets it.

use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::sync::Arc;

use protocol::relay_api::{LogLevel, Observed};
use tutorial::servers::observe::{truncate, MAX_TEXT};

use super::conns::Open;

/// Most bytes of one unfinished line held: a line that never ends goes
/// out in pieces of this size (each cut to `MAX_TEXT` like every line).
pub const MAX_LINE: usize = 4 * MAX_TEXT;

/// Reads `pty` until the program (and everything it started) closed it.
pub fn forward(name: &str, pty: OwnedFd, open: &Arc<Open>) {
    let mut pty = File::from(pty);
    let mut line: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        // EIO once the last holder of the terminal's other side is gone.
        let n = match pty.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for &byte in &chunk[..n] {
            if byte == b'\n' {
                emit(name, &line, open);
                line.clear();
            } else if byte != b'\r' {
                line.push(byte);
                // A line that never ends still goes out, in pieces: the
                // relay holds at most this much of it.
                if line.len() >= MAX_LINE {
                    emit(name, &line, open);
                    line.clear();
                }
            }
        }
    }
    if !line.is_empty() {
        emit(name, &line, open);
    }
}

fn emit(name: &str, line: &[u8], open: &Arc<Open>) {
    let line = truncate(String::from_utf8_lossy(line).into_owned());
    tracing::info!("{name}: {line}");
    let sinks: Vec<_> = open
        .lock()
        .expect("no panics under the lock")
        .values()
        .cloned()
        .collect();
    for sink in sinks {
        sink.observe(Observed::ServerLog {
            level: LogLevel::Info,
            line: line.clone(),
        });
    }
}
