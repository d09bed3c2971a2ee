//! What the fixture-driven test files share: the fixture folder, the engine
//! configured as `fixtures/schoolgate.toml` says, and the list of messages.

// Each test file uses its own subset of these.
#![allow(dead_code)]

pub mod sink;

use std::path::{Path, PathBuf};

use schoolgate::{Engine, RulePack, config::Config};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

pub fn engine() -> Engine {
    let config = Config::load(&fixtures().join("schoolgate.toml")).expect("fixture config is valid");
    Engine::new(config, RulePack::builtin())
}

/// Every `.eml` under `fixtures/messages/`, sorted.
pub fn messages() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fixtures().join("messages"))
        .expect("fixtures/messages exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    paths.sort();
    paths
}

/// Fail with every collected failure listed, not just the first.
pub fn assert_no_failures(failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
