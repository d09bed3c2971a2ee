//! Text out of a parsed message: one [`TextUnit`] per readable part, each
//! with the location findings will carry, and a note for every part that
//! could not be read — a part that could not be read is never taken as a
//! part with nothing in it.
//!
//! One file per format: `text` (txt/csv/tsv and charset sniffing), `html`
//! (HTML to text in one linear pass), `archive` (zip and 7z members),
//! `office` (OOXML and legacy Office through `office_oxide`), `odf`
//! (OpenDocument, streamed XML), `pdf`, `rtf`, `tnef`. `document` decides
//! which one reads a file, by its bytes more than by its name.
//!
//! Third-party parsers meet hostile files here, so a caller that can
//! (`schoolgate serve` and `scan`) passes a [`DocumentReader`] that runs
//! them in a worker process under resource limits (`crate::worker`); the
//! MIME walk, text and HTML stay in process.

pub mod archive;
pub mod document;
pub mod html;
pub mod odf;
pub mod office;
pub mod pdf;
pub mod rtf;
pub mod text;
pub mod tnef;
pub mod xml;

use std::borrow::Cow;
use std::collections::HashSet;

use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::quoted_printable::quoted_printable_decode;
use mail_parser::{Encoding, Message, MessagePart, MimeHeaders, PartType};
use serde::{Deserialize, Serialize};

use crate::config::Limits;
use crate::detect::TextFormat;
use crate::finding::Location;
use crate::message::{self, Structure};
use crate::protect::{self, Pkcs7Kind};

/// One text to run the detectors over.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TextUnit {
    pub location: Location,
    pub text: String,
    pub format: TextFormat,
    /// Which rendering of its message's body the text belongs to.
    #[serde(default)]
    pub rendering: Rendering,
}

/// A message body may come twice, as plain text and as HTML
/// (`multipart/alternative`): the two are one content, so what is counted in
/// them (the people of a table) is taken from the larger, not added up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Rendering {
    /// In every rendering: an attachment, or a body part with no alternative.
    #[default]
    Whole,
    /// Only in the plain-text rendering of its body.
    PlainOnly,
    /// Only in the HTML rendering of its body.
    HtmlOnly,
}

/// Something to report about a part that gave no text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Note {
    /// Not read within limits, or a format not read: the reason, in plain words.
    Unscannable(String),
    /// Readable, but only pictures of text (a scan).
    ImageOnly,
}

/// An attachment (or archive entry) seen, for the policy and the DPO's view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub location: Location,
    pub content_type: String,
    pub size: usize,
    /// Its content is encrypted (a password-protected file, an S/MIME blob).
    pub protected: bool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Extraction {
    pub units: Vec<TextUnit>,
    pub notes: Vec<(Location, Note)>,
    pub attachments: Vec<Attachment>,
}

/// One attachment handed to a [`DocumentReader`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReadRequest {
    pub location: Location,
    pub name: Option<String>,
    pub content_type: String,
    /// Containers already around it.
    pub depth: usize,
    pub limits: Limits,
}

/// Reads attachments that need a format parser (Office, PDF, archives, RTF,
/// TNEF) somewhere safer than the caller's process.
pub trait DocumentReader: Send + Sync {
    /// What the attachment holds, with locations below `request.location`;
    /// a reader that fails says so with an `Unscannable` note, never with
    /// an empty extraction.
    fn read(&self, request: &ReadRequest, bytes: &[u8]) -> Extraction;
}

/// Extract every readable text of `message`. Documents are parsed in this
/// process unless a `reader` is given.
pub fn extract(
    message: &Message,
    structure: Structure,
    limits: &Limits,
    reader: Option<&dyn DocumentReader>,
) -> Extraction {
    let mut walker = Walker::new(limits, reader);
    // An encrypted message has nothing readable, and nothing unreadable either: it is protected.
    if !structure.encrypted {
        walker.message(message, None, 0);
    }
    walker.out
}

