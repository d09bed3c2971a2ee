//! A held message shown to a reviewer outside the quarantine (`held show`,
//! later the review UI): envelope, headers, the verdict's rules and redacted
//! findings, and the message's text rendered safely — HTML turned into text
//! (nothing rendered, nothing fetched), attachments listed, and every
//! personal value the detectors find replaced by its redacted sample, so
//! what a terminal or a log keeps carries no full identifier.

use std::fmt::Write;

use mail_parser::{Address, HeaderValue, Message, MimeHeaders, PartType};

use crate::Engine;
use crate::extract::html::html_to_text;
use crate::quarantine::{HeldMessage, format_utc};
use crate::verdict::Verdict;

/// The text a reviewer sees for `held`.
pub fn show(engine: &Engine, held: &HeldMessage) -> String {
    let s = &held.summary;
    let mut out = String::new();
    let _ = writeln!(out, "Reference:  {}", s.id);
    let _ = writeln!(out, "Status:     {}", s.status.as_str());
    let _ = writeln!(out, "Held at:    {}", format_utc(s.held_at));
    let _ = writeln!(out, "Queue id:   {}", s.queue_id.as_deref().unwrap_or("-"));
    let _ = writeln!(
        out,
        "Sender:     {}",
        if s.sender.is_empty() { "<>" } else { &s.sender }
    );
    if let Some(user) = &s.auth_user {
        let _ = writeln!(out, "Signed in:  {user}");
    }
    let _ = writeln!(out, "Recipients: {}", s.recipients.join(", "));
    if let (Some(by), Some(at)) = (&s.decided_by, s.decided_at) {
        let _ = writeln!(
            out,
            "Decided:    by {by} at {}{}",
            format_utc(at),
            s.note.as_ref().map(|n| format!(" ({n})")).unwrap_or_default()
        );
    }
    if let Some(error) = &s.release_error {
        let _ = writeln!(out, "Last release refused by the relay: {error}");
    }
    if s.status == crate::quarantine::Status::Releasing {
        let _ = writeln!(
            out,
            "Release outcome unknown: claimed by {} at {}. Check the relay's log, then `schoolgate held resolve {} --delivered|--not-delivered --note …`.",
            s.release_claimed_by.as_deref().unwrap_or("?"),
            s.release_claimed_at.map(format_utc).unwrap_or_default(),
            s.id
        );
    }
    if let Ok(verdict) = Verdict::from_json(&held.verdict_json) {
        let _ = writeln!(out, "\nRules:");
        for rule in &verdict.rules {
            let _ = writeln!(out, "  {} ({}): {}", rule.rule, rule.action.as_str(), rule.reason);
        }
        let _ = writeln!(out, "\nFindings (values redacted):");
        crate::report::write_findings(&mut out, &verdict);
    }
    let Some(raw) = &held.message else {
        let _ = writeln!(out, "\nThe message itself was purged by retention.");
        return out;
    };
    let Some(message) = crate::message::parse(raw) else {
        let _ = writeln!(out, "\nThe message cannot be parsed.");
        return out;
    };
    let _ = writeln!(out, "\nHeaders:");
    for (name, value) in headers(engine, raw, &message) {
        let _ = writeln!(out, "  {name}: {value}");
    }
    let listed = attachments(&message);
    if !listed.is_empty() {
        let _ = writeln!(out, "\nAttachments (not opened):");
        for a in listed {
            let _ = writeln!(
                out,
                "  {}",
                engine.mask(&format!("{} ({}, {} bytes)", a.name, a.content_type, a.size))
            );
        }
    }
    let text = body_text(engine, &message);
    let _ = writeln!(out, "\nText (shown as text; personal values masked):\n");
    let _ = writeln!(out, "{text}");
    out
}

/// The headers a reviewer needs, unfolded, with personal values masked.
pub fn headers(engine: &Engine, raw: &[u8], message: &Message) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for name in ["From", "To", "Cc", "Subject", "Date", "Message-ID"] {
        for header in message
            .root_part()
            .headers
            .iter()
            .filter(|h| h.name.as_str().eq_ignore_ascii_case(name))
        {
            let value = decoded(&header.value).unwrap_or_else(|| {
                let range = header.offset_start as usize..header.offset_end as usize;
                String::from_utf8_lossy(raw.get(range).unwrap_or_default())
                    .trim()
                    .to_string()
            });
            let value: String = value.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
            out.push((name, engine.mask(&value)));
        }
    }
    out
}

/// A header's value with encoded words decoded (`=?utf-8?q?…?=` → text),
/// for the subject and address headers; `None` for the others (shown raw).
fn decoded(value: &HeaderValue) -> Option<String> {
    match value {
        HeaderValue::Text(text) => Some(text.to_string()),
        HeaderValue::Address(address) => {
            let mailboxes: Vec<String> = match address {
                Address::List(list) => list.iter().map(mailbox).collect(),
                Address::Group(groups) => groups
                    .iter()
                    .map(|g| {
                        let members: Vec<String> = g.addresses.iter().map(mailbox).collect();
                        format!("{}: {};", g.name.as_deref().unwrap_or_default(), members.join(", "))
                    })
                    .collect(),
            };
            Some(mailboxes.join(", "))
        }
        _ => None,
    }
}

fn mailbox(addr: &mail_parser::Addr) -> String {
    match (addr.name.as_deref(), addr.address.as_deref()) {
        (Some(name), Some(address)) => format!("\"{name}\" <{address}>"),
        (None, Some(address)) => address.to_string(),
        (Some(name), None) => name.to_string(),
        (None, None) => String::new(),
    }
}

/// One top-level attachment of a held message, as listed (never opened).
pub struct ListedAttachment {
    pub name: String,
    pub content_type: String,
    pub size: usize,
}

/// The message's attachments in MIME order: the order downloads are numbered in.
pub fn attachments(message: &Message) -> Vec<ListedAttachment> {
    message
        .attachments()
        .map(|a| ListedAttachment {
            name: a.attachment_name().unwrap_or("unnamed").to_string(),
            content_type: a
                .content_type()
                .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("")))
                .unwrap_or_default(),
            size: a.len(),
        })
        .collect()
}

/// The message's text as text — HTML converted, never rendered — with
/// every personal value masked.
pub fn body_text(engine: &Engine, message: &Message) -> String {
    let text = match message
        .text_body
        .first()
        .and_then(|&id| message.parts.get(id as usize))
        .map(|p| &p.body)
    {
        Some(PartType::Text(t)) => t.to_string(),
        Some(PartType::Html(h)) => html_to_text(h, 1_000_000).text,
        _ => String::new(),
    };
    engine.mask(&text)
}
