//! The named-target registry: the only way the relay reaches a host.
//!
//! A browser names a target (`/ws?target=app`); it never gives a host or a
//! port. Targets come from the operator only: the embedded servers and
//! `--target NAME=HOST:PORT`, resolved once at startup, so a page cannot
//! turn the relay into an open proxy into the user's network.

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::observe::Hub;
use crate::run::RunTarget;

/// One reachable TCP endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    pub description: String,
    pub address: SocketAddr,
    /// An embedded server: its side of each connection can be observed.
    /// (A traced `--run` program counts as one.)
    pub embedded: bool,
    /// The program behind a `--run` target.
    pub program: Option<RunTarget>,
}

pub use crate::spec::{valid_name, TargetError, TargetSpec};

/// The registry, in name order, and the [`Hub`] through which the embedded
/// targets' servers report what observed sessions' connections do.
#[derive(Debug, Clone, Default)]
pub struct Targets {
    by_name: BTreeMap<String, Target>,
    hub: Arc<Hub>,
}

impl Targets {
    pub fn new() -> Self {
        Targets::default()
    }

    /// Registers `name` at `address`.
    pub fn add(
        &mut self,
        name: &str,
        address: SocketAddr,
        description: String,
    ) -> Result<(), TargetError> {
        self.insert(name, address, description, false)
    }

    /// Registers an embedded server (one started with [`Targets::hub`] as
    /// its hook), whose side of observed sessions is shown too.
    pub fn add_embedded(
        &mut self,
        name: &str,
        address: SocketAddr,
        description: String,
    ) -> Result<(), TargetError> {
        self.insert(name, address, description, true)
    }

    /// Registers the program `--run` started at `address`; `traced`: its
    /// side of observed sessions is shown (like an embedded server's).
    pub fn add_run(
        &mut self,
        name: &str,
        address: SocketAddr,
        description: String,
        traced: bool,
        run: RunTarget,
    ) -> Result<(), TargetError> {
        self.insert(name, address, description, traced)?;
        if let Some(target) = self.by_name.get_mut(name) {
            target.program = Some(run);
        }
        Ok(())
    }

    /// Where embedded servers report observed connections.
    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    fn insert(
        &mut self,
        name: &str,
        address: SocketAddr,
        description: String,
        embedded: bool,
    ) -> Result<(), TargetError> {
        if !valid_name(name) {
            return Err(TargetError::BadName(name.to_owned()));
        }
        if self.by_name.contains_key(name) {
            return Err(TargetError::Duplicate(name.to_owned()));
        }
        self.by_name.insert(
            name.to_owned(),
            Target {
                name: name.to_owned(),
                description,
                address,
                embedded,
                program: None,
            },
        );
        Ok(())
    }

    /// Resolves a `--target` once (the first address wins) and registers it.
    pub async fn add_spec(&mut self, spec: &TargetSpec) -> Result<(), TargetError> {
        self.add_spec_with(spec, |host, port| async move {
            tokio::net::lookup_host((host.as_str(), port))
                .await
                .map(Iterator::collect)
        })
        .await
    }

    /// [`Targets::add_spec`] with another resolver: it is asked once, here,
    /// and the registry keeps its first address for good (a host whose DNS
    /// changes later does not move the target).
    async fn add_spec_with<F, Fut>(
        &mut self,
        spec: &TargetSpec,
        resolve: F,
    ) -> Result<(), TargetError>
    where
        F: FnOnce(String, u16) -> Fut,
        Fut: Future<Output = io::Result<Vec<SocketAddr>>>,
    {
        let resolve_error = |reason: String| TargetError::Resolve {
            name: spec.name.clone(),
            host: spec.host.clone(),
            reason,
        };
        let address = resolve(spec.host.clone(), spec.port)
            .await
            .map_err(|e| resolve_error(e.to_string()))?
            .into_iter()
            .next()
            .ok_or_else(|| resolve_error("no addresses".to_owned()))?;
        self.add(
            &spec.name,
            address,
            format!("a TCP server (--target {})", spec.name),
        )
    }

