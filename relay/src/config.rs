//! The relay's knobs: every limit as a clap flag with its default, shared by
//! the `relay` binary (flattened into its arguments) and by tests, which
//! build a [`RelayConfig`] directly (`..RelayConfig::default()`, which is
//! the flags' defaults).
//!
//! Memory per idle session is what [`RelayConfig::ws_read_buffer`] and
//! [`RelayConfig::read_chunk`] decide: see docs/benchmarks.md for the measured figures.

use std::time::Duration;

use tutorial::cli::{duration_text, parse_duration};

use crate::clients::IpNet;

/// Default `--listen`: loopback, next to trunk's dev server on 8080.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8780";
/// Default `--dist`: where `trunk build` writes the playground.
pub const DEFAULT_DIST: &str = "dist";
/// Default `--allow-origin`: trunk's dev server (`trunk serve`) on port 8080.
pub const DEFAULT_ALLOWED_ORIGINS: [&str; 3] = [
    "http://127.0.0.1:8080",
    "http://localhost:8080",
    "http://[::1]:8080",
];

// Each flag's default, named once: the attributes below, the docs' tables
// (held to these by relay/tests/relay_docs.rs) and deploy/nginx's timeouts
// (which must stay above them) take them from here.
/// Default `--max-sessions`.
pub const DEFAULT_MAX_SESSIONS: usize = 1024;
/// Default `--max-sessions-per-ip`.
pub const DEFAULT_MAX_SESSIONS_PER_IP: usize = 16;
/// Default `--max-buffered-bytes`: 256 MiB.
pub const DEFAULT_MAX_BUFFERED_BYTES: usize = 256 * 1024 * 1024;
/// Default `--refusal-log-rate`.
pub const DEFAULT_REFUSAL_LOG_RATE: u32 = 10;
/// Default `--embedded-max-connections-per-ip`: every server's own default.
pub const DEFAULT_EMBEDDED_MAX_CONNECTIONS_PER_IP: usize =
    tutorial::servers::DEFAULT_MAX_CONNECTIONS_PER_IP;
/// Default `--max-message-size`: 1 MiB.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 1024 * 1024;
/// Default `--read-chunk`: 16 KiB.
pub const DEFAULT_READ_CHUNK: usize = 16 * 1024;
/// Default `--ws-read-buffer`: 4 KiB.
pub const DEFAULT_WS_READ_BUFFER: usize = 4 * 1024;
/// Default `--idle-timeout`.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default `--close-grace`.
pub const DEFAULT_CLOSE_GRACE: Duration = Duration::from_secs(5);
/// Default `--connect-timeout`.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default `--header-timeout`.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default `--http-idle-timeout`.
pub const DEFAULT_HTTP_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Default `--max-header-bytes`: 64 KiB.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 64 * 1024;
/// Default `--max-http-connections`.
pub const DEFAULT_MAX_HTTP_CONNECTIONS: usize = 256;
/// Default `--max-http-connections-per-ip`.
pub const DEFAULT_MAX_HTTP_CONNECTIONS_PER_IP: usize = 32;
/// Default `--observe-queue`.
pub const DEFAULT_OBSERVE_QUEUE: usize = 256;
/// Default `--observe-burst`.
pub const DEFAULT_OBSERVE_BURST: u32 = 50;
/// Default `--observe-sample`.
pub const DEFAULT_OBSERVE_SAMPLE: Duration = Duration::from_millis(100);
/// Default `--record-max-bytes`: 16 MiB.
pub const DEFAULT_RECORD_MAX_BYTES: u64 = 16 * 1024 * 1024;
/// Default `--record-max-total`: 1 GiB.
pub const DEFAULT_RECORD_MAX_TOTAL: u64 = 1 << 30;
/// `--record-max-files`.
pub const DEFAULT_RECORD_MAX_FILES: u64 = 20_000;
/// Default `--capture-max-bytes`: 4 MiB.
pub const DEFAULT_CAPTURE_MAX_BYTES: usize = 4 * 1024 * 1024;
/// Default `--capture-keep`: 10 minutes.
pub const DEFAULT_CAPTURE_KEEP: Duration = Duration::from_secs(600);
/// Default `--max-captures`.
pub const DEFAULT_MAX_CAPTURES: usize = 32;
/// Default `--max-captures-per-ip`.
pub const DEFAULT_MAX_CAPTURES_PER_IP: usize = 2;

/// Limits and options of the relay (everything but the targets).
#[derive(Debug, Clone, clap::Args)]
pub struct RelayConfig {
    /// Most WebSocket sessions open at once; more are refused with 503 before the upgrade.
    #[arg(long, default_value_t = DEFAULT_MAX_SESSIONS, value_parser = positive)]
    pub max_sessions: usize,

