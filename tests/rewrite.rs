//! Rewrites on real clients' mail: every fixture is rewritten as its verdict
//! asks (for hold, as it would be released) and the result must be valid
//! MIME to mail-parser and to Python's `email` package, carry the disclaimer
//! exactly once in the main text (all inline text/plain parts together, and
//! all inline text/html parts together: Apple Mail splits a message around
//! inline pictures), keep every attachment byte for
//! byte, keep lines within RFC 5322's limits, and come out the same when
//! rewritten again. Representative kinds are also golden files in
//! `fixtures/rewritten/` (`SCHOOLGATE_BLESS=1` rewrites them).

mod common;

use std::path::Path;

use common::{assert_no_failures, engine, fixtures, messages};
use std::process::Command;

use mail_parser::{MessageParser, MimeHeaders, PartType};
use schoolgate::Envelope;
use serde::Deserialize;

/// The kinds of message the golden files cover, one fixture each.
const GOLDEN: &[&str] = &[
    "outlook-plain-note-one-parent",
    "outlook-html-only",
    "outlook-five-parents-in-to",
    "outlook-pdf-attachment-unscannable",
    "outlook-windows1252-qp-accents",
    "gmail-base64-utf8-emoji-cyrillic",
    "thunderbird-format-flowed",
    "thunderbird-forward-nested-rfc822",
    "apple-mixed-inline-image",
    "outlook-smime-signed-upn",
    "outlook-smime-encrypted-pupil-report",
    "gmail-parents-in-cc-school-to",
];

#[derive(Deserialize, Debug)]
struct PythonView {
    defects: Vec<String>,
    attachments: Vec<serde_json::Value>,
    /// The decoded text of every inline text/plain and text/html part outside forwarded messages.
    texts: std::collections::BTreeMap<String, Vec<String>>,
    longest_line: usize,
}

