//! Verdict → edits. The rewrites a verdict asks for (recipients to Bcc, the
//! disclaimer, a neutral subject) become a [`Rewrite`]: header edits and, when
//! the body changed, the new body — exactly what a milter sends at end of
//! message — and [`Rewrite::apply`] makes the same edits to a whole message
//! for `scan --output` and for releases, so the two can never differ.
//!
//! Signed and encrypted bodies are never touched (the policy lists the
//! disclaimer under `skipped`). Header edits still apply to them: neither
//! S/MIME nor PGP/MIME signs the outer To, Cc and Subject, and moving
//! parents' addresses out of sight matters more than a header the signature
//! does not cover (tests verify the signature still holds).

pub mod body;
pub mod encoding;
pub mod headers;

use crate::config::Config;
use crate::disclaimer::DisclaimerMatcher;
use crate::message::{self, Structure};
use crate::rules::RuleId;
use crate::verdict::{Rewrites, Skipped};
use headers::{HeaderBlock, HeaderEdit};

/// The edits for one message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rewrite {
    /// In the order to apply them (later occurrences of a name first).
    pub headers: Vec<HeaderEdit>,
    /// Changes to the body as ranges of the raw message, when it changed;
    /// [`Rewrite::new_body`] gives the bytes a milter sends.
    pub body: Option<Vec<body::Splice>>,
    /// Rewrites asked for but not made, and why.
    pub skipped: Vec<Skipped>,
}

impl Rewrite {
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty() && self.body.is_none()
    }

    /// The whole new body (everything after the blank line), when it changed.
    pub fn new_body(&self, raw: &[u8]) -> Option<Vec<u8>> {
        let splices = self.body.as_ref()?;
        let block = HeaderBlock::parse(raw);
        let mut out = Vec::with_capacity(raw.len() - block.body_start + 1024);
        write_spliced(raw, block.body_start, splices, &mut out);
        Some(out)
    }

    /// The message with these edits made, written in one pass.
    pub fn apply(&self, raw: &[u8]) -> Vec<u8> {
        if self.is_empty() {
            return raw.to_vec();
        }
        let block = HeaderBlock::parse(raw);
        let extra: usize = self.body.iter().flatten().map(|s| s.bytes.len()).sum();
        let mut out = Vec::with_capacity(raw.len() + extra + 1024);
        headers::write_edited_headers(raw, &block, &self.headers, &mut out);
        match &self.body {
            Some(splices) => {
                out.extend_from_slice(block.eol.as_bytes());
                write_spliced(raw, block.body_start, splices, &mut out);
            }
            None => out.extend_from_slice(&raw[block.blank_line..]),
        }
        out
    }
}

/// Plan the edits `rewrites` asks for on `raw`.
pub fn plan(raw: &[u8], rewrites: &Rewrites, config: &Config, matcher: &DisclaimerMatcher) -> Rewrite {
    let parsed = if rewrites.disclaimer { message::parse(raw) } else { None };
    plan_parsed(raw, parsed.as_ref(), rewrites, config, matcher)
}

/// [`plan`] with the message already parsed (`None` when it could not be),
/// as the milter has it after [`crate::Engine::inspect`]: the rewrite then
/// costs the text parts it changes plus one copy of the rest.
pub fn plan_parsed(
    raw: &[u8],
    parsed: Option<&mail_parser::Message>,
    rewrites: &Rewrites,
    config: &Config,
    matcher: &DisclaimerMatcher,
) -> Rewrite {
    let mut rewrite = Rewrite::default();
    let block = HeaderBlock::parse(raw);

    if let Some(bcc) = &rewrites.bcc {
        bcc_edits(&block, &bcc.remove, &bcc.placeholder, &mut rewrite.headers);
    }
    if let Some(subject) = &rewrites.subject {
        rewrite.headers.push(HeaderEdit::Change {
            name: "Subject".into(),
            index: 1,
            value: Some(headers::unstructured_value(subject)),
        });
    }
    if rewrites.disclaimer {
        match parsed {
            Some(parsed) if !is_sealed(parsed) => {
                match body::add_disclaimer(raw, parsed, &config.disclaimer, matcher, block.eol) {
                    Ok(mut change) => {
                        rewrite.headers.extend(change.header_edits);
                        change.splices.sort_by_key(|s| (s.range.start, s.range.end));
                        rewrite.body = Some(change.splices);
                    }
                    Err(body::NoChange::AlreadyPresent) => {}
                    Err(body::NoChange::Skipped(reason)) => rewrite.skipped.push(Skipped {
                        rule: RuleId::Disclaimer,
                        reason,
                    }),
                }
            }
            Some(_) => rewrite.skipped.push(Skipped {
                rule: RuleId::Disclaimer,
                reason: "message is signed or encrypted".into(),
            }),
            None => rewrite.skipped.push(Skipped {
                rule: RuleId::Disclaimer,
                reason: "the message could not be parsed".into(),
            }),
        }
    }
    rewrite
}

