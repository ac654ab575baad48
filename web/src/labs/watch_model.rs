//! The Watch tab as plain data: the connections a learner's own client
//! made to an `--expose`d target, as the relay's watch stream
//! (`/ws?watch=NAME`) reports them, one [`Arrival`] per `conn`.
//!
//! Each arrival folds its events into an [`Observe`] (what the Server
//! panel and the socket table show for a playground session) and the bytes
//! of each `server_recv` into an [`Inbound`]: the hex view and the decoder
//! of what the server received, chunk by chunk. A `recv()` whose bytes the
//! relay did not pass on (a page that read too slowly) ends the bytes
//! shown there: nothing after a gap is decoded, and the page says how many
//! bytes are missing.

use std::rc::Rc;

use protocol::relay_api::{Observation, Observed, TargetInfo};

use crate::model::observe::Observing;
use crate::model::{Chunk, Inbound, Observe};

/// Connections kept (the newest); the count of all stays exact.
pub const ARRIVALS_KEEP: usize = 20;

/// One connection that arrived at the exposed listener.
#[derive(Debug, Clone, PartialEq)]
pub struct Arrival {
    /// The relay's number for it (`conn`).
    pub conn: u64,
    pub observe: Rc<Observe>,
    /// What the server received, chunk by chunk, up to the first gap.
    pub inbound: Rc<Inbound>,
    /// Bytes the server received that the relay did not pass on.
    pub missing: u64,
}

impl Arrival {
    fn new(conn: u64, target: &str) -> Arrival {
        Arrival {
            conn,
            // A watch stream says what it observes once, for all its connections.
            observe: Rc::new(Observe {
                observing: Some(Observing {
                    target: target.to_owned(),
                    server: true,
                }),
                ..Observe::default()
            }),
            inbound: Rc::default(),
            missing: 0,
        }
    }

    fn take(&mut self, at_ms: f64, observation: Observation) {
        if let Observed::ServerRecv { len, data, .. } = &observation.event {
            match data {
                Some(bytes) if self.missing == 0 && bytes.len() as u64 == *len => {
                    if !bytes.is_empty() {
                        Rc::make_mut(&mut self.inbound).push(&Chunk {
                            bytes: bytes.as_slice().into(),
                            at_ms: observation.t_us as f64 / 1000.0,
                        });
                    }
                }
                _ => self.missing += len,
            }
        }
        Rc::make_mut(&mut self.observe).take(at_ms, observation);
    }

    /// The client's address, once the server accepted it.
    pub fn peer(&self) -> Option<&str> {
        self.observe.server.peer.as_deref()
    }
}

/// Where the watch stream is.
#[derive(Debug, Clone, PartialEq)]
pub enum Stream {
    /// No target to watch yet.
    Idle,
    Connecting,
    Open,
    /// The relay closed it (code, reason as sent).
    Closed(u16, String),
}

/// The Watch tab's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Watching {
    pub target: String,
    pub stream: Stream,
    /// The newest [`ARRIVALS_KEEP`] connections, oldest first.
    pub arrivals: Vec<Arrival>,
    /// Connections seen in all.
    pub arrived: u64,
    /// The connection picked; none: the newest.
    pub picked: Option<u64>,
    /// Events the relay could not deliver (it said so).
    pub lost: u64,
}

/// What happens to the Watch tab.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchAction {
    /// A new stream to `target` is opening: what the last one showed goes.
    Start(String),
    Opened,
    /// An observation, received at `at_ms` (page clock).
    Observed(f64, Observation),
    Closed(u16, String),
    Pick(u64),
}

impl Watching {
    pub fn new() -> Watching {
        Watching {
            target: String::new(),
            stream: Stream::Idle,
            arrivals: Vec::new(),
            arrived: 0,
            picked: None,
            lost: 0,
        }
    }

    /// The arrival shown: the one picked, else the newest.
    pub fn shown(&self) -> Option<&Arrival> {
        self.picked
            .and_then(|conn| self.arrivals.iter().find(|a| a.conn == conn))
            .or(self.arrivals.last())
    }

