//! The docs say what the code decides: the README's flag tables give the
//! relay's defaults as `relay::config` names them, every place that lists
//! the embedded targets lists `relay::embedded::EMBEDDED`, and nginx's
//! timeouts in `deploy/nginx/wirelab.conf` stay above the relay's (its
//! comments quote the relay's defaults, which must be the defaults).

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use relay::config::{
    RelayConfig, DEFAULT_CLOSE_GRACE, DEFAULT_DIST, DEFAULT_IDLE_TIMEOUT, DEFAULT_LISTEN,
};
use relay::embedded::{self, EMBEDDED};
use tutorial::cli::parse_duration;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("relay/ sits in the workspace")
        .to_path_buf()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(workspace().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The relay flag `long`'s default as `relay --help` shows it: its values
/// joined, or `None` for a flag without one.
fn relay_default(long: &str) -> Option<Option<String>> {
    match long {
        // The binary's own flags, beside the flattened RelayConfig.
        "listen" => return Some(Some(DEFAULT_LISTEN.into())),
        "dist" => return Some(Some(DEFAULT_DIST.into())),
        "target" => return Some(None),
        "no-embedded" => return Some(Some("false".into())),
        _ => {}
    }
    let command = RelayConfig::augment_args(clap::Command::new("relay"));
    let arg = command
        .get_arguments()
        .find(|a| a.get_long() == Some(long))?;
    let values: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    Some((!values.is_empty()).then(|| values.join(", ")))
}

/// The table rows about relay flags, as (flag, default cell, whole row):
/// rows whose first cell is a flag in a section whose heading names the
/// relay ("## The relay"), and rows whose first cell is `relay` anywhere.
fn relay_flag_rows(text: &str) -> Vec<(String, String, String)> {
    let mut rows = Vec::new();
    let mut about_the_relay = false;
    for line in text.lines() {
        if line.starts_with("## ") || line.starts_with("### ") {
            about_the_relay = line.to_lowercase().contains("relay");
        }
        if !line.starts_with('|') {
            continue;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // "| a | b |" splits into ["", "a", "b", ""].
        let cells = &cells[1..cells.len().saturating_sub(1)];
        let (flag, default) = match cells {
            [flag, default, ..] if about_the_relay && flag.starts_with("`--") => (*flag, *default),
            ["relay", flag, default, ..] if flag.starts_with("`--") => (*flag, *default),
            _ => continue,
        };
        let long = flag
            .trim_start_matches("`--")
            .split(['`', ' '])
            .next()
            .unwrap()
            .to_owned();
        rows.push((long, default.to_owned(), line.to_owned()));
    }
    rows
}

/// A default cell as the README writes it, without backticks and the
/// explanation in parentheses (`16777216 (16 MiB)`).
fn written_default(cell: &str) -> String {
    let cell = cell.replace('`', "");
    match cell.find(" (") {
        Some(at) => cell[..at].to_owned(),
        None => cell,
    }
}

/// The README and every page in docs/, where the flag tables may move.
fn docs() -> Vec<(String, String)> {
    let mut paths = vec!["README.md".to_owned()];
    let mut pages: Vec<String> = std::fs::read_dir(workspace().join("docs"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("docs/{name}"))
        .collect();
    pages.sort();
    paths.extend(pages);
    paths
        .into_iter()
        .map(|path| {
            let text = read(&path);
            (path, text)
        })
        .collect()
}

#[test]
fn the_docs_flag_tables_give_the_relays_defaults() {
    let rows: Vec<_> = docs()
        .iter()
        .flat_map(|(path, text)| {
            relay_flag_rows(text)
                .into_iter()
                .map(move |(long, cell, row)| (long, cell, format!("{path}: {row}")))
        })
        .collect();
    assert!(
        rows.len() >= 20,
        "found only {} relay flag rows",
        rows.len()
    );
    for (long, cell, row) in rows {
        let Some(default) = relay_default(&long) else {
            panic!("README names --{long}, which the relay does not have: {row}");
        };
        let written = written_default(&cell);
        match default.as_deref() {
            None => assert!(
                written == "—" || written == "off",
                "--{long} has no default; README says {written:?}: {row}"
            ),
            Some("false") => assert_eq!(written, "off", "--{long}: {row}"),
            Some(value) => assert_eq!(written, value, "--{long}: {row}"),
        }
    }
}

/// Paragraphs, list items, table rows and code blocks, each one piece of text.
fn blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current = String::new();
    let mut in_code = false;
    for line in text.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
        }
        // A list item starts a block of its own.
        if !in_code && line.starts_with("- ") {
            blocks.push(std::mem::take(&mut current));
        }
        let ends = !in_code && (line.trim().is_empty() || line.starts_with('|'));
        if ends {
            blocks.push(std::mem::take(&mut current));
            if line.starts_with('|') {
                blocks.push(line.to_owned());
            }
            continue;
        }
        current.push_str(line);
        current.push('\n');
    }
    blocks.push(current);
    blocks
}

