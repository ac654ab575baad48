//! Issue 20, item 4: every text on every tab, light and dark, at 1280×800
//! and 390×844, meets WCAG AA, measured from the browser's computed colours
//! (`e2e::legible`). Each tab is first filled the way a learner fills it (a
//! session to `echo`, the framing presets, four connections), so what is
//! checked is what a learner reads. Screenshots of each go to
//! `target/screenshots/legible-*.png`.

use std::net::SocketAddr;
use std::time::Duration;

use e2e::harness::{run, screenshot_dir, LAPTOP};
use e2e::legible::offenders;
use e2e::page::{click, color_scheme, open, wait_text};
use fantoccini::{Client, Locator};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_text_on_every_tab_meets_wcag_aa_light_and_dark_laptop_and_phone() {
    run(scenarios).await;
}

/// Fills a tab the way a learner would, so its panels have their text.
async fn fill(c: &Client, tab: &str) {
    match tab {
        "tab-playground" => {
            click(c, "#send").await;
            wait_text(c, ".why-none", |t| !t.is_empty()).await;
        }
        "tab-framing" => {
            click(c, "#preset-too-long").await;
            click(c, "#framing-send").await;
            wait_text(c, "#col-fixed .explain", |t| t.contains("It holds 6")).await;
            wait_text(c, "#col-close .waits", |t| t.contains("22 bytes")).await;
        }
        "tab-many" => {
            c.find(Locator::Css("#many-count option[value='2']"))
                .await
                .expect("a choice of 2")
                .click()
                .await
                .expect("choose 2");
            click(c, "#many-start").await;
            for n in 1..=2 {
                let row = format!("#many-conns tr[data-conn='{n}'] .state");
                wait_text(c, &row, |t| t.starts_with("closed")).await;
            }
        }
        _ => {}
    }
}

async fn scenarios(c: &Client, relay: SocketAddr) {
    open(c, relay, "p=morpheus&t=echo").await;
    let mut tabs = Vec::new();
    for el in c
        .find_all(Locator::Css("nav.tabs [role=tab]"))
        .await
        .expect("the tab bar")
    {
        tabs.push(el.attr("id").await.unwrap().unwrap_or_default());
    }
    assert!(tabs.len() >= 3, "{tabs:?}");
    let mut failures = Vec::new();
    for tab in &tabs {
        open(c, relay, "p=morpheus&t=echo").await;
        click(c, &format!("#{tab}")).await;
        fill(c, tab).await;
        for scheme in ["light", "dark"] {
            color_scheme(c, scheme).await;
            for (w, h) in [LAPTOP, (390, 844)] {
                c.set_window_size(w, h).await.expect("window size");
                tokio::time::sleep(Duration::from_millis(300)).await;
                let shot = c.screenshot().await.expect("screenshot");
                std::fs::write(
                    screenshot_dir().join(format!("legible-{tab}-{scheme}-{w}.png")),
                    shot,
                )
                .expect("write screenshot");
                for line in offenders(c).await {
                    failures.push(format!("{tab} {scheme} {w}px: {line}"));
                }
            }
        }
        color_scheme(c, "light").await;
        c.set_window_size(LAPTOP.0, LAPTOP.1).await.expect("laptop");
    }
    assert!(
        failures.is_empty(),
        "{} texts below WCAG AA:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