fn is_sealed(message: &mail_parser::Message) -> bool {
    let structure = Structure::read(message);
    structure.signed || structure.encrypted
}

/// Take `remove` out of every To and Cc; a Cc left empty goes, a To left
/// empty goes too unless it is the last one, which becomes the placeholder.
fn bcc_edits(block: &HeaderBlock, remove: &[String], placeholder: &str, edits: &mut Vec<HeaderEdit>) {
    let mut moved: Vec<String> = Vec::new();
    for name in ["To", "Cc"] {
        let fields: Vec<_> = block.named(name).collect();
        let mut results: Vec<(usize, Option<String>, bool)> = Vec::new();
        for (i, field) in fields.iter().enumerate() {
            let (left, removed) = headers::without_addresses(field.value, name, remove);
            let changed = !removed.is_empty();
            moved.extend(removed);
            results.push((i + 1, left, changed));
        }
        let any_left = results.iter().any(|(_, left, _)| left.is_some());
        // Later occurrences first, so earlier indexes stay valid.
        for (index, left, changed) in results.into_iter().rev() {
            if !changed {
                continue;
            }
            let value = match left {
                Some(value) => Some(value),
                None if name == "To" && !any_left && index == 1 => Some(format!(" {placeholder}")),
                None => None,
            };
            edits.push(HeaderEdit::Change {
                name: name.to_string(),
                index,
                value,
            });
        }
    }
    moved.sort();
    moved.dedup();
    if !moved.is_empty() {
        let n = moved.len();
        edits.push(HeaderEdit::Add {
            name: "X-Schoolgate-Bcc".into(),
            value: format!(" moved {n} recipient{}", if n == 1 { "" } else { "s" }),
        });
    }
}