    /// Most WebSocket sessions open at once from one client address (an
    /// IPv6 client's whole /64); more are refused with 429 before the
    /// upgrade. A class behind one NAT address shares it: raise it there.
    #[arg(long, default_value_t = DEFAULT_MAX_SESSIONS_PER_IP, value_parser = positive)]
    pub max_sessions_per_ip: usize,

    /// A reverse proxy in front of the relay, `ADDR` or `ADDR/BITS`
    /// (repeatable). Only for connections from these is the client's
    /// address taken from `X-Forwarded-For` (its right-most address that is
    /// not a trusted proxy) or `X-Real-IP`; from anyone else the headers
    /// are ignored and the TCP peer is the client.
    #[arg(long = "trusted-proxy", value_name = "ADDR[/BITS]")]
    pub trusted_proxies: Vec<IpNet>,

    /// Most bytes all sessions may hold together: messages being received
    /// from browsers (partial ones included), being written to targets or
    /// queued for browsers (`/healthz` `buffered_bytes`). At it, new
    /// sessions are refused with 503; a read that goes over it closes its
    /// session with 1013 "relay busy".
    #[arg(long, default_value_t = DEFAULT_MAX_BUFFERED_BYTES, value_parser = positive)]
    pub max_buffered_bytes: usize,

    /// Refusals (origin, host, target, limits) logged per second at most;
    /// the rest are counted, and the count logged with the first refusal
    /// of a later second. Each embedded server's connection lines
    /// (accepted, refused, closing) are bounded alike, counted apart; its
    /// per-message lines are logged at debug level.
    #[arg(long, default_value_t = DEFAULT_REFUSAL_LOG_RATE, value_parser = positive_u32)]
    pub refusal_log_rate: u32,

    /// Connections one client address may have open at once to each
    /// embedded server, reaching its loopback port directly (a local
    /// user); more are closed as soon as they are accepted. The relay's own
    /// sessions are not counted here: --max-sessions-per-ip bounds them by
    /// the browser's address.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_EMBEDDED_MAX_CONNECTIONS_PER_IP, value_parser = positive)]
    pub embedded_max_connections_per_ip: usize,

    /// Largest WebSocket message (and frame) accepted from a browser, in bytes;
    /// a larger one closes the session with 1009.
    #[arg(long, default_value_t = DEFAULT_MAX_MESSAGE_SIZE, value_parser = positive)]
    pub max_message_size: usize,

    /// Most bytes taken from the TCP target in one read, i.e. the largest
    /// WebSocket message sent to the browser. A session queues at most about
    /// twice this for the browser before writing, which bounds its buffered bytes.
    #[arg(long, default_value_t = DEFAULT_READ_CHUNK, value_parser = positive)]
    pub read_chunk: usize,

    /// Capacity of each session's WebSocket read buffer, in bytes (axum's
    /// default, 128 KiB, alone would exceed the per-session memory goal).
    #[arg(long, default_value_t = DEFAULT_WS_READ_BUFFER, value_parser = positive)]
    pub ws_read_buffer: usize,

    /// A session with no bytes moving either way for this long is closed
    /// with 1008 "idle timeout" (e.g. 30, 1.5s, 250ms, 2m).
    #[arg(long, default_value = duration_text(DEFAULT_IDLE_TIMEOUT), value_parser = parse_duration)]
    pub idle_timeout: Duration,

    /// How long a closing session may take: waiting for the browser's close
    /// reply, or for the target's remaining reply after the browser closed.
    #[arg(long, default_value = duration_text(DEFAULT_CLOSE_GRACE), value_parser = parse_duration)]
    pub close_grace: Duration,

    /// How long connecting to a target may take before the session is closed with 1011.
    #[arg(long, default_value = duration_text(DEFAULT_CONNECT_TIMEOUT), value_parser = parse_duration)]
    pub connect_timeout: Duration,

    /// A request's head (request line and headers) must arrive in full
    /// within this, counted from when the relay starts waiting for it (the
    /// connection's start, or the end of the previous response on a
    /// keep-alive connection); else the connection is closed. Stops clients
    /// that send headers a byte at a time (slowloris).
    #[arg(long, default_value = duration_text(DEFAULT_HEADER_TIMEOUT), value_parser = parse_period)]
    pub header_timeout: Duration,