#[test]
fn every_list_of_the_embedded_targets_names_them_all() {
    let names: Vec<String> = embedded::names().map(|n| format!("`{n}`")).collect();
    let mut pages = docs();
    pages.push(("deploy/README.md".to_owned(), read("deploy/README.md")));
    for (path, text) in &pages {
        for block in blocks(text) {
            if !block.to_lowercase().contains("embedded") {
                continue;
            }
            let named: Vec<&String> = names.iter().filter(|n| block.contains(*n)).collect();
            if named.len() >= 2 {
                let missing: Vec<&String> = names.iter().filter(|n| !block.contains(*n)).collect();
                assert!(
                    missing.is_empty(),
                    "{path} lists embedded targets without {missing:?} \
                     (relay::embedded::EMBEDDED has {}): {block}",
                    EMBEDDED.len()
                );
            }
        }
    }
    assert!(embedded::no_embedded_help().contains(&EMBEDDED.map(|t| t.name).join(", ")));
}

/// `directive value;` in `text` (the first one from `from` on).
fn directive(text: &str, from: usize, name: &str) -> Duration {
    let at = text[from..]
        .find(&format!("{name} "))
        .unwrap_or_else(|| panic!("no {name}"))
        + from;
    let value = text[at + name.len()..].trim_start();
    let value = &value[..value.find(';').unwrap()];
    parse_duration(value).unwrap_or_else(|e| panic!("{name} {value}: {e}"))
}

#[test]
fn nginx_waits_longer_than_the_relay_and_quotes_its_defaults() {
    let conf = read("deploy/nginx/wirelab.conf");
    let ws = conf.find("location = /ws").expect("the /ws location");
    // The relay ends a quiet session (idle timeout, then the close
    // handshake) before nginx cuts it without a close frame.
    for name in ["proxy_read_timeout", "proxy_send_timeout"] {
        let nginx = directive(&conf, ws, name);
        assert!(
            nginx > DEFAULT_IDLE_TIMEOUT + DEFAULT_CLOSE_GRACE,
            "{name} {nginx:?} is not above the relay's --idle-timeout {DEFAULT_IDLE_TIMEOUT:?} + --close-grace {DEFAULT_CLOSE_GRACE:?}"
        );
    }
    // Every `--flag VALUE` (or `--flag (VALUE`) a comment quotes is the default.
    let mut quoted = 0;
    for comment in conf
        .lines()
        .filter_map(|l| l.split_once('#').map(|(_, c)| c))
    {
        let mut rest = comment;
        while let Some(at) = rest.find("--") {
            rest = &rest[at + 2..];
            let long: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '-')
                .collect();
            let value: String = rest[long.len()..]
                .trim_start_matches([' ', '('])
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            if value.is_empty() || !value.starts_with(|c: char| c.is_ascii_digit()) {
                continue;
            }
            let default = relay_default(&long)
                .unwrap_or_else(|| panic!("nginx's comment names --{long}, not a relay flag"));
            // A flag without a default (--trusted-proxy) is quoted as set.
            let Some(default) = default else { continue };
            assert_eq!(value, default, "nginx's comment: --{long}");
            quoted += 1;
        }
    }
    assert!(
        quoted >= 3,
        "the site quotes the relay's defaults ({quoted})"
    );
}