fn python_view(bytes: &[u8]) -> PythonView {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("m.eml");
    std::fs::write(&path, bytes).expect("write");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/mime_check.py");
    let output = Command::new("python3")
        .arg(script)
        .arg(&path)
        .output()
        .expect("python3 runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("json from mime_check.py")
}

/// Every attachment's decoded bytes, as mail-parser sees them.
fn attachments(raw: &[u8]) -> Vec<(Option<String>, Vec<u8>)> {
    let message = MessageParser::default().parse(raw).expect("parses");
    message
        .attachments()
        .map(|part| {
            let bytes = match &part.body {
                PartType::Binary(b) | PartType::InlineBinary(b) => b.to_vec(),
                PartType::Text(t) | PartType::Html(t) => t.as_bytes().to_vec(),
                PartType::Message(_) => raw[part.offset_body as usize..part.offset_end as usize].to_vec(),
                PartType::Multipart(_) => Vec::new(),
            };
            (part.attachment_name().map(str::to_string), bytes)
        })
        .collect()
}

/// Occurrences of the disclaimer in `text`, however it was wrapped.
fn count_disclaimer(text: &str, disclaimer: &str) -> usize {
    let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let text = squash(&schoolgate::extract::html::html_to_text(text, usize::MAX).text);
    text.matches(&squash(disclaimer)).count()
}

#[test]
fn every_rewrite_is_valid_idempotent_and_keeps_attachments() {
    let engine = engine();
    let disclaimer = engine.config().disclaimer.text.clone();
    let bless = std::env::var_os("SCHOOLGATE_BLESS").is_some();
    let golden_dir = fixtures().join("rewritten");
    std::fs::create_dir_all(&golden_dir).expect("dir");
    let mut failures = Vec::new();
    let mut rewritten_count = 0;
    for path in messages() {
        let name = path.file_stem().expect("stem").to_string_lossy().to_string();
        let raw = std::fs::read(&path).expect("fixture");
        let verdict = engine.inspect(&raw, &Envelope::default());
        let out = engine.output(&raw, &verdict);
        let mut fail = |what: String| failures.push(format!("{name}: {what}"));

        if GOLDEN.contains(&name.as_str()) {
            let golden = golden_dir.join(format!("{name}.eml"));
            if bless {
                std::fs::write(&golden, &out).expect("write golden");
            } else if std::fs::read(&golden).ok().as_deref() != Some(out.as_slice()) {
                std::fs::write(golden_dir.join(format!("{name}.actual.eml")), &out).expect("write actual");
                fail(format!("differs from {}", golden.display()));
            }
        }
        if out == raw {
            continue;
        }
        rewritten_count += 1;

        // mail-parser: the same attachments, byte for byte.
        if attachments(&raw) != attachments(&out) {
            fail("attachments changed (mail-parser)".into());
        }
        // Python's email package: no defects, same attachments, disclaimer once, short lines.
        let before = python_view(&raw);
        let after = python_view(&out);
        if !after.defects.is_empty() && after.defects != before.defects {
            fail(format!("defects {:?}", after.defects));
        }
        if before.attachments != after.attachments {
            fail("attachments changed (python)".into());
        }
        if after.longest_line > 998 {
            fail(format!("a line of {} bytes", after.longest_line));
        }
        if verdict.rewrites.disclaimer {
            for (kind, texts) in after.texts.iter().filter(|(_, texts)| !texts.is_empty()) {
                let count = count_disclaimer(&texts.join("\n"), &disclaimer);
                if count != 1 {
                    fail(format!("disclaimer {count} times in text/{kind}"));
                }
            }
        }
        // Rewriting again changes nothing.
        let again = engine.inspect(&out, &Envelope::default());
        if engine.output(&out, &again) != out {
            fail("a second rewrite changed the message".into());
        }
    }
    assert!(rewritten_count >= 40, "only {rewritten_count} fixtures were rewritten");
    assert_no_failures(&failures);
}

#[test]
fn parts_not_touched_are_byte_identical() {
    let engine = engine();
    for path in messages() {
        let raw = std::fs::read(&path).expect("fixture");
        let verdict = engine.inspect(&raw, &Envelope::default());
        let out = engine.output(&raw, &verdict);
        let message = MessageParser::default().parse(&raw[..]).expect("parses");
        for part in message.attachments() {
            let bytes = &raw[part.offset_header as usize..part.offset_end as usize];
            assert!(
                memchr::memmem::find(&out, bytes).is_some(),
                "{}: attachment {:?} is not byte-identical",
                path.display(),
                part.attachment_name()
            );
        }
    }
}

#[test]
fn signed_and_encrypted_bodies_are_never_modified() {
    let engine = engine();
    for name in [
        "outlook-smime-signed-upn",
        "outlook-smime-signed-plain-note",
        "outlook-smime-opaque-signed-upn",
        "outlook-smime-encrypted-pupil-report",
        "outlook-smime-encrypted-no-smime-type",
        "thunderbird-pgp-mime-encrypted",
        "thunderbird-inline-pgp-encrypted",
    ] {
        let raw = std::fs::read(fixtures().join(format!("messages/{name}.eml"))).expect("fixture");
        let verdict = engine.inspect(&raw, &Envelope::default());
        let rewrite = engine.rewrite(&raw, &verdict);
        assert!(rewrite.body.is_none(), "{name}: body changed");
        assert!(!verdict.rewrites.disclaimer, "{name}: disclaimer asked for");
    }
}

/// A signed message with parents visible in To: the Bcc rewrite changes the
/// headers only, and the S/MIME signature still verifies.
#[test]
fn bcc_on_signed_mail_keeps_the_signature_valid() {
    if Command::new("openssl").arg("version").output().is_err() {
        eprintln!("openssl not installed: signature check skipped");
        return;
    }
    let engine = engine();
    let raw = std::fs::read(fixtures().join("messages/outlook-smime-signed-plain-note.eml")).expect("fixture");
    let text = String::from_utf8_lossy(&raw).to_string();
    let to_line = text
        .lines()
        .find(|l| l.starts_with("To:"))
        .expect("a To line")
        .to_string();
    let widened = text.replacen(&to_line, "To: a.parent@gmail.com, b.parent@outlook.com", 1);
    let verdict = engine.inspect(widened.as_bytes(), &Envelope::default());
    assert!(verdict.rewrites.bcc.is_some(), "{}", verdict.to_json());
    let out = engine.output(widened.as_bytes(), &verdict);
    assert!(String::from_utf8_lossy(&out).contains("To: office@oakfield.sch.uk"));
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("signed.eml");
    std::fs::write(&path, &out).expect("write");
    let verify = Command::new("openssl")
        .args(["smime", "-verify", "-noverify", "-in"])
        .arg(&path)
        .output()
        .expect("openssl runs");
    assert!(
        verify.status.success(),
        "signature broken: {}",
        String::from_utf8_lossy(&verify.stderr)
    );
}

#[test]
fn milter_edits_use_bare_newlines_and_a_leading_space() {
    let engine = engine();
    let raw = std::fs::read(fixtures().join("messages/outlook-five-parents-in-to.eml")).expect("fixture");
    let verdict = engine.inspect(&raw, &Envelope::default());
    let rewrite = engine.rewrite(&raw, &verdict);
    for edit in &rewrite.headers {
        let value = match edit {
            schoolgate::rewrite::headers::HeaderEdit::Change { value: Some(v), .. } => v,
            schoolgate::rewrite::headers::HeaderEdit::Add { value, .. } => value,
            _ => continue,
        };
        assert!(value.starts_with(' '), "{edit}");
        assert!(!value.contains('\r'), "{edit}");
    }
    let body = rewrite.new_body(&raw).expect("a new body");
    let block_end = memchr::memmem::find(&raw, b"\n\n").expect("header end") + 2;
    assert!(body.len() > raw.len() - block_end, "the body grew by the disclaimer");
}