    /// An HTTP connection that has not upgraded to a WebSocket, with no
    /// bytes moving either way for this long, is closed (a response the
    /// client does not read, a stalled body). Waiting for the next request's
    /// head is also bounded by --header-timeout.
    #[arg(long, default_value = duration_text(DEFAULT_HTTP_IDLE_TIMEOUT), value_parser = parse_period)]
    pub http_idle_timeout: Duration,

    /// Largest request head (request line and headers) in bytes; a larger
    /// one is answered 431 and closed. At least 8192 (hyper's smallest read buffer).
    #[arg(long, default_value_t = DEFAULT_MAX_HEADER_BYTES, value_parser = at_least_8k)]
    pub max_header_bytes: usize,

    /// Most HTTP connections open at once that have not upgraded to a
    /// WebSocket (sessions count against --max-sessions instead). When all
    /// are taken, a connection from an address holding fewer takes the
    /// oldest place of the address holding the most; otherwise it is
    /// answered 503 and closed, not queued.
    #[arg(long, default_value_t = DEFAULT_MAX_HTTP_CONNECTIONS, value_parser = positive)]
    pub max_http_connections: usize,

    /// Most of those from one client address (by TCP peer; a
    /// --trusted-proxy's connections are not counted here, they carry many
    /// clients); beyond it that address's new connections are answered 429
    /// and closed.
    #[arg(long, default_value_t = DEFAULT_MAX_HTTP_CONNECTIONS_PER_IP, value_parser = positive)]
    pub max_http_connections_per_ip: usize,

    /// Origins allowed to open WebSocket sessions besides the relay's own
    /// (repeatable; a request without Origin, i.e. not from a browser, is allowed).
    /// Their HOST:PORT is also accepted as a `Host` (a dev server's proxy may forward it).
    #[arg(long = "allow-origin", value_name = "ORIGIN",
          default_values_t = DEFAULT_ALLOWED_ORIGINS.map(String::from))]
    pub allowed_origins: Vec<String>,

    /// An origin the relay is served at besides its listen address (repeatable),
    /// e.g. https://wirelab.example.edu behind a TLS proxy: pages from it are
    /// same-origin and its host is accepted as a `Host`. Without it the relay
    /// answers /ws, /targets and /limits only to its listen address and, on
    /// loopback or a wildcard address, to 127.0.0.1, localhost and [::1]
    /// (any other Host: 421), which is what stops DNS rebinding.
    #[arg(long = "public-origin", value_name = "ORIGIN", value_parser = parse_origin)]
    pub public_origins: Vec<String>,

    /// Include each target's HOST:PORT (`address`) in GET /targets; off, a
    /// page learns only names and descriptions.
    #[arg(long)]
    pub show_addresses: bool,

    /// Decode the protocol frames crossing the relay and log them as Python bytes literals.
    #[arg(long)]
    pub tap: bool,

    /// Observation (`observe=1`): most events a session holds for a browser
    /// that reads slowly; beyond it byte events merge and the rest are
    /// counted in a `lost` event.
    #[arg(long, default_value_t = DEFAULT_OBSERVE_QUEUE, value_parser = positive)]
    pub observe_queue: usize,

    /// Observation: byte events (and server log lines) per 10 ms sent one by
    /// one; more in the same 10 ms merge into one event with a `count`.
    #[arg(long, default_value_t = DEFAULT_OBSERVE_BURST, value_parser = positive_u32)]
    pub observe_burst: u32,

    /// Observation: how often sockets are sampled (netstat's queues, TCP_INFO)
    /// while bytes wait in one of their queues (e.g. 100ms, 1s).
    #[arg(long, default_value = duration_text(DEFAULT_OBSERVE_SAMPLE), value_parser = parse_period)]
    pub observe_sample: Duration,

    /// Observation: after the relay closes the connection, how long it keeps
    /// following both sockets through sock_diag (FIN_WAIT, TIME_WAIT,
    /// CLOSE_WAIT, LAST_ACK, as `ss` shows them) before the WebSocket
    /// closes; it stops earlier once each is in TIME_WAIT or gone. 0: off.
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    pub observe_close_follow: Duration,
    /// Watch streams (`/ws?watch=NAME`, see --expose): most bytes of what
    /// the server received (`server_recv`'s `data`) one stream holds for a
    /// browser that reads slowly; beyond it, events go out without their
    /// bytes, and the page says so.
    #[arg(long, default_value_t = 256 * 1024, value_parser = positive)]
    pub watch_data_bytes: usize,

    /// Write every session's TCP leg into this directory as a transcript
    /// (`.json` with every observation, replayable in the page; sessions are
    /// observed whatever the browser asked) and a capture (`.pcapng`, for
    /// Wireshark with tools/wireshark/wirelab.lua).
    #[arg(long, value_name = "DIR")]
    pub record: Option<std::path::PathBuf>,

    /// --record: most bytes recorded per session (payload both ways,
    /// observations as JSON, and 32 for each event), written as the
    /// session goes; past it the recording stops and says so (the session
    /// goes on).
    #[arg(long, default_value_t = DEFAULT_RECORD_MAX_BYTES, value_parser = positive_u64)]
    pub record_max_bytes: u64,

    /// --record: most disk the relay's files take in all, counted in 4 KiB
    /// blocks (a 10-byte file takes one); a session that would pass it is
    /// not saved (its partial files are removed; logged once; it goes on).
    /// What recordings hold in memory until written counts against
    /// --max-buffered-bytes.
    #[arg(long, default_value_t = DEFAULT_RECORD_MAX_TOTAL, value_parser = positive_u64)]
    pub record_max_total: u64,

    /// --record: most files the relay's recordings keep in DIR (each saved
    /// session has two; one being written, up to four); past it, as past
    /// --record-max-total.
    #[arg(long, default_value_t = DEFAULT_RECORD_MAX_FILES, value_parser = positive_u64)]
    pub record_max_files: u64,

    /// Never capture packets: every .pcapng (--record's and the page's
    /// download) is reconstructed from the relay's system calls, and says
    /// so. Without this flag a relay that may capture (CAP_NET_RAW) writes
    /// the real segments of each recorded or observed session (docs/capture.md).
    #[arg(long)]
    pub no_capture: bool,

    /// Most bytes of packets one session's capture holds (counted in
    /// --max-buffered-bytes); past it the capture stops keeping packets
    /// and its comment says how many it missed.
    #[arg(long, default_value_t = DEFAULT_CAPTURE_MAX_BYTES, value_parser = positive)]
    pub capture_max_bytes: usize,

    /// How long a finished capture is kept for the page's download
    /// (GET /capture/<id>), e.g. 10m, 30s; 0 keeps none.
    #[arg(long, default_value = duration_text(DEFAULT_CAPTURE_KEEP), value_parser = parse_duration)]
    pub capture_keep: Duration,

    /// Most sessions captured at once. Every packet on the loopback runs
    /// the filter of every running capture, so each one costs every
    /// connection of the machine some CPU; past it a session's .pcapng is
    /// reconstructed, and says so.
    #[arg(long, default_value_t = DEFAULT_MAX_CAPTURES, value_parser = positive)]
    pub max_captures: usize,

    /// Most sessions captured at once for one client address (an IPv6
    /// client's whole /64): a page's Playground session and one more. Past
    /// it, as past --max-captures.
    #[arg(long, default_value_t = DEFAULT_MAX_CAPTURES_PER_IP, value_parser = positive)]
    pub max_captures_per_ip: usize,
}