    pub fn get(&self, name: &str) -> Option<&Target> {
        self.by_name.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Target> {
        self.by_name.values()
    }

    pub fn names(&self) -> Vec<&str> {
        self.by_name.keys().map(String::as_str).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_argument_is_name_equals_host_colon_port() {
        let spec: TargetSpec = "py-app=127.0.0.1:65432".parse().unwrap();
        assert_eq!(
            spec,
            TargetSpec {
                name: "py-app".into(),
                host: "127.0.0.1".into(),
                port: 65432
            }
        );
        let v6: TargetSpec = "v6=[::1]:7".parse().unwrap();
        assert_eq!(v6.host, "::1");
        assert_eq!(v6.to_string(), "v6=[::1]:7");
    }

    #[test]
    fn malformed_target_arguments_are_refused() {
        assert!(matches!(
            "app".parse::<TargetSpec>(),
            Err(TargetError::Syntax(_))
        ));
        assert!(matches!(
            "App=1.2.3.4:5".parse::<TargetSpec>(),
            Err(TargetError::BadName(_))
        ));
        assert!(matches!(
            "a=host:99999".parse::<TargetSpec>(),
            Err(TargetError::BadPort { .. })
        ));
        assert!(matches!(
            "a=:80".parse::<TargetSpec>(),
            Err(TargetError::Syntax(_))
        ));
    }

    #[test]
    fn names_are_unique_and_host_like_names_are_not_names() {
        let mut targets = Targets::new();
        let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
        targets.add("echo", addr, "echo".into()).unwrap();
        assert_eq!(
            targets.add("echo", addr, "again".into()),
            Err(TargetError::Duplicate("echo".into()))
        );
        assert!(!valid_name("127.0.0.1:22"));
        assert!(targets.get("127.0.0.1:22").is_none());
    }

    #[tokio::test]
    async fn a_spec_is_resolved_once_at_registration() {
        let spec: TargetSpec = "local=some-host:65432".parse().unwrap();
        let first: SocketAddr = "192.0.2.7:65432".parse().unwrap();
        let second: SocketAddr = "[2001:db8::7]:65432".parse().unwrap();
        let asked = std::cell::Cell::new(0);
        let mut targets = Targets::new();
        targets
            .add_spec_with(&spec, |host, port| {
                asked.set(asked.get() + 1);
                assert_eq!((host.as_str(), port), ("some-host", 65432));
                async move { Ok(vec![first, second]) }
            })
            .await
            .unwrap();
        assert_eq!(asked.get(), 1);
        let target = targets.get("local").unwrap();
        assert_eq!(target.address, first);
        assert_eq!(
            target.description, "a TCP server (--target local)",
            "the address only in TargetInfo.address, with --show-addresses"
        );
    }

    #[tokio::test]
    async fn a_spec_that_resolves_to_nothing_is_refused() {
        let spec: TargetSpec = "gone=nowhere:1".parse().unwrap();
        let mut targets = Targets::new();
        let err = targets
            .add_spec_with(&spec, |_, _| async { Ok(Vec::new()) })
            .await
            .unwrap_err();
        assert_eq!(
            err,
            TargetError::Resolve {
                name: "gone".into(),
                host: "nowhere".into(),
                reason: "no addresses".into()
            }
        );
        assert!(targets.is_empty());
    }

    #[tokio::test]
    async fn an_ip_literal_spec_needs_no_resolver() {
        let mut targets = Targets::new();
        let spec: TargetSpec = "v6=[::1]:65432".parse().unwrap();
        targets.add_spec(&spec).await.unwrap();
        assert_eq!(
            targets.get("v6").unwrap().address,
            "[::1]:65432".parse::<SocketAddr>().unwrap()
        );
    }
}
