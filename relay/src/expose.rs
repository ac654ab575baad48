//! `--expose NAME=HOST:PORT`: an embedded target also listens at a loopback
//! address of the operator's choosing, for the learner's own clients
//! (`python3 app-client.py 127.0.0.1 65432 search morpheus`). The server
//! behind it is the same code with the same limits as the target's; each
//! connection that arrives there is streamed to `/ws?watch=NAME`
//! ([`crate::observe::watch`]).
//!
//! The checks here run before anything listens: which targets can be
//! exposed, loopback only, and never on a relay with `--public-origin` (a
//! public relay opens no port for programs on its own machine).

use std::net::SocketAddr;

use crate::config::RelayConfig;
use crate::spec::TargetSpec;

/// The embedded targets a learner's client can talk to: the tutorial's
/// app, echo and multi-connection servers and the framing lab's four (the
/// blackhole never reads, so there is nothing to watch).
pub const EXPOSABLE: [&str; 7] = [
    "app",
    "echo",
    "multiconn",
    "fixed",
    "lines",
    "prefix",
    "close",
];

/// Why an `--expose` was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ExposeError {
    #[error(
        "--expose is refused with --public-origin: a public relay opens no port for programs on its machine"
    )]
    Public,
    #[error("--expose needs the embedded servers: drop --no-embedded")]
    NoEmbedded,
    #[error("--expose {spec}: {name:?} cannot be exposed; these can: {}", EXPOSABLE.join(", "))]
    NotExposable { spec: String, name: String },
    #[error("--expose {0}: that target is exposed twice")]
    Duplicate(String),
    #[error("--expose {spec}: {address} is not a loopback address; --expose listens on loopback only (127.0.0.1, ::1, localhost)")]
    NotLoopback { spec: String, address: SocketAddr },
    #[error("--expose {spec}: cannot resolve {host:?}: {reason}")]
    Resolve {
        spec: String,
        host: String,
        reason: String,
    },
}

/// Checks every `--expose` against the others and the relay's options,
/// before anything is resolved or bound.
pub fn check(
    specs: &[TargetSpec],
    config: &RelayConfig,
    embedded: bool,
) -> Result<(), ExposeError> {
    if specs.is_empty() {
        return Ok(());
    }
    if !config.public_origins.is_empty() {
        return Err(ExposeError::Public);
    }
    if !embedded {
        return Err(ExposeError::NoEmbedded);
    }
    for (i, spec) in specs.iter().enumerate() {
        if !EXPOSABLE.contains(&spec.name.as_str()) {
            return Err(ExposeError::NotExposable {
                spec: spec.to_string(),
                name: spec.name.clone(),
            });
        }
        if specs[..i].iter().any(|s| s.name == spec.name) {
            return Err(ExposeError::Duplicate(spec.name.clone()));
        }
    }
    Ok(())
}

/// The loopback address `spec` names (its host resolved once; the first
/// address wins, and it must be a loopback one).
pub fn address(spec: &TargetSpec) -> Result<SocketAddr, ExposeError> {
    let address = tutorial::servers::net::resolve(&spec.host, spec.port).map_err(|e| {
        ExposeError::Resolve {
            spec: spec.to_string(),
            host: spec.host.clone(),
            reason: e.to_string(),
        }
    })?;
    if !address.ip().is_loopback() {
        return Err(ExposeError::NotLoopback {
            spec: spec.to_string(),
            address,
        });
    }
    Ok(address)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs(texts: &[&str]) -> Vec<TargetSpec> {
        texts.iter().map(|t| t.parse().unwrap()).collect()
    }

    #[test]
    fn only_embedded_targets_on_loopback_of_a_private_relay_are_exposed() {
        let config = RelayConfig::default();
        let ok = specs(&["app=127.0.0.1:65432", "lines=[::1]:0"]);
        assert_eq!(check(&ok, &config, true), Ok(()));
        assert_eq!(check(&ok, &config, false), Err(ExposeError::NoEmbedded));
        let public = RelayConfig {
            public_origins: vec!["https://wirelab.example.edu".into()],
            ..RelayConfig::default()
        };
        assert_eq!(check(&ok, &public, true), Err(ExposeError::Public));
        assert_eq!(check(&[], &public, true), Ok(()));
        assert!(matches!(
            check(&specs(&["blackhole=127.0.0.1:1"]), &config, true),
            Err(ExposeError::NotExposable { .. })
        ));
        assert_eq!(
            check(
                &specs(&["app=127.0.0.1:1", "app=127.0.0.1:2"]),
                &config,
                true
            ),
            Err(ExposeError::Duplicate("app".into()))
        );
        let spec: TargetSpec = "app=0.0.0.0:65432".parse().unwrap();
        assert!(matches!(
            address(&spec),
            Err(ExposeError::NotLoopback { .. })
        ));
        let spec: TargetSpec = "app=localhost:65432".parse().unwrap();
        assert!(address(&spec).unwrap().ip().is_loopback());
        let spec: TargetSpec = "app=[::1]:7".parse().unwrap();
        assert_eq!(address(&spec).unwrap(), "[::1]:7".parse().unwrap());
    }
}