/// Read one attachment in this process: what a worker does for a [`ReadRequest`].
pub fn read_document(request: &ReadRequest, bytes: &[u8]) -> Extraction {
    let mut walker = Walker::new(&request.limits, None);
    walker.file(
        &request.location,
        request.name.as_deref(),
        &request.content_type,
        bytes,
        request.depth,
    );
    walker.out
}

/// Media that carry no text to scan: pictures, sound, signatures, keys.
const NOT_TEXT_TYPES: &[&str] = &[
    "application/pkcs7-signature",
    "application/x-pkcs7-signature",
    "application/pgp-signature",
    "application/pgp-keys",
    "application/pgp-encrypted",
];

/// The walk over one message or attachment; the format modules add their
/// readers to it (`impl Walker` in each), so every text, note and limit goes
/// through one place.
pub(crate) struct Walker<'l> {
    limits: &'l Limits,
    reader: Option<&'l dyn DocumentReader>,
    out: Extraction,
    parts_seen: usize,
    chars: usize,
    /// Bytes decompressed from archives so far.
    unpacked: usize,
}

impl<'l> Walker<'l> {
    fn new(limits: &'l Limits, reader: Option<&'l dyn DocumentReader>) -> Self {
        Walker {
            limits,
            reader,
            out: Extraction::default(),
            parts_seen: 0,
            chars: 0,
            unpacked: 0,
        }
    }

    fn message(&mut self, message: &Message, prefix: Option<&Location>, depth: usize) {
        let body_ids: HashSet<u32> = message.text_body.iter().chain(&message.html_body).copied().collect();
        let rendering_of = |id: u32| match (message.text_body.contains(&id), message.html_body.contains(&id)) {
            (true, false) => Rendering::PlainOnly,
            (false, true) => Rendering::HtmlOnly,
            _ => Rendering::Whole,
        };
        let body_location = prefix.cloned().unwrap_or(Location::Body);
        for (id, part) in message.parts.iter().enumerate() {
            self.parts_seen += 1;
            if self.parts_seen > self.limits.max_parts {
                self.note(
                    &body_location,
                    Note::Unscannable(format!(
                        "the message has more than {} MIME parts; the rest were not read",
                        self.limits.max_parts
                    )),
                );
                return;
            }
            let is_body = body_ids.contains(&(id as u32)) && !is_attachment(part);
            if part.is_encoding_problem && !matches!(part.body, PartType::Multipart(_)) {
                // mail-parser hands back the undecoded text of a part it could not decode.
                let location = if is_body {
                    body_location.clone()
                } else {
                    member(prefix, &attachment_name(part, id, "bin"))
                };
                let reason =
                    "its transfer encoding (base64 or quoted-printable) is damaged, so it could not be decoded";
                if !is_body {
                    self.attachment_seen(&location, &content_type(part), part.contents().len(), false);
                }
                self.note(&location, Note::Unscannable(reason.to_string()));
                if !is_body {
                    continue;
                }
            }
            match &part.body {
                PartType::Multipart(_) => {}
                PartType::Message(nested) => {
                    let location = member(prefix, &nested_name(part, nested));
                    self.nested(nested, &location, depth);
                }
                PartType::Text(text) if is_body => {
                    let first = self.out.units.len();
                    self.text(&body_location, &plain_text(message, part, text), TextFormat::Plain);
                    self.set_rendering(first, rendering_of(id as u32));
                }
                PartType::Html(html) if is_body => {
                    let first = self.out.units.len();
                    self.html(&body_location, &redecoded(message, part, html));
                    self.set_rendering(first, rendering_of(id as u32));
                }
                PartType::Text(text) => {
                    let location = member(prefix, &attachment_name(part, id, "txt"));
                    self.attachment_seen(&location, &content_type(part), text.len(), false);
                    let format = text::format_of(part.attachment_name(), &content_type(part));
                    match format {
                        TextFormat::Html => self.html(&location, &redecoded(message, part, text)),
                        _ => self.text(&location, &plain_text(message, part, text), format),
                    }
                }
                PartType::Html(html) => {
                    let location = member(prefix, &attachment_name(part, id, "html"));
                    self.attachment_seen(&location, &content_type(part), html.len(), false);
                    self.html(&location, &redecoded(message, part, html));
                }
                PartType::Binary(bytes) | PartType::InlineBinary(bytes) => {
                    self.binary(part, id, bytes, prefix, depth);
                }
            }
        }
    }

