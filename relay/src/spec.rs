//! A target as the operator names it (`--target NAME=HOST:PORT`, `--run`,
//! `--expose`): parsed here, resolved and registered by
//! [`targets`](crate::targets). A leaf, so that the flags' parsers
//! (`run`, `expose`) and the registry each take it from here.

use std::fmt;

/// A `--target NAME=HOST:PORT` argument, parsed but not yet resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetSpec {
    pub name: String,
    pub host: String,
    pub port: u16,
}

/// Why a target could not be registered.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TargetError {
    #[error("target {0:?} is not NAME=HOST:PORT")]
    Syntax(String),
    #[error("target name {0:?} must be 1-32 characters of a-z, 0-9, '-' or '_'")]
    BadName(String),
    #[error("target {name:?}: {port:?} is not a port number")]
    BadPort { name: String, port: String },
    #[error("target {0:?} is registered twice")]
    Duplicate(String),
    #[error("target {name:?}: cannot resolve {host:?}: {reason}")]
    Resolve {
        name: String,
        host: String,
        reason: String,
    },
}

/// True for names a URL query can carry unescaped and a UI can show.
pub fn valid_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

impl std::str::FromStr for TargetSpec {
    type Err = TargetError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (name, addr) = text
            .split_once('=')
            .ok_or_else(|| TargetError::Syntax(text.to_owned()))?;
        if !valid_name(name) {
            return Err(TargetError::BadName(name.to_owned()));
        }
        let (host, port) = addr
            .rsplit_once(':')
            .ok_or_else(|| TargetError::Syntax(text.to_owned()))?;
        // "[::1]:65432": brackets belong to the URL form, not to the host.
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if host.is_empty() {
            return Err(TargetError::Syntax(text.to_owned()));
        }
        let port = port.parse().map_err(|_| TargetError::BadPort {
            name: name.to_owned(),
            port: port.to_owned(),
        })?;
        Ok(TargetSpec {
            name: name.to_owned(),
            host: host.to_owned(),
            port,
        })
    }
}

impl fmt::Display for TargetSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "{}=[{}]:{}", self.name, self.host, self.port)
        } else {
            write!(f, "{}={}:{}", self.name, self.host, self.port)
        }
    }
}
