//! Golden verdicts: every `.eml` under `fixtures/messages/` is scanned with
//! `fixtures/schoolgate.toml`, with LF and with CRLF line endings, and the
//! verdict JSON must equal `fixtures/verdicts/NAME.json` byte for byte. A
//! mismatch writes `NAME.actual.json` beside the golden file for review;
//! `SCHOOLGATE_BLESS=1 cargo test --test golden` rewrites the golden files.
//!
//! Independently of the golden files, `fixtures/expected.toml` states what
//! each fixture is meant to show (action and rules, written by hand), so a
//! blessed golden file cannot quietly bless a wrong verdict.

mod common;

use common::{assert_no_failures, engine, fixtures, messages};
use std::collections::BTreeMap;

use schoolgate::{Envelope, Kind};
use serde::Deserialize;

fn with_line_endings(raw: &[u8], crlf: bool) -> Vec<u8> {
    let mut lf = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\r' && raw.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        lf.push(raw[i]);
        i += 1;
    }
    if !crlf {
        return lf;
    }
    let mut out = Vec::with_capacity(lf.len() + lf.len() / 40);
    for b in lf {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

#[test]
fn every_fixture_gives_its_golden_verdict() {
    let engine = engine();
    let paths = messages();
    assert!(
        paths.len() >= 60,
        "expected at least 60 fixtures, found {}",
        paths.len()
    );
    let bless = std::env::var_os("SCHOOLGATE_BLESS").is_some();
    let verdicts = fixtures().join("verdicts");
    std::fs::create_dir_all(&verdicts).expect("verdicts dir");
    let mut failures = Vec::new();
    for path in &paths {
        let name = path.file_stem().expect("file name").to_string_lossy().to_string();
        let raw = std::fs::read(path).expect("readable fixture");
        let lf = engine
            .inspect(&with_line_endings(&raw, false), &Envelope::default())
            .to_json()
            + "\n";
        let crlf = engine
            .inspect(&with_line_endings(&raw, true), &Envelope::default())
            .to_json()
            + "\n";
        if lf != crlf {
            failures.push(format!("{name}: LF and CRLF verdicts differ"));
        }
        let golden_path = verdicts.join(format!("{name}.json"));
        let actual_path = verdicts.join(format!("{name}.actual.json"));
        if bless {
            std::fs::write(&golden_path, &lf).expect("write golden");
            let _ = std::fs::remove_file(&actual_path);
            continue;
        }
        match std::fs::read_to_string(&golden_path) {
            Ok(golden) if golden == lf => {
                let _ = std::fs::remove_file(&actual_path);
            }
            Ok(_) => {
                std::fs::write(&actual_path, &lf).expect("write actual");
                failures.push(format!("{name}: verdict differs from {}", golden_path.display()));
            }
            Err(_) => {
                std::fs::write(&actual_path, &lf).expect("write actual");
                failures.push(format!("{name}: no golden verdict {}", golden_path.display()));
            }
        }
    }
    assert_no_failures(&failures);
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    action: String,
    rules: Vec<String>,
    why: String,
}

#[test]
fn every_fixture_shows_what_it_was_written_for() {
    let engine = engine();
    // expected.toml is written by make_messages.py, expected-attachments.toml by make_attachments.py.
    let mut expected: BTreeMap<String, Expected> = BTreeMap::new();
    for file in ["expected.toml", "expected-attachments.toml"] {
        let text = std::fs::read_to_string(fixtures().join(file)).expect("expected file");
        let part: BTreeMap<String, Expected> = toml::from_str(&text).expect("expected file parses");
        expected.extend(part);
    }
    let mut failures = Vec::new();
    for path in messages() {
        let file = path.file_name().expect("name").to_string_lossy().to_string();
        let Some(want) = expected.get(&file) else {
            failures.push(format!("{file}: not described in expected.toml"));
            continue;
        };
        let verdict = engine.inspect(&std::fs::read(&path).expect("readable"), &Envelope::default());
        let mut got_rules: Vec<String> = verdict.rules.iter().map(|r| r.rule.to_string()).collect();
        let mut want_rules = want.rules.clone();
        got_rules.sort();
        want_rules.sort();
        if verdict.action.as_str() != want.action || got_rules != want_rules {
            failures.push(format!(
                "{file} ({}): expected {} {:?}, got {} {:?}",
                want.why,
                want.action,
                want_rules,
                verdict.action.as_str(),
                got_rules
            ));
        }
    }
    assert_no_failures(&failures);
}

/// The verdict is itself scanned as if it were a message: it must carry no
/// identifier, date of birth, name or postcode, only redacted samples.
#[test]
fn no_verdict_carries_a_detected_value() {
    let engine = engine();
    let mut failures = Vec::new();
    for path in messages() {
        let verdict = engine.inspect(&std::fs::read(&path).expect("readable"), &Envelope::default());
        let json = verdict.to_json();
        let probe = format!("From: a@oakfield.sch.uk\r\nTo: b@gmail.com\r\nSubject: verdict\r\n\r\n{json}\r\n");
        let rescanned = engine.inspect(probe.as_bytes(), &Envelope::default());
        for finding in &rescanned.findings {
            if finding.kind.is_identifier()
                || matches!(finding.kind, Kind::DateOfBirth | Kind::PersonName | Kind::PostcodeUk)
            {
                failures.push(format!("{}: verdict JSON holds a {}", path.display(), finding.kind));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The quarantine stores verdicts as JSON and a release reads them back.
#[test]
fn verdicts_read_back_from_json() {
    let engine = engine();
    for path in messages() {
        let verdict = engine.inspect(&std::fs::read(&path).expect("readable"), &Envelope::default());
        let back = schoolgate::Verdict::from_json(&verdict.to_json()).expect("reads back");
        assert_eq!(back, verdict, "{}", path.display());
    }
}