    fn nested(&mut self, nested: &Message, location: &Location, depth: usize) {
        if depth + 1 > self.limits.max_nesting {
            self.note(
                location,
                Note::Unscannable(format!(
                    "messages nested more than {} deep were not read",
                    self.limits.max_nesting
                )),
            );
            return;
        }
        let structure = Structure::read(nested);
        if structure.encrypted {
            self.out.attachments.push(Attachment {
                location: location.clone(),
                content_type: "message/rfc822".to_string(),
                size: nested.raw_message.len(),
                protected: true,
            });
            return;
        }
        // The subject of a forwarded message is part of its text.
        if let Some(subject) = nested.subject().filter(|s| !s.trim().is_empty()) {
            self.text(location, subject, TextFormat::Plain);
        }
        self.message(nested, Some(location), depth + 1);
    }

    fn binary(&mut self, part: &MessagePart, id: usize, bytes: &[u8], prefix: Option<&Location>, depth: usize) {
        let ctype = content_type(part);
        let name = part.attachment_name();
        let location = member(prefix, &attachment_name(part, id, "bin"));
        let pkcs7 = matches!(ctype.as_str(), "application/pkcs7-mime" | "application/x-pkcs7-mime")
            || message::has_extension(name, &["p7m"]);
        if pkcs7 && protect::pkcs7_kind(bytes) == Pkcs7Kind::Signed {
            // Opaque S/MIME signing: the signed entity is inside; read it as the part it stands for.
            match protect::pkcs7_signed_content(bytes).as_deref().and_then(message::parse) {
                Some(inner) => self.message(&inner, prefix, depth + 1),
                None => self.note(
                    &location,
                    Note::Unscannable("the signed S/MIME content could not be read".to_string()),
                ),
            }
            return;
        }
        self.file(&location, name, &ctype, bytes, depth);
    }

    /// One file — a MIME attachment, an archive entry, a file inside a
    /// winmail.dat — read by what its bytes say it is, then by its name.
    pub(crate) fn file(&mut self, location: &Location, name: Option<&str>, ctype: &str, bytes: &[u8], depth: usize) {
        let major = ctype.split('/').next().unwrap_or_default();
        if matches!(major, "image" | "audio" | "video" | "font") || NOT_TEXT_TYPES.contains(&ctype) {
            return;
        }
        let encrypted_blob = matches!(ctype, "application/pkcs7-mime" | "application/x-pkcs7-mime")
            || message::has_extension(name, &["p7m", "pgp", "gpg", "asc", "rpmsg"])
            || ctype == "application/x-microsoft-rpmsg-message";
        if encrypted_blob {
            self.attachment_seen(location, ctype, bytes.len(), true);
            return;
        }
        if let Some(kind) = document::kind_of(name, bytes) {
            match self.reader {
                Some(reader) => {
                    let request = ReadRequest {
                        location: location.clone(),
                        name: name.map(str::to_string),
                        content_type: ctype.to_string(),
                        depth,
                        limits: *self.limits,
                    };
                    let read = reader.read(&request, bytes);
                    self.absorb(read);
                }
                None => self.document(kind, location, name, ctype, bytes, depth),
            }
            return;
        }
        self.attachment_seen(location, ctype, bytes.len(), false);
        if ctype == "message/rfc822" || message::has_extension(name, &["eml"]) {
            match message::parse(bytes) {
                Some(nested) => self.nested(&nested, location, depth),
                None => self.note(
                    location,
                    Note::Unscannable("the attached message is empty or broken".to_string()),
                ),
            }
            return;
        }
        let text_named = message::has_extension(name, text::TEXT_EXTENSIONS);
        if text_named
            || major == "text"
            || (name.is_none() || ctype == "application/octet-stream") && text::looks_like_text(bytes)
        {
            let format = text::format_of(name, ctype);
            let decoded = text::decode(bytes);
            match format {
                TextFormat::Html => self.html(location, &decoded),
                _ => self.text(location, &decoded, format),
            }
            return;
        }
        let reason = match document::named_format(name) {
            Some(what) => format!("the file is named as {what} but its content is not one: it may be damaged"),
            None => format!("{ctype} is not a format schoolgate reads"),
        };
        self.note(location, Note::Unscannable(reason));
    }

