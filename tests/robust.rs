//! Hostile and random input never panics and always gives a verdict; limits
//! turn what lies beyond them into `unscannable`, never into "nothing found".

use proptest::prelude::*;
use schoolgate::config::Config;
use schoolgate::{Engine, Envelope, Kind, RulePack};

fn engine(config: &str) -> Engine {
    Engine::new(Config::parse("t.toml", config).expect("valid"), RulePack::builtin())
}

/// The default engine, built once for the property tests.
fn default_engine() -> &'static Engine {
    static ENGINE: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();
    ENGINE.get_or_init(|| engine(""))
}

fn envelope() -> Envelope {
    Envelope {
        sender: Some("a@oakfield.sch.uk".into()),
        recipients: vec!["p@gmail.com".into()],
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_get_a_verdict(raw in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = default_engine().inspect(&raw, &envelope());
    }

    #[test]
    fn random_text_bodies_get_a_verdict(body in "[ -~\\n\\t£éœ–’]{0,2000}") {
        let raw = format!("From: a@oakfield.sch.uk\r\nTo: p@gmail.com\r\nSubject: x\r\n\r\n{body}");
        let _ = default_engine().inspect(raw.as_bytes(), &envelope());
    }
}

#[test]
fn too_many_parts_is_unscannable() {
    let mut raw =
        String::from("From: a@oakfield.sch.uk\r\nTo: p@gmail.com\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n");
    for i in 0..50 {
        raw.push_str(&format!("--b\r\nContent-Type: text/plain\r\n\r\npart {i}\r\n"));
    }
    raw.push_str("--b--\r\n");
    let verdict = engine("[limits]\nmax_parts = 10\n").inspect(raw.as_bytes(), &envelope());
    assert!(
        verdict.findings.iter().any(|f| f.kind == Kind::Unscannable),
        "{}",
        verdict.to_json()
    );
    assert!(verdict.rules.iter().any(|r| r.rule.as_str() == "unscannable"));
}

#[test]
fn an_oversized_message_is_read_up_to_the_limit() {
    let mut raw = String::from("From: a@oakfield.sch.uk\r\nTo: p@gmail.com\r\n\r\nUPN B801200005001\r\n");
    raw.push_str(&"x".repeat(5000));
    let verdict = engine("[limits]\nmax_message_bytes = 1000\n").inspect(raw.as_bytes(), &envelope());
    assert!(verdict.findings.iter().any(|f| f.kind == Kind::Upn));
    assert!(verdict.findings.iter().any(|f| f.kind == Kind::Unscannable));
}

#[test]
fn deep_nesting_of_forwarded_messages_stops_at_the_limit() {
    let mut raw = String::from("Subject: inner\r\n\r\nUPN B801200005001\r\n");
    for depth in 0..12 {
        raw = format!(
            "From: a@oakfield.sch.uk\r\nTo: p@gmail.com\r\nSubject: level {depth}\r\nContent-Type: multipart/mixed; boundary=b{depth}\r\n\r\n--b{depth}\r\nContent-Type: message/rfc822\r\n\r\n{raw}\r\n--b{depth}--\r\n"
        );
    }
    let verdict = engine("").inspect(raw.as_bytes(), &envelope());
    let _ = verdict.to_json();
}

#[test]
fn a_flat_html_page_of_ten_megabytes_is_read() {
    let mut raw =
        String::from("From: a@oakfield.sch.uk\r\nTo: p@gmail.com\r\nContent-Type: text/html\r\n\r\n<html><body>");
    while raw.len() < 10 * 1024 * 1024 {
        raw.push_str("<p>Nothing to see here, just a long newsletter.</p>\n");
    }
    raw.push_str("<p>UPN B801200005001</p></body></html>\r\n");
    let verdict = engine("").inspect(raw.as_bytes(), &envelope());
    assert!(verdict.findings.iter().any(|f| f.kind == Kind::Upn));
}

/// Inputs the fuzzers found (fuzz/README.md): each file in
/// `fixtures/fuzz/` is named `<target>-<what>.bin`; every one must give a
/// verdict (message) or an extraction (the readers), never a panic.
#[test]
fn fuzz_findings_stay_fixed() {
    use schoolgate::extract::{ReadRequest, read_document};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/fuzz");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let bytes = std::fs::read(entry.path()).expect("read the finding");
        let target = name.split('-').next().unwrap_or_default();
        if target == "message" {
            let _ = default_engine().inspect(&bytes, &envelope());
            continue;
        }
        let extension = match target {
            "ooxml" => "docx",
            "odf" => "odt",
            "sevenz" => "7z",
            "compound" => "doc",
            "tnef" => "dat",
            other => other,
        };
        let request = ReadRequest {
            location: schoolgate::Location::Attachment(format!("f.{extension}")),
            name: Some(format!("f.{extension}")),
            content_type: "application/octet-stream".to_string(),
            depth: 0,
            limits: Default::default(),
        };
        let _ = read_document(&request, &bytes);
    }
}