/// The body from `body_start` with `splices` (sorted, none overlapping) made.
fn write_spliced(raw: &[u8], body_start: usize, splices: &[body::Splice], out: &mut Vec<u8>) {
    let mut at = body_start;
    for splice in splices {
        let start = splice.range.start.max(at);
        out.extend_from_slice(&raw[at..start]);
        out.extend_from_slice(&splice.bytes);
        at = splice.range.end.max(start);
    }
    out.extend_from_slice(&raw[at..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::BccRewrite;

    fn config(disclaimer: &str) -> Config {
        Config::parse("t.toml", &format!("[disclaimer]\ntext = \"{disclaimer}\"\n")).expect("valid")
    }

    fn with_disclaimer(raw: &str, disclaimer: &str) -> String {
        let config = config(disclaimer);
        let matcher = DisclaimerMatcher::new(disclaimer);
        let rewrites = Rewrites {
            disclaimer: true,
            ..Rewrites::default()
        };
        let rewrite = plan(raw.as_bytes(), &rewrites, &config, &matcher);
        assert!(rewrite.skipped.is_empty(), "{:?}", rewrite.skipped);
        String::from_utf8(rewrite.apply(raw.as_bytes())).expect("utf-8 output")
    }

    fn decoded_text(raw: &str) -> String {
        let message = message::parse(raw.as_bytes()).expect("parses");
        message.body_text(0).expect("a text body").to_string()
    }

    #[test]
    fn a_7bit_ascii_body_stays_7bit_for_an_ascii_disclaimer() {
        let raw = "From: a@oakfield.sch.uk\r\nTo: p@gmail.com\r\nContent-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\nHello\r\n";
        let out = with_disclaimer(raw, "Confidential.");
        assert_eq!(
            out,
            "From: a@oakfield.sch.uk\r\nTo: p@gmail.com\r\nContent-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\nHello\r\n\r\nConfidential.\r\n"
        );
    }

    #[test]
    fn a_charset_that_cannot_carry_the_disclaimer_becomes_utf8() {
        let raw =
            "From: a@oakfield.sch.uk\r\nTo: p@gmail.com\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nHello\r\n";
        let out = with_disclaimer(
            raw,
            "Cyfrinachol \u{2013} Ysgol Gymraeg \u{0417}\u{0434}\u{0440}\u{0430}\u{0432}\u{0441}\u{0442}\u{0432}\u{0443}\u{0439}\u{0442}\u{0435}",
        );
        assert!(out.contains("Content-Type: text/plain; charset=\"utf-8\"\r\n"), "{out}");
        assert!(out.contains("Content-Transfer-Encoding: quoted-printable\r\n"), "{out}");
        assert!(out.is_ascii(), "7bit became quoted-printable");
        let decoded = decoded_text(&out);
        assert_eq!(
            decoded.replace("\r\n", "\n"),
            "Hello\n\nCyfrinachol \u{2013} Ysgol Gymraeg \u{0417}\u{0434}\u{0440}\u{0430}\u{0432}\u{0441}\u{0442}\u{0432}\u{0443}\u{0439}\u{0442}\u{0435}\n"
        );
    }

    #[test]
    fn windows_1252_keeps_its_charset_when_it_can() {
        let raw = "From: a@oakfield.sch.uk\r\nTo: p@gmail.com\r\nContent-Type: text/plain; charset=\"windows-1252\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nCaf=E9 morning\r\n";
        let out = with_disclaimer(raw, "Oakfield \u{2013} confidential.");
        assert!(out.contains("charset=\"windows-1252\""));
        assert!(
            out.ends_with("Caf=E9 morning\r\n\r\nOakfield =96 confidential.\r\n"),
            "{out}"
        );
    }

    #[test]
    fn a_message_without_text_gets_a_text_part() {
        let multipart = "From: a@oakfield.sch.uk\r\nTo: p@gmail.com\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: application/pdf; name=\"menu.pdf\"\r\nContent-Disposition: attachment; filename=\"menu.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjcK\r\n--b--\r\n";
        let out = with_disclaimer(multipart, "Confidential.");
        assert!(out.contains("\r\n\r\n--b\r\nContent-Type: text/plain; charset=\"us-ascii\"\r\nContent-Transfer-Encoding: 7bit\r\n\r\nConfidential.\r\n--b\r\nContent-Type: application/pdf"), "{out}");

        let single = "From: a@oakfield.sch.uk\r\nTo: p@gmail.com\r\nMIME-Version: 1.0\r\nContent-Type: application/pdf; name=\"menu.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjcK\r\n";
        let out = with_disclaimer(single, "Confidential.");
        let message = message::parse(out.as_bytes()).expect("parses");
        assert_eq!(message.attachment_count(), 1);
        assert_eq!(message.body_text(0).as_deref(), Some("Confidential."));
        assert!(
            !out.contains("\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjcK\r\n\r\n"),
            "moved inside: {out}"
        );
    }

    #[test]
    fn html_gets_a_div_before_the_closing_body_tag() {
        let raw = "From: a@oakfield.sch.uk\r\nTo: p@gmail.com\r\nContent-Type: text/html; charset=us-ascii\r\n\r\n<html><body><p>Hello</p></body></html>\r\n";
        let out = with_disclaimer(raw, "Caf\u{e9} & <co>.");
        assert!(out.contains("<p>Hello</p>\r\n<div class=\"schoolgate-disclaimer\" style=\"margin-top:1em\">Caf&#233; &amp; &lt;co&gt;.</div>\r\n</body>"), "{out}");
    }

    #[test]
    fn bcc_keeps_internal_recipients_and_uses_the_placeholder() {
        let raw = "From: a@oakfield.sch.uk\r\nTo: \"Parent, One\" <p1@gmail.com>,\r\n p2@gmail.com\r\nCc: Head <head@oakfield.sch.uk>, p3@outlook.com\r\nSubject: Trip\r\n\r\nHi\r\n";
        let rewrites = Rewrites {
            bcc: Some(BccRewrite {
                remove: vec!["p1@gmail.com".into(), "p2@gmail.com".into(), "p3@outlook.com".into()],
                placeholder: "office@oakfield.sch.uk".into(),
            }),
            ..Rewrites::default()
        };
        let rewrite = plan(
            raw.as_bytes(),
            &rewrites,
            &Config::default(),
            &DisclaimerMatcher::new("x"),
        );
        let out = String::from_utf8(rewrite.apply(raw.as_bytes())).expect("utf-8");
        assert_eq!(
            out,
            "From: a@oakfield.sch.uk\r\nTo: office@oakfield.sch.uk\r\nCc: Head <head@oakfield.sch.uk>\r\nSubject: Trip\r\nX-Schoolgate-Bcc: moved 3 recipients\r\n\r\nHi\r\n"
        );
    }
}
