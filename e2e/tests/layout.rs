//! Laptop and phone layouts (issue 12, items 10, 11 and 13): at 1280×800
//! Send stays in reach and the result scrolls into view; the bytes area
//! keeps its rows for a truncated frame and for 1 MiB; at 390×844 nothing
//! overflows sideways, hex rows hold 8 bytes and the diagram's labels stay
//! legible; colour emoji, dark mode from `prefers-color-scheme`, a legend
//! for chunk boundaries and counted words. Screenshots, light and dark, go
//! to `target/screenshots/`.

use std::net::SocketAddr;

use e2e::harness::run;
use e2e::page::{click, color_scheme, open, screenshot, wait_text};
use fantoccini::Client;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_fits_a_laptop_and_a_phone_in_light_and_dark() {
    run(scenarios).await;
}

async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![]).await.expect(script)
}

/// Whether the element's box lies inside the viewport.
async fn in_view(c: &Client, css: &str) -> bool {
    let script = format!(
        "const r = document.querySelector({css:?}).getBoundingClientRect();
         return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0;"
    );
    js(c, &script).await == json!(true)
}

/// (scrollWidth, clientWidth) of the document.
async fn page_widths(c: &Client) -> (i64, i64) {
    let v = js(
        c,
        "const d = document.documentElement; return [d.scrollWidth, d.clientWidth];",
    )
    .await;
    (v[0].as_i64().unwrap(), v[1].as_i64().unwrap())
}

/// Rows of a hex view in sight, and whether it scrolls sideways.
async fn hex_rows_in_sight(c: &Client, view: &str) -> (i64, bool) {
    let script = format!(
        "const s = document.querySelector('{view} .hex-scroll');
         return [Math.floor(s.clientHeight / 20), s.scrollWidth > s.clientWidth];"
    );
    let v = js(c, &script).await;
    (v[0].as_i64().unwrap(), v[1].as_bool().unwrap())
}

