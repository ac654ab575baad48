//! End-to-end tests of the playground: the relay (with its embedded app and
//! echo servers) serves the release build from `dist/`, and a WebDriver client
//! drives headless Chromium through chromedriver.
//!
//! Where things are:
//! - [`harness`]: what a scenario needs before it starts: the built
//!   playground, a relay on port 0, and [`harness::run`], which skips or
//!   fails loudly when something is missing and checks the console at the end.
//! - [`webdriver`]: chromedriver as a child process, Chromium's flags, and
//!   the browser console read back.
//! - [`dirs`]: the workspace and the `target/` folders for screenshots and
//!   downloads.
//! - [`page`]: the verbs scenarios use: open a share link, click, wait for a
//!   text, take a screenshot, emulate a colour scheme.
//! - [`legible`]: WCAG AA contrast of every text on the page, from the
//!   browser's computed colours.
//! - `tests/`: the scenarios. `measure_budgets.py`: the page's budgets
//!   (size, first render, scrolling), measured and reported, never asserted.
//!
//! Run with `cargo test -p e2e` after `trunk build --release`; set
//! `WIRELAB_SKIP_BROWSER=1` to skip knowingly where there is no browser.

pub mod dirs;
pub mod harness;
pub mod legible;
pub mod page;
pub mod webdriver;