    /// Take in what a [`DocumentReader`] read, under this message's limits.
    fn absorb(&mut self, read: Extraction) {
        self.out.attachments.extend(read.attachments);
        for (location, note) in read.notes {
            self.note(&location, note);
        }
        for unit in read.units {
            self.text(&unit.location, &unit.text, unit.format);
        }
    }

    /// Bytes may still be decompressed from archives for this attachment.
    fn unpack_room(&self) -> usize {
        self.limits.max_unpacked_bytes.saturating_sub(self.unpacked)
    }

    fn attachment_seen(&mut self, location: &Location, content_type: &str, size: usize, protected: bool) {
        self.out.attachments.push(Attachment {
            location: location.clone(),
            content_type: content_type.to_string(),
            size,
            protected,
        });
    }

    fn html(&mut self, location: &Location, html: &str) {
        let limit = self.limits.max_html_bytes;
        let input = if html.len() > limit {
            self.note(
                location,
                Note::Unscannable(format!("only the first {} MB of HTML were read", limit / (1024 * 1024))),
            );
            &html[..floor_char_boundary(html, limit)]
        } else {
            html
        };
        let converted = html::html_to_text(input, self.limits.max_part_chars);
        if converted.truncated {
            self.note(location, truncated_note(self.limits.max_part_chars));
        }
        self.text(location, &converted.text, TextFormat::Html);
    }

    fn text(&mut self, location: &Location, text: &str, format: TextFormat) {
        let room = self.limits.max_message_chars.saturating_sub(self.chars);
        let limit = self.limits.max_part_chars.min(room);
        let text = if text.len() > limit {
            self.note(location, truncated_note(limit));
            &text[..floor_char_boundary(text, limit)]
        } else {
            text
        };
        if text.trim().is_empty() {
            return;
        }
        self.chars += text.len();
        self.out.units.push(TextUnit {
            location: location.clone(),
            text: normalise_spaces(text).into_owned(),
            format,
            rendering: Rendering::Whole,
        });
    }

    /// Mark the units from `first` on as belonging to one rendering of the body.
    fn set_rendering(&mut self, first: usize, rendering: Rendering) {
        for unit in &mut self.out.units[first..] {
            unit.rendering = rendering;
        }
    }

    fn note(&mut self, location: &Location, note: Note) {
        if !self.out.notes.iter().any(|(l, n)| l == location && *n == note) {
            self.out.notes.push((location.clone(), note));
        }
    }
}

fn truncated_note(limit: usize) -> Note {
    Note::Unscannable(format!("only the first {limit} characters were read"))
}

/// No-break and narrow spaces as plain spaces, Unicode hyphens as `-`, so
/// "date of birth" and "943-476-5919" match however a client wrote them.
/// Borrows when there is nothing to change (the common case), found with memchr.
pub fn normalise_spaces(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let has_nbsp = memchr::memmem::find(bytes, "\u{a0}".as_bytes()).is_some();
    let has_wide = memchr::memmem::find_iter(bytes, b"\xe2\x80")
        .any(|i| matches!(bytes.get(i + 2), Some(0x87 | 0x89 | 0x90 | 0x91 | 0xaf)));
    if !has_nbsp && !has_wide {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| match c {
                '\u{a0}' | '\u{2007}' | '\u{202f}' | '\u{2009}' => ' ',
                '\u{2010}' | '\u{2011}' => '-',
                other => other,
            })
            .collect(),
    )
}