async fn scenarios(c: &Client, relay: SocketAddr) {
    // Laptop: Send in reach on arrival, the result brought into view.
    color_scheme(c, "light").await;
    open(c, relay, "p=morpheus&t=app").await;
    assert!(
        in_view(c, "#send").await,
        "Send is below the fold at 1280x800"
    );
    click(c, "#send").await;
    wait_text(c, "[data-testid=outcome]", |t| !t.is_empty()).await;
    wait_text(c, "#session-summary", |t| !t.is_empty()).await;
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let at = js(
        c,
        "const r = document.querySelector('[data-testid=outcome]').getBoundingClientRect(); return [r.top, r.bottom, window.innerHeight, window.scrollY];",
    )
    .await;
    assert!(
        in_view(c, "[data-testid=outcome]").await,
        "the result did not scroll into view: {at}"
    );
    let summary = wait_text(c, "#session-summary", |t| !t.is_empty()).await;
    assert!(summary.contains("1 reply frame received"), "{summary}");
    let (_, sideways) = hex_rows_in_sight(c, "#hex-in").await;
    assert!(!sideways, "the received bytes scroll sideways at 1280 px");
    let sent = wait_text(c, "#server-sent", |t| !t.is_empty()).await;
    assert!(sent.ends_with("bytes in 1 call"), "{sent}");
    // Drawn with the page's own font stack, an emoji has coloured pixels;
    // a text font's monochrome glyph (DejaVu's) has only greys.
    let coloured = js(
        c,
        "const cv = document.createElement('canvas'); cv.width = 64; cv.height = 64;
         const g = cv.getContext('2d');
         g.font = '40px ' + getComputedStyle(document.body).fontFamily;
         g.fillStyle = '#000'; g.textBaseline = 'top'; g.fillText('\u{1F603}', 4, 4);
         const d = g.getImageData(0, 0, 64, 64).data; let n = 0;
         for (let i = 0; i < d.length; i += 4) {
           if (d[i + 3] > 0 && Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2]) > 60) n++;
         }
         return n;",
    )
    .await;
    assert!(
        coloured.as_u64().unwrap() > 100,
        "😃 drew {coloured} coloured pixels: a monochrome emoji font came first"
    );
    let shot = c.screenshot().await.unwrap();
    std::fs::write(
        e2e::harness::screenshot_dir().join("layout-1280-light.png"),
        shot,
    )
    .unwrap();

    // The content's label follows the content type.
    for (hash, label) in [
        ("p=invalid&t=app", "content (JSON)"),
        (
            "m=custom&ct=text%2Fplain&ce=utf-16&c=hi&t=echo",
            "content (text, sent encoded as utf-16)",
        ),
        (
            "m=custom&ct=image%2Fpng&ce=binary&c=hi&t=echo",
            "content (binary: the UTF-8 bytes of what is typed)",
        ),
    ] {
        open(c, relay, hash).await;
        assert_eq!(
            wait_text(c, "#content-label", |t| !t.is_empty()).await,
            label
        );
    }

    // The bytes area keeps its rows: a truncated frame, then 1 MiB.
    for hash in [
        "p=truncated&t=app".to_owned(),
        format!(
            "m=custom&ct=binary%2Fblob&ce=binary&c={}&t=app",
            "A".repeat(1 << 20)
        ),
    ] {
        open(c, relay, &hash).await;
        let (rows, sideways) = hex_rows_in_sight(c, "#hex-out").await;
        screenshot(c, &format!("layout-1280-bytes-{}", &hash[..1]), "#bytes").await;
        assert!(
            !sideways,
            "{}: the hex view scrolls sideways",
            &hash[..hash.len().min(20)]
        );
        if hash.starts_with("m=") {
            assert!(rows >= 12, "1 MiB: only {rows} rows in sight");
        }
    }
    screenshot(c, "layout-1280-1mib-bytes", "#bytes").await;

    // Chunk boundaries have a legend and sit between digits, not on them.
    open(c, relay, "p=morpheus&t=echo&seg=50&d=20").await;
    click(c, "#send").await;
    wait_text(c, "[data-testid=outcome]", |t| !t.is_empty()).await;
    let legend = wait_text(c, "#hex-in .legend", |t| !t.is_empty()).await;
    assert!(legend.contains("a received chunk starts"), "{legend}");
    screenshot(c, "layout-1280-chunk-legend", "#decode").await;

    // Dark mode follows the system.
    color_scheme(c, "dark").await;
    let bg = js(c, "return getComputedStyle(document.body).backgroundColor").await;
    let rgb: Vec<u32> = bg
        .as_str()
        .unwrap()
        .trim_start_matches("rgb(")
        .trim_end_matches(')')
        .split(',')
        .map(|n| n.trim().parse().unwrap())
        .collect();
    assert!(rgb.iter().all(|&v| v < 60), "dark background is {bg}");
    screenshot(c, "layout-1280-dark", "#compose").await;

    // Phone: nothing wider than the screen, 8 bytes a row, legible labels.
    c.set_window_size(390, 844).await.unwrap();
    for scheme in ["light", "dark"] {
        color_scheme(c, scheme).await;
        open(c, relay, "p=morpheus&t=app").await;
        click(c, "#send").await;
        wait_text(c, "[data-testid=outcome]", |t| !t.is_empty()).await;
        let (scroll, client) = page_widths(c).await;
        assert!(scroll <= client, "{scheme}: {scroll} px wide in {client}");
        let row = js(
            c,
            "return document.querySelector('#hex-out .hex-row .hx').textContent.trim().split(/\\s+/).length",
        )
        .await;
        assert_eq!(row, json!(8), "bytes per hex row at 390 px");
        let label = js(
            c,
            "const t = document.querySelector('#sequence .label');
             return parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a;",
        )
        .await;
        assert!(
            label.as_f64().unwrap() >= 11.0,
            "diagram labels are {label} px"
        );
        screenshot(c, &format!("layout-390-{scheme}"), "#compose").await;
        screenshot(c, &format!("layout-390-{scheme}-bytes"), "#bytes").await;
        screenshot(c, &format!("layout-390-{scheme}-session"), "#timeline").await;
    }
    color_scheme(c, "light").await;
    c.set_window_size(1280, 800).await.unwrap();
}
