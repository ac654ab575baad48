//! Who the relay is ([`Identity`]): the `Host`s it answers to and the
//! origins that are its own, and the checks of a request's `Host` and
//! `Origin` against them.

use std::net::SocketAddr;

use axum::http::{header, HeaderMap, StatusCode, Uri, Version};
use tutorial::truncate::for_log;

use crate::config::RelayConfig;

/// Who the relay is: the `Host`s it answers to and the origins that are
/// its own. A DNS-rebinding page controls both `Host` and `Origin` (its own
/// name, resolved to the relay), so comparing the two proves nothing; both
/// are compared with what the relay knows of itself instead.
#[derive(Debug, Default)]
pub struct Identity {
    /// Lower-case `scheme://authority`: pages served from these are same-origin.
    origins: Vec<String>,
    /// Lower-case authorities (`host[:port]`) accepted in `Host`.
    hosts: Vec<String>,
}

impl Identity {
    /// `listen`: the listener's address. On loopback or a wildcard address
    /// the loopback names (`127.0.0.1`, `localhost`, `[::1]`) with its port
    /// are the relay's own too. `--public-origin`s are own origins;
    /// `--allow-origin`s only lend their authority to `Host`.
    pub fn new(listen: Option<SocketAddr>, config: &RelayConfig) -> Identity {
        let mut id = Identity::default();
        if let Some(listen) = listen {
            let port = listen.port();
            if !listen.ip().is_unspecified() {
                id.own(&listen.to_string());
            }
            if listen.ip().is_loopback() || listen.ip().is_unspecified() {
                for name in ["127.0.0.1", "localhost", "[::1]"] {
                    id.own(&format!("{name}:{port}"));
                    // trunk's HTTP proxy sets `Host` to the backend's host
                    // without its port; no rebinding page can send these names.
                    id.host(name);
                }
            }
        }
        for origin in &config.public_origins {
            let (scheme, authority) = split_origin(origin);
            id.origins.push(format!("{scheme}://{authority}"));
            id.host(authority);
            // The default port is left out by browsers, and may be written by others.
            let default = if scheme == "https" { "443" } else { "80" };
            match authority.rsplit_once(':') {
                Some((host, port)) if port == default && !host.is_empty() => id.host(host),
                Some((_, port)) if port.chars().all(|c| c.is_ascii_digit()) => {}
                _ => id.host(&format!("{authority}:{default}")),
            }
        }
        for origin in &config.allowed_origins {
            let lower = origin.to_ascii_lowercase();
            let (_, authority) = split_origin(&lower);
            if !authority.is_empty() {
                id.host(authority);
            }
        }
        id
    }

    /// An authority served over plain http by the relay itself.
    fn own(&mut self, authority: &str) {
        self.origins.push(format!("http://{authority}"));
        self.host(authority);
    }

    fn host(&mut self, authority: &str) {
        let authority = authority.to_ascii_lowercase();
        if !self.hosts.contains(&authority) {
            self.hosts.push(authority);
        }
    }

    fn is_own_origin(&self, origin: &str) -> bool {
        self.origins.iter().any(|o| o.eq_ignore_ascii_case(origin))
    }

    fn is_own_host(&self, host: &str) -> bool {
        self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    }
}

/// (scheme, authority) of `scheme://authority[/…]`; ("", "") for anything else.
fn split_origin(origin: &str) -> (&str, &str) {
    match origin.split_once("://") {
        Some((scheme, rest)) => (scheme, rest.split('/').next().unwrap_or("")),
        None => ("", ""),
    }
}

pub(super) fn host_allowed(
    headers: &HeaderMap,
    uri: &Uri,
    version: Version,
    identity: &Identity,
) -> Result<(), (StatusCode, String)> {
    let bad = |why: &str| (StatusCode::BAD_REQUEST, why.to_owned());
    let mut hosts = headers.get_all(header::HOST).iter();
    let host = match (hosts.next(), hosts.next()) {
        (Some(_), Some(_)) => return Err(bad("more than one Host header")),
        (Some(host), None) => host.to_str().map_err(|_| bad("Host is not ASCII"))?,
        // HTTP/2 names the authority in the request line instead.
        (None, _) if version >= Version::HTTP_2 => match uri.authority() {
            Some(authority) => authority.as_str(),
            None => return Err(bad("no Host header")),
        },
        (None, _) => return Err(bad("no Host header")),
    };
    if identity.is_own_host(host) {
        return Ok(());
    }
    Err((
        StatusCode::MISDIRECTED_REQUEST,
        format!(
            "this relay does not answer to Host {:?}: only to its own address (or a --public-origin)",
            for_log(host)
        ),
    ))
}

