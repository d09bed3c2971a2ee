//! A whole message through `Engine::inspect`: MIME, extraction (documents
//! parsed in process: no worker), detectors and policy.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use schoolgate::{Config, Engine, Envelope, RulePack};

fuzz_target!(|data: &[u8]| {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    let engine = ENGINE.get_or_init(|| Engine::new(Config::default(), RulePack::builtin()));
    schoolgate_fuzz::guarded(|| engine.inspect(data, &Envelope::default()));
});