/// Sizes and counts of zero would make the relay useless (a zero-byte read
/// even looks like EOF), so they are refused at startup.
fn positive(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// hyper's read buffer cannot be smaller than 8192 bytes.
fn at_least_8k(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n < 8192 => Err("must be at least 8192".to_owned()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

fn positive_u64(text: &str) -> Result<u64, String> {
    positive(text).map(|n| n as u64)
}

fn positive_u32(text: &str) -> Result<u32, String> {
    let n = positive(text)?;
    u32::try_from(n).map_err(|e| e.to_string())
}

/// `http://HOST[:PORT]` or `https://HOST[:PORT]` (no path), lower-cased,
/// as a browser writes it in `Origin`.
pub fn parse_origin(text: &str) -> Result<String, String> {
    let origin = text.trim_end_matches('/').to_ascii_lowercase();
    let authority = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .ok_or("must start with http:// or https://")?;
    if authority.is_empty() || authority.contains(['/', '?', '#', '@', ' ']) {
        return Err("must be SCHEME://HOST[:PORT], without a path".to_owned());
    }
    Ok(origin)
}

/// A sampling period of zero would spin.
fn parse_period(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        d if d < Duration::from_millis(1) => Err("must be at least 1ms".to_owned()),
        d => Ok(d),
    }
}

/// The flags' defaults: the `#[arg(default_value…)]` attributes above take
/// them from the `DEFAULT_*` constants, and this goes through clap, so a
/// test config and the command line cannot disagree.
impl Default for RelayConfig {
    fn default() -> Self {
        use clap::{Args, FromArgMatches};
        let command = RelayConfig::augment_args(clap::Command::new("relay"));
        let matches = command
            .try_get_matches_from(["relay"])
            .expect("every flag has a default");
        RelayConfig::from_arg_matches(&matches).expect("the defaults parse")
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        config: RelayConfig,
    }

    #[test]
    fn zero_sizes_are_refused() {
        assert!(Wrapper::try_parse_from(["relay", "--read-chunk", "0"]).is_err());
        assert!(Wrapper::try_parse_from(["relay", "--max-sessions", "0"]).is_err());
        let parsed = Wrapper::try_parse_from(["relay", "--read-chunk", "1"]).unwrap();
        assert_eq!(parsed.config.read_chunk, 1);
        assert!(Wrapper::try_parse_from(["relay", "--max-header-bytes", "8191"]).is_err());
        assert!(Wrapper::try_parse_from(["relay", "--max-http-connections", "0"]).is_err());
        assert!(Wrapper::try_parse_from(["relay", "--header-timeout", "0"]).is_err());
        assert!(Wrapper::try_parse_from(["relay", "--record-max-bytes", "0"]).is_err());
        let parsed = Wrapper::try_parse_from(["relay", "--record", "/tmp/lab"]).unwrap();
        assert_eq!(
            parsed.config.record.as_deref(),
            Some(std::path::Path::new("/tmp/lab"))
        );
        assert_eq!(parsed.config.record_max_bytes, 16 << 20);
    }

    #[test]
    fn the_defaults_are_the_named_constants() {
        let d = RelayConfig::default();
        assert_eq!(d.max_sessions, DEFAULT_MAX_SESSIONS);
        assert_eq!(d.max_sessions_per_ip, DEFAULT_MAX_SESSIONS_PER_IP);
        assert_eq!(d.max_buffered_bytes, DEFAULT_MAX_BUFFERED_BYTES);
        assert_eq!(d.refusal_log_rate, DEFAULT_REFUSAL_LOG_RATE);
        assert_eq!(
            d.embedded_max_connections_per_ip,
            DEFAULT_EMBEDDED_MAX_CONNECTIONS_PER_IP
        );
        assert_eq!(d.max_message_size, DEFAULT_MAX_MESSAGE_SIZE);
        assert_eq!(d.read_chunk, DEFAULT_READ_CHUNK);
        assert_eq!(d.ws_read_buffer, DEFAULT_WS_READ_BUFFER);
        assert_eq!(d.idle_timeout, DEFAULT_IDLE_TIMEOUT);
        assert_eq!(d.close_grace, DEFAULT_CLOSE_GRACE);
        assert_eq!(d.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
        assert_eq!(d.header_timeout, DEFAULT_HEADER_TIMEOUT);
        assert_eq!(d.http_idle_timeout, DEFAULT_HTTP_IDLE_TIMEOUT);
        assert_eq!(d.max_header_bytes, DEFAULT_MAX_HEADER_BYTES);
        assert_eq!(d.max_http_connections, DEFAULT_MAX_HTTP_CONNECTIONS);
        assert_eq!(
            d.max_http_connections_per_ip,
            DEFAULT_MAX_HTTP_CONNECTIONS_PER_IP
        );
        assert_eq!(d.allowed_origins, DEFAULT_ALLOWED_ORIGINS);
        assert_eq!(d.observe_queue, DEFAULT_OBSERVE_QUEUE);
        assert_eq!(d.observe_burst, DEFAULT_OBSERVE_BURST);
        assert_eq!(d.observe_sample, DEFAULT_OBSERVE_SAMPLE);
        assert_eq!(d.record_max_bytes, DEFAULT_RECORD_MAX_BYTES);
        assert_eq!(d.record_max_total, DEFAULT_RECORD_MAX_TOTAL);
        assert_eq!(d.record_max_files, DEFAULT_RECORD_MAX_FILES);
        assert_eq!(d.capture_max_bytes, DEFAULT_CAPTURE_MAX_BYTES);
        assert_eq!(d.capture_keep, DEFAULT_CAPTURE_KEEP);
        assert_eq!(d.max_captures, DEFAULT_MAX_CAPTURES);
        assert_eq!(d.max_captures_per_ip, DEFAULT_MAX_CAPTURES_PER_IP);
    }

    #[test]
    fn public_origins_are_origins_without_a_path() {
        let parsed =
            Wrapper::try_parse_from(["relay", "--public-origin", "https://Wirelab.example.edu/"])
                .unwrap();
        assert_eq!(
            parsed.config.public_origins,
            ["https://wirelab.example.edu"]
        );
        assert!(!parsed.config.show_addresses);
        for bad in ["wirelab.example.edu", "https://", "https://x.example/path"] {
            assert!(
                Wrapper::try_parse_from(["relay", "--public-origin", bad]).is_err(),
                "{bad}"
            );
        }
    }
}
