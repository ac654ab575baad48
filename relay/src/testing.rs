//! A relay for tests, started one way for this crate's integration tests
//! (`tests/support`) and the browser tests (`e2e`): on `127.0.0.1:0`, with
//! every embedded server of [`embedded::EMBEDDED`](crate::embedded::EMBEDDED)
//! behind it (with the limits `config` gives them, as the binary does) and
//! any extra targets.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::RelayConfig;
use crate::metrics::Metrics;
use crate::server::Relay;
use crate::targets::Targets;

/// A running test relay.
pub struct TestRelay {
    pub addr: SocketAddr,
    pub metrics: Arc<Metrics>,
    /// Stops the relay (not its embedded servers, which outlive it, so a
    /// test of the relay's shutdown sees the relay's close codes).
    pub shutdown: CancellationToken,
    pub served: JoinHandle<std::io::Result<()>>,
    /// Where the targets asked for in [`TestRelay::start_exposing`] also
    /// listen (`relay --expose`), in the order asked.
    pub exposed: Vec<SocketAddr>,
}

impl TestRelay {
    /// Starts a relay with the embedded servers, `extra` targets (each
    /// described as "test target") and, when given, the playground from
    /// `dist`. Must run inside a tokio runtime; everything stops with it.
    pub async fn start(
        config: RelayConfig,
        extra: &[(&str, SocketAddr, &str)],
        dist: Option<PathBuf>,
    ) -> TestRelay {
        Self::start_exposing(config, extra, dist, &[]).await
    }

    /// [`TestRelay::start`] with the embedded targets `expose` also
    /// listening on loopback ports of their own (`relay --expose`).
    pub async fn start_exposing(
        config: RelayConfig,
        extra: &[(&str, SocketAddr, &str)],
        dist: Option<PathBuf>,
        expose: &[&str],
    ) -> TestRelay {
        let mut targets = Targets::new();
        let servers = CancellationToken::new();
        let mut set = crate::embedded::start(&mut targets, &config, &servers)
            .expect("embedded servers start");
        let mut exposed = Vec::new();
        for name in expose {
            let listener = tutorial::servers::net::bind(
                ([127, 0, 0, 1], 0).into(),
                tutorial::servers::net::DEFAULT_BACKLOG,
            )
            .expect("bind a loopback port");
            let at = crate::embedded::expose(&targets, &mut set, name, listener, &config, &servers)
                .expect("expose");
            exposed.push(at.address);
        }
        // Dropping the task set would abort the servers: detach it instead.
        set.detach_all();
        for (name, addr, description) in extra {
            targets
                .add(name, *addr, (*description).to_owned())
                .expect("a valid extra target");
        }
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("a bound address");
        let relay = Relay::new(config, targets, dist);
        let metrics = relay.metrics();
        let shutdown = CancellationToken::new();
        let served = tokio::spawn(relay.serve(listener, shutdown.clone()));
        TestRelay {
            addr,
            metrics,
            shutdown,
            served,
            exposed,
        }
    }
}