/// One of the relay's own origins (scheme included), or listed in
/// `--allow-origin`; no Origin at all means not a browser, which Origin
/// checks cannot judge (the `Host` check still applies to it).
pub(super) fn origin_allowed(
    headers: &HeaderMap,
    identity: &Identity,
    allowed: &[String],
) -> Result<(), String> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin
        .to_str()
        .map_err(|_| "origin is not ASCII".to_owned())?;
    if identity.is_own_origin(origin) || allowed.iter().any(|a| a.eq_ignore_ascii_case(origin)) {
        return Ok(());
    }
    Err(format!(
        "origin {} is not allowed (the relay's own, --public-origin or --allow-origin only)",
        for_log(origin)
    ))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        if let Some(o) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_str(o).unwrap());
        }
        h
    }

    fn identity(listen: &str, public: &[&str]) -> Identity {
        let config = RelayConfig {
            public_origins: public.iter().map(|o| o.to_string()).collect(),
            ..RelayConfig::default()
        };
        Identity::new(Some(listen.parse().unwrap()), &config)
    }

    #[test]
    fn own_and_listed_origins_pass_others_do_not() {
        let id = identity("127.0.0.1:8780", &[]);
        let allowed = vec!["http://127.0.0.1:8080".to_owned()];
        let ok = |origin: Option<&str>| {
            origin_allowed(&headers(origin, "127.0.0.1:8780"), &id, &allowed).is_ok()
        };
        assert!(ok(Some("http://127.0.0.1:8780")));
        assert!(ok(Some("http://localhost:8780")));
        assert!(ok(Some("http://[::1]:8780")));
        assert!(ok(Some("http://127.0.0.1:8080")));
        assert!(ok(None));
        assert!(!ok(Some("https://evil.example")));
        assert!(!ok(Some("null")));
        // Same host, another port is another origin; https is another scheme.
        assert!(!ok(Some("http://127.0.0.1:9999")));
        assert!(!ok(Some("https://127.0.0.1:8780")));
        // A rebinding page's Origin matches its Host, which no longer counts.
        assert!(origin_allowed(
            &headers(Some("http://evil.example:8780"), "evil.example:8780"),
            &id,
            &allowed
        )
        .is_err());
    }

    #[test]
    fn hosts_are_the_relays_own_names() {
        let check = |id: &Identity, host: &str| {
            host_allowed(
                &headers(None, host),
                &Uri::from_static("/"),
                Version::HTTP_11,
                id,
            )
            .map_err(|(status, _)| status.as_u16())
        };
        let id = identity("127.0.0.1:8780", &[]);
        for host in [
            "127.0.0.1:8780",
            "LOCALHOST:8780",
            "[::1]:8780",
            "localhost",
            "127.0.0.1:8080",
        ] {
            assert_eq!(check(&id, host), Ok(()), "{host}");
        }
        for host in ["evil.example:8780", "127.0.0.1:9999", "wirelab.example.edu"] {
            assert_eq!(check(&id, host), Err(421), "{host}");
        }
        // A wildcard listen address: the loopback names, not 0.0.0.0.
        let id = identity("0.0.0.0:8780", &[]);
        assert_eq!(check(&id, "localhost:8780"), Ok(()));
        assert_eq!(check(&id, "10.0.0.5:8780"), Err(421));
        // A specific address: itself only.
        let id = identity("10.0.0.5:8780", &["https://wirelab.example.edu"]);
        assert_eq!(check(&id, "10.0.0.5:8780"), Ok(()));
        assert_eq!(check(&id, "localhost:8780"), Err(421));
        assert_eq!(check(&id, "wirelab.example.edu"), Ok(()));
        assert_eq!(check(&id, "wirelab.example.edu:443"), Ok(()));
        assert!(id.is_own_origin("https://wirelab.example.edu"));
        assert!(!id.is_own_origin("http://wirelab.example.edu"));
        assert!(!id.is_own_origin("http://10.0.0.5:8780/"));
        // No Host (HTTP/1.1), or two: 400.
        let none = host_allowed(
            &HeaderMap::new(),
            &Uri::from_static("/"),
            Version::HTTP_11,
            &id,
        );
        assert_eq!(none.unwrap_err().0, StatusCode::BAD_REQUEST);
        let mut two = headers(None, "10.0.0.5:8780");
        two.append(header::HOST, HeaderValue::from_static("10.0.0.5:8780"));
        let two = host_allowed(&two, &Uri::from_static("/"), Version::HTTP_11, &id);
        assert_eq!(two.unwrap_err().0, StatusCode::BAD_REQUEST);
    }
}
