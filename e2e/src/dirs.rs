//! Where things are on disk: the workspace, and the `target/` folders the
//! scenarios leave screenshots and downloads in. A leaf: the harness and
//! the WebDriver code both use it.

use std::path::{Path, PathBuf};

/// The workspace root (this crate sits in it).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("e2e/ sits in the workspace")
        .to_path_buf()
}

/// `target/screenshots/`, where every scenario leaves what a reviewer looks at.
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"));
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).expect("create target/screenshots");
    dir
}

/// `target/downloads/`: where the browser saves what the page offers as a
/// download.
pub fn download_dir() -> PathBuf {
    let dir = screenshot_dir()
        .parent()
        .expect("target/screenshots has a parent")
        .join("downloads");
    std::fs::create_dir_all(&dir).expect("create target/downloads");
    dir
}