/// A text part as the recipient's client shows it: [`redecoded`], and its
/// `format=flowed` paragraphs joined up ([`text::unflow`]).
fn plain_text<'t>(message: &Message, part: &MessagePart, text: &'t str) -> Cow<'t, str> {
    let text = redecoded(message, part, text);
    let Some(ct) = part.content_type() else {
        return text;
    };
    if !ct.attribute("format").is_some_and(|f| f.eq_ignore_ascii_case("flowed")) {
        return text;
    }
    let delsp = ct.attribute("delsp").is_some_and(|d| d.eq_ignore_ascii_case("yes"));
    Cow::Owned(text::unflow(&text, delsp))
}

/// A text part that declared no charset and is not UTF-8 comes from
/// mail-parser with what it could not read replaced (U+FFFD) or full of NULs
/// (Excel's "Unicode Text", UTF-16 with a BOM). Such a part is decoded again
/// from its bytes with the charset sniffed as for a text attachment
/// ([`text::decode`]: a BOM, UTF-8, else Windows-1252).
fn redecoded<'t>(message: &Message, part: &MessagePart, text: &'t str) -> Cow<'t, str> {
    let declared = part.content_type().is_some_and(|ct| ct.attribute("charset").is_some());
    if declared || !text.contains(['\u{FFFD}', '\0']) {
        return Cow::Borrowed(text);
    }
    let raw = message
        .raw_message
        .get(part.raw_body_offset() as usize..part.raw_end_offset() as usize)
        .unwrap_or_default();
    let bytes = match part.encoding {
        Encoding::Base64 => base64_decode(raw),
        Encoding::QuotedPrintable => quoted_printable_decode(raw),
        Encoding::None => Some(raw.to_vec()),
    };
    match bytes {
        Some(bytes) => Cow::Owned(text::decode(&bytes)),
        None => Cow::Borrowed(text),
    }
}

fn content_type(part: &MessagePart) -> String {
    match part.content_type() {
        Some(ct) => match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub).to_ascii_lowercase(),
            None => ct.ctype().to_ascii_lowercase(),
        },
        None => "text/plain".to_string(),
    }
}

/// `Content-Disposition: attachment`, or a file name on a part.
fn is_attachment(part: &MessagePart) -> bool {
    part.content_disposition()
        .is_some_and(|d| d.ctype().eq_ignore_ascii_case("attachment"))
}

fn attachment_name(part: &MessagePart, id: usize, ext: &str) -> String {
    match part.attachment_name() {
        Some(name) if !name.trim().is_empty() => clean_name(name),
        _ => format!("part{id}.{ext}"),
    }
}

fn nested_name(part: &MessagePart, nested: &Message) -> String {
    if let Some(name) = part.attachment_name().filter(|n| !n.trim().is_empty()) {
        return clean_name(name);
    }
    match nested.subject().map(str::trim).filter(|s| !s.is_empty()) {
        Some(subject) => clean_name(&format!("{}.eml", subject.chars().take(60).collect::<String>())),
        None => "message.eml".to_string(),
    }
}

/// A file name fit to be one segment of a location path.
fn clean_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    base.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

fn member(prefix: Option<&Location>, name: &str) -> Location {
    match prefix {
        Some(location) => location.member(name),
        None => Location::Attachment(name.to_string()),
    }
}