    pub fn apply(&mut self, action: WatchAction) {
        match action {
            WatchAction::Start(target) => {
                *self = Watching {
                    target,
                    stream: Stream::Connecting,
                    ..Watching::new()
                }
            }
            WatchAction::Opened => self.stream = Stream::Open,
            WatchAction::Closed(code, reason) => self.stream = Stream::Closed(code, reason),
            WatchAction::Pick(conn) => self.picked = Some(conn),
            WatchAction::Observed(at_ms, observation) => {
                let Some(conn) = observation.conn else {
                    if let Observed::Lost { events } = observation.event {
                        self.lost += events;
                    }
                    return;
                };
                let at = match self.arrivals.iter().position(|a| a.conn == conn) {
                    Some(at) => at,
                    None => {
                        self.arrived += 1;
                        if self.arrivals.len() >= ARRIVALS_KEEP {
                            self.arrivals.remove(0);
                        }
                        self.arrivals.push(Arrival::new(conn, &self.target));
                        self.arrivals.len() - 1
                    }
                };
                self.arrivals[at].take(at_ms, observation);
            }
        }
    }
}

impl Default for Watching {
    fn default() -> Self {
        Watching::new()
    }
}

/// The command that sends the tutorial's traffic to `target` exposed at
/// `address` (`HOST:PORT`, as the relay lists it): the tutorial's own
/// client where it has one.
pub fn client_command(target: &str, address: &str) -> String {
    let (host, port) = address.rsplit_once(':').unwrap_or((address, ""));
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match target {
        "app" => format!("python3 app-client.py {host} {port} search morpheus"),
        "multiconn" => format!("python3 multiconn-client.py {host} {port} 2"),
        "echo" => format!("python3 echo-client.py  (with HOST = \"{host}\" and PORT = {port})"),
        "prefix" => format!(
            "python3 -c \"import socket; s = socket.create_connection(('{host}', {port})); s.sendall(b'\\x00\\x05hello'); print(s.recv(1024))\""
        ),
        _ => format!("printf 'hello\\n' | nc -q 1 {host} {port}"),
    }
}

/// The targets the relay exposes, with their addresses.
pub fn exposed(targets: &[TargetInfo]) -> Vec<(String, String)> {
    targets
        .iter()
        .filter_map(|t| Some((t.name.clone(), t.exposed.clone()?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::relay_api::DecoderState;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn at(conn: u64, t_us: u64, event: Observed) -> WatchAction {
        WatchAction::Observed(
            0.0,
            Observation {
                t_us,
                event,
                conn: Some(conn),
            },
        )
    }

    fn recv(data: Option<&[u8]>, len: u64) -> Observed {
        Observed::ServerRecv {
            len,
            count: 1,
            decoder: Some(DecoderState::Complete),
            asked: Some(4096),
            blocked_us: None,
            error: None,
            data: data.map(<[u8]>::to_vec),
        }
    }

    #[test]
    fn connections_arrive_one_after_another_and_the_newest_shows() {
        let mut w = Watching::new();
        w.apply(WatchAction::Start("app".into()));
        let frame = protocol::encode(&protocol::app::request("search", "morpheus"))
            .unwrap()
            .bytes;
        for conn in [1, 2] {
            w.apply(at(
                conn,
                10,
                Observed::ServerAccept {
                    local: "127.0.0.1:65432".into(),
                    peer: format!("127.0.0.1:5000{conn}"),
                },
            ));
        }
        w.apply(at(1, 20, recv(Some(&frame[..10]), 10)));
        w.apply(at(1, 30, recv(Some(&frame[10..]), frame.len() as u64 - 10)));
        assert_eq!(w.arrived, 2);
        assert_eq!(w.shown().unwrap().conn, 2);
        w.apply(WatchAction::Pick(1));
        let one = w.shown().unwrap();
        assert_eq!(one.peer(), Some("127.0.0.1:50001"));
        assert_eq!(one.inbound.chunks.len(), 2);
        assert_eq!(one.inbound.messages.len(), 1);
        assert_eq!(*one.inbound.bytes.get(), frame[..]);
        assert_eq!(one.missing, 0);
    }

    #[test]
    fn bytes_the_relay_did_not_pass_on_end_the_bytes_shown() {
        let mut w = Watching::new();
        w.apply(at(7, 1, recv(Some(b"\x00d"), 2)));
        w.apply(at(7, 2, recv(None, 100)));
        w.apply(at(7, 3, recv(Some(b"{}"), 2)));
        let a = w.shown().unwrap();
        assert_eq!(a.missing, 102);
        assert_eq!(a.inbound.bytes.len(), 2);
        assert_eq!(a.observe.recv_bytes, 104);
    }

    #[test]
    fn the_command_is_the_tutorials_client_at_the_exposed_address() {
        assert_eq!(
            client_command("app", "127.0.0.1:65432"),
            "python3 app-client.py 127.0.0.1 65432 search morpheus"
        );
        assert_eq!(
            client_command("multiconn", "[::1]:7"),
            "python3 multiconn-client.py ::1 7 2"
        );
    }
}