/// The largest char boundary of `text` at or below `index`.
pub fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    if index >= text.len() {
        return text.len();
    }
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extract_raw(raw: &str) -> Extraction {
        let message = message::parse(raw.as_bytes()).expect("parses");
        let structure = Structure::read(&message);
        extract(&message, structure, &Limits::default(), None)
    }

    fn extract_bytes(raw: &[u8]) -> Extraction {
        let message = message::parse(raw).expect("parses");
        let structure = Structure::read(&message);
        extract(&message, structure, &Limits::default(), None)
    }

    #[test]
    fn text_without_a_charset_is_sniffed_like_an_attachment() {
        // 8-bit Windows-1252 with no charset declared, as old clients and scripts send it.
        let mut raw = b"Subject: x\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: 8bit\r\n\r\n".to_vec();
        raw.extend_from_slice(b"Zo\xeb Fran\xe7ois, DOB 03/03/2016\r\n");
        assert_eq!(
            extract_bytes(&raw).units[0].text,
            "Zo\u{eb} Fran\u{e7}ois, DOB 03/03/2016\r\n"
        );

        // Quoted-printable UTF-16 with a BOM: decoded from the part's bytes once its text proved unreadable.
        let utf16: Vec<u8> = [0xff, 0xfe]
            .into_iter()
            .chain("Zo\u{eb}\tOX4 1JT".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let qp: String = utf16
            .iter()
            .map(|b| format!("={b:02X}"))
            .collect::<Vec<_>>()
            .chunks(20)
            .map(|c| c.concat())
            .collect::<Vec<_>>()
            .join("=\r\n");
        let raw = format!(
            "Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nHi\r\n--b\r\nContent-Type: text/plain; name=list.txt\r\nContent-Disposition: attachment; filename=list.txt\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{qp}\r\n--b--\r\n"
        );
        let extraction = extract_bytes(raw.as_bytes());
        assert_eq!(extraction.units[1].text.trim_end(), "Zo\u{eb}\tOX4 1JT");

        // A declared charset is believed.
        let raw = b"Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nZo\xeb\r\n";
        assert_eq!(extract_bytes(raw).units[0].text, "Zo\u{fffd}\r\n");
    }

    #[test]
    fn a_flowed_body_is_read_as_its_paragraphs() {
        let raw = "Subject: x\r\nContent-Type: text/plain; charset=utf-8; format=flowed; delsp=yes\r\n\r\nNI: JG10 \r\n375 \r\n4A\r\n";
        assert_eq!(extract_raw(raw).units[0].text, "NI: JG103754A\n");
    }

    #[test]
    fn body_and_attachments_get_their_locations() {
        let raw = "Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nHello\r\n--b\r\nContent-Type: text/csv; name=pupils.csv\r\nContent-Disposition: attachment; filename=pupils.csv\r\n\r\nName,DOB\r\n--b\r\nContent-Type: image/png; name=logo.png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--b\r\nContent-Type: application/pdf; name=report.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjcK\r\n--b--\r\n";
        let extraction = extract_raw(raw);
        let units: Vec<(String, TextFormat)> = extraction
            .units
            .iter()
            .map(|u| (u.location.to_string(), u.format))
            .collect();
        assert_eq!(
            units,
            [
                ("body".to_string(), TextFormat::Plain),
                ("attachment:pupils.csv".to_string(), TextFormat::Csv)
            ]
        );
        // A PDF that is only its header is damaged: reported, never taken as empty.
        assert_eq!(extraction.notes.len(), 1);
        assert_eq!(extraction.notes[0].0, Location::Attachment("report.pdf".to_string()));
        assert!(matches!(extraction.notes[0].1, Note::Unscannable(_)));
    }

    #[test]
    fn forwarded_message_parts_nest_under_it() {
        let raw = "Subject: Fwd\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSee below\r\n--b\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment; filename=\"Pupils.eml\"\r\n\r\nSubject: Pupils\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n--c\r\nContent-Type: text/plain\r\n\r\nInner body\r\n--c\r\nContent-Type: text/csv; name=list.csv\r\nContent-Disposition: attachment; filename=list.csv\r\n\r\nName,DOB\r\n--c--\r\n--b--\r\n";
        let extraction = extract_raw(raw);
        let locations: Vec<String> = extraction.units.iter().map(|u| u.location.to_string()).collect();
        assert_eq!(
            locations,
            [
                "body",
                "attachment:Pupils.eml",
                "attachment:Pupils.eml",
                "attachment:Pupils.eml/list.csv"
            ]
        );
    }

    #[test]
    fn spaces_are_normalised() {
        assert_eq!(
            normalise_spaces("date\u{a0}of birth 943\u{2011}476"),
            "date of birth 943-476"
        );
    }
}
