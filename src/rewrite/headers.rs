//! The header block as bytes: fields with their exact spans, header edits in
//! the form a milter sends them, and the Bcc rewrite of To and Cc that keeps
//! every remaining entry exactly as the sender's client wrote it.
//!
//! Edit values follow MILTER.md with the leading-space option: a value is
//! everything after the colon, starting with its space, and a folded value
//! is joined with a bare `\n` followed by whitespace. [`apply_edits`] turns
//! them back into the message's own line endings.

use std::fmt;

/// One header field of the raw message.
#[derive(Debug, Clone)]
pub struct Field<'a> {
    pub name: &'a str,
    /// After the colon, to the end of the last line (line ending excluded).
    pub value: &'a str,
    /// Byte span of the whole field, its final line ending included.
    pub start: usize,
    pub end: usize,
}

/// The header block: its fields, where the body begins, and the line ending in use.
#[derive(Debug, Clone)]
pub struct HeaderBlock<'a> {
    pub fields: Vec<Field<'a>>,
    /// Offset of the blank line that ends the headers (or the end of the message).
    pub blank_line: usize,
    /// Offset of the body.
    pub body_start: usize,
    pub eol: &'static str,
}

impl<'a> HeaderBlock<'a> {
    pub fn parse(raw: &'a [u8]) -> HeaderBlock<'a> {
        let eol = if raw.windows(2).take(4096).any(|w| w == b"\r\n") {
            "\r\n"
        } else {
            "\n"
        };
        let mut fields: Vec<Field<'a>> = Vec::new();
        let mut at = 0;
        let (blank_line, body_start) = loop {
            if at >= raw.len() {
                break (raw.len(), raw.len());
            }
            let line_end = memchr::memchr(b'\n', &raw[at..]).map_or(raw.len(), |i| at + i + 1);
            let line = &raw[at..line_end];
            let content = line
                .strip_suffix(b"\n")
                .map_or(line, |l| l.strip_suffix(b"\r").unwrap_or(l));
            if content.is_empty() {
                break (at, line_end);
            }
            if matches!(content[0], b' ' | b'\t') {
                // A continuation line: extend the previous field.
                if let Some(last) = fields.last_mut() {
                    last.end = line_end;
                    last.value = text(&raw[value_start(raw, last.start)..trim_eol(raw, line_end)]);
                }
            } else if let Some(colon) = memchr::memchr(b':', content) {
                let name = text(&content[..colon]).trim_end();
                fields.push(Field {
                    name,
                    value: text(&raw[at + colon + 1..trim_eol(raw, line_end)]),
                    start: at,
                    end: line_end,
                });
            }
            at = line_end;
        };
        HeaderBlock {
            fields,
            blank_line,
            body_start,
            eol,
        }
    }

    /// The fields called `name` (any case), in order.
    pub fn named<'b>(&'b self, name: &'b str) -> impl Iterator<Item = &'b Field<'a>> + 'b {
        self.fields.iter().filter(move |f| f.name.eq_ignore_ascii_case(name))
    }
}

fn value_start(raw: &[u8], field_start: usize) -> usize {
    field_start + memchr::memchr(b':', &raw[field_start..]).map_or(0, |i| i + 1)
}

fn trim_eol(raw: &[u8], line_end: usize) -> usize {
    let mut end = line_end;
    if end > 0 && raw[end - 1] == b'\n' {
        end -= 1;
    }
    if end > 0 && raw[end - 1] == b'\r' {
        end -= 1;
    }
    end
}

/// Header bytes as text; raw 8-bit headers pass through as Latin-1 would not, so keep UTF-8 and replace the rest.
fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_else(|e| std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or(""))
}

/// One change to the header block, as a milter sends it at end of message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderEdit {
    /// Replace the `index`-th (1-based) field called `name`; `None` deletes it.
    Change {
        name: String,
        index: usize,
        value: Option<String>,
    },
    /// Add a field at the end of the header block.
    Add { name: String, value: String },
}

impl fmt::Display for HeaderEdit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderEdit::Change {
                name,
                index,
                value: Some(v),
            } => write!(f, "change {name}[{index}] to{v:?}"),
            HeaderEdit::Change {
                name,
                index,
                value: None,
            } => write!(f, "delete {name}[{index}]"),
            HeaderEdit::Add { name, value } => write!(f, "add {name}:{value:?}"),
        }
    }
}

impl HeaderEdit {
    /// What the edit touches, without its value: `change To[1]`, `add X-Schoolgate-Bcc`.
    pub fn target(&self) -> String {
        match self {
            HeaderEdit::Change {
                name,
                index,
                value: Some(_),
            } => format!("change {name}[{index}]"),
            HeaderEdit::Change {
                name,
                index,
                value: None,
            } => format!("delete {name}[{index}]"),
            HeaderEdit::Add { name, .. } => format!("add {name}"),
        }
    }
}

/// A milter value from a raw field value: folds joined with a bare `\n`.
pub fn milter_value(raw_value: &str) -> String {
    raw_value.replace("\r\n", "\n")
}

/// Apply header edits to a whole message. Changes to one name are applied
/// from the last occurrence back, so indexes mean the same whether or not a
/// deleted field still counts (the order [`super::plan`] emits them in).
pub fn apply_edits(raw: &[u8], edits: &[HeaderEdit], body: Option<&[u8]>) -> Vec<u8> {
    let block = HeaderBlock::parse(raw);
    let mut out = Vec::with_capacity(raw.len() + 256);
    write_edited_headers(raw, &block, edits, &mut out);
    match body {
        Some(body) => {
            out.extend_from_slice(block.eol.as_bytes());
            out.extend_from_slice(body);
        }
        None => out.extend_from_slice(&raw[block.blank_line..]),
    }
    out
}

/// Write the header block of `raw` with `edits` made, up to (not including) the blank line.
pub fn write_edited_headers(raw: &[u8], block: &HeaderBlock, edits: &[HeaderEdit], out: &mut Vec<u8>) {
    let eol = block.eol;
    // Replacement bytes per field index (None = delete).
    let mut replaced: Vec<Option<Option<Vec<u8>>>> = vec![None; block.fields.len()];
    let mut added: Vec<u8> = Vec::new();
    for edit in edits {
        match edit {
            HeaderEdit::Change { name, index, value } => {
                let position = block
                    .fields
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| f.name.eq_ignore_ascii_case(name))
                    .nth(index.saturating_sub(1))
                    .map(|(i, _)| i);
                match (position, value) {
                    (Some(i), Some(value)) => {
                        replaced[i] = Some(Some(field_bytes(block.fields[i].name, value, eol)));
                    }
                    (Some(i), None) => replaced[i] = Some(None),
                    // Changing a field that is not there adds it, as Postfix does.
                    (None, Some(value)) => added.extend(field_bytes(name, value, eol)),
                    (None, None) => {}
                }
            }
            HeaderEdit::Add { name, value } => added.extend(field_bytes(name, value, eol)),
        }
    }
    let mut at = 0;
    for (i, field) in block.fields.iter().enumerate() {
        out.extend_from_slice(&raw[at..field.start]);
        match &replaced[i] {
            Some(Some(bytes)) => out.extend_from_slice(bytes),
            Some(None) => {}
            None => out.extend_from_slice(&raw[field.start..field.end]),
        }
        at = field.end;
    }
    out.extend_from_slice(&raw[at..block.blank_line]);
    out.extend_from_slice(&added);
}

/// `Name:` + a milter value, with the message's line endings.
fn field_bytes(name: &str, value: &str, eol: &str) -> Vec<u8> {
    let value = if value.starts_with([' ', '\t']) {
        value.to_string()
    } else {
        format!(" {value}")
    };
    format!("{name}:{}{eol}", value.replace('\n', eol)).into_bytes()
}

/// One entry of an address list, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry<'a> {
    Mailbox { text: &'a str, address: String },
    Group { name: &'a str, members: Vec<Entry<'a>> },
}

/// Split an address-list value into entries, respecting quotes, comments,
/// angle brackets and groups. Whitespace around entries is dropped; the
/// text of each entry is kept exactly.
fn entries(value: &str) -> Vec<Entry<'_>> {
    let mut out = Vec::new();
    let mut group: Option<(&str, Vec<Entry<'_>>)> = None;
    let bytes = value.as_bytes();
    let (mut start, mut i) = (0, 0);
    let (mut quoted, mut comment, mut angle) = (false, 0usize, false);
    while i <= bytes.len() {
        let b = bytes.get(i).copied();
        match b {
            Some(b'\\') if quoted || comment > 0 => i += 1,
            Some(b'"') if comment == 0 => quoted = !quoted,
            Some(b'(') if !quoted => comment += 1,
            Some(b')') if !quoted && comment > 0 => comment -= 1,
            Some(b'<') if !quoted && comment == 0 => angle = true,
            Some(b'>') if !quoted && comment == 0 => angle = false,
            Some(b':') if !quoted && comment == 0 && !angle && group.is_none() => {
                group = Some((value[start..i].trim(), Vec::new()));
                start = i + 1;
            }
            Some(b',') | Some(b';') | None if !quoted && comment == 0 && !angle || b.is_none() => {
                let piece = value[start..i.min(value.len())].trim();
                if !piece.is_empty() {
                    let entry = Entry::Mailbox {
                        text: piece,
                        address: address_of(piece),
                    };
                    match &mut group {
                        Some((_, members)) => members.push(entry),
                        None => out.push(entry),
                    }
                }
                if (b == Some(b';') || b.is_none())
                    && let Some((name, members)) = group.take()
                {
                    out.push(Entry::Group { name, members });
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// The address of one mailbox entry: inside `<…>`, else the entry without comments.
fn address_of(entry: &str) -> String {
    if let (Some(open), Some(close)) = (entry.rfind('<'), entry.rfind('>'))
        && open < close
    {
        return entry[open + 1..close].trim().to_lowercase();
    }
    let mut out = String::new();
    let mut depth = 0usize;
    for c in entry.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            c if depth == 0 && !c.is_whitespace() => out.push(c),
            _ => {}
        }
    }
    out.trim_matches('"').to_lowercase()
}

/// What is left of an address-list value once `remove` (lower-case
/// addresses) is taken out: `None` when nothing is left. Kept entries are
/// written exactly as they were; entries are joined by `, `, folding before
/// an entry that would pass 78 columns.
pub fn without_addresses(value: &str, header_name: &str, remove: &[String]) -> (Option<String>, Vec<String>) {
    let mut removed = Vec::new();
    let mut kept: Vec<String> = Vec::new();
    for entry in entries(value) {
        match entry {
            Entry::Mailbox { text, address } => {
                if remove.contains(&address) {
                    removed.push(address);
                } else {
                    kept.push(text.to_string());
                }
            }
            Entry::Group { name, members } => {
                let mut left = Vec::new();
                for member in members {
                    if let Entry::Mailbox { text, address } = member {
                        if remove.contains(&address) {
                            removed.push(address);
                        } else {
                            left.push(text);
                        }
                    }
                }
                if !left.is_empty() {
                    kept.push(format!("{name}: {};", left.join(", ")));
                }
            }
        }
    }
    if removed.is_empty() {
        return (Some(milter_value(value)), removed);
    }
    if kept.is_empty() {
        return (None, removed);
    }
    // Fold before an entry that would run past 78 columns (the name and ": " count on the first line).
    let mut folded = String::new();
    let mut column = header_name.len() + 1;
    for (i, entry) in kept.iter().enumerate() {
        let entry = milter_value(entry);
        let first_line = entry.split('\n').next().unwrap_or("");
        if i > 0 {
            folded.push(',');
            column += 1;
            // Room for the space, the entry and the comma that may follow it.
            if column + 1 + first_line.len() + 1 > 78 {
                folded.push_str("\n ");
                column = 1;
            } else {
                folded.push(' ');
                column += 1;
            }
        } else {
            folded.push(' ');
            column += 1;
        }
        folded.push_str(&entry);
        column = match entry.rfind('\n') {
            Some(nl) => entry.len() - nl - 1,
            None => column + entry.len(),
        };
    }
    (Some(folded), removed)
}

/// An unstructured header value (a subject), RFC 2047-encoded when it is not
/// ASCII, folded so no line passes 78 columns.
pub fn unstructured_value(text: &str) -> String {
    if text.is_ascii() {
        return format!(" {text}");
    }
    use base64::Engine as _;
    // Encoded words of at most 75 characters, split between characters.
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars() {
        let mut next = chunk.clone();
        next.push(c);
        if base64::engine::general_purpose::STANDARD.encode(next.as_bytes()).len() + 12 > 75 {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    words.push(chunk);
    let encoded: Vec<String> = words
        .iter()
        .map(|w| {
            format!(
                "=?UTF-8?B?{}?=",
                base64::engine::general_purpose::STANDARD.encode(w.as_bytes())
            )
        })
        .collect();
    format!(" {}", encoded.join("\n "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_keep_their_exact_bytes() {
        let raw =
            b"From: a@b\r\nTo: One <one@x>,\r\n  Two <two@x>,\r\n\tThree <three@x>\r\nSubject:  hi\r\n\r\nbody\r\n";
        let block = HeaderBlock::parse(raw);
        assert_eq!(block.eol, "\r\n");
        let to = block.named("to").next().expect("to");
        assert_eq!(to.value, " One <one@x>,\r\n  Two <two@x>,\r\n\tThree <three@x>");
        assert_eq!(
            milter_value(to.value),
            " One <one@x>,\n  Two <two@x>,\n\tThree <three@x>"
        );
        assert_eq!(&raw[block.body_start..], b"body\r\n");
    }

    #[test]
    fn removing_addresses_keeps_what_stays_as_written() {
        let remove = vec![
            "p1@gmail.com".to_string(),
            "p2@outlook.com".to_string(),
            "p3@gmail.com".to_string(),
        ];
        let cases: &[(&str, &str, Option<&str>, usize)] = &[
            (
                "all external",
                " p1@gmail.com, \"Parent, Two\" <p2@outlook.com>",
                None,
                2,
            ),
            (
                "internal stays with its display name",
                " \"Jenkins, Sarah\" <s.jenkins@oakfield.sch.uk>, p1@gmail.com",
                Some(" \"Jenkins, Sarah\" <s.jenkins@oakfield.sch.uk>"),
                1,
            ),
            (
                "encoded display name and comment",
                " =?UTF-8?B?w4lsb2RpZQ==?= <office@oakfield.sch.uk> (office), P One <p1@gmail.com>",
                Some(" =?UTF-8?B?w4lsb2RpZQ==?= <office@oakfield.sch.uk> (office)"),
                1,
            ),
            (
                "group members",
                " Parents: p1@gmail.com, p3@gmail.com;, head@oakfield.sch.uk",
                Some(" head@oakfield.sch.uk"),
                2,
            ),
            (
                "group keeps internal members",
                " Staff: a@oakfield.sch.uk, p1@gmail.com;",
                Some(" Staff: a@oakfield.sch.uk;"),
                1,
            ),
            (
                "nothing to remove",
                " a@oakfield.sch.uk,\r\n b@oakfield.sch.uk",
                Some(" a@oakfield.sch.uk,\n b@oakfield.sch.uk"),
                0,
            ),
            ("bare address in angle brackets", " <P1@Gmail.com>", None, 1),
        ];
        for (name, value, expected, count) in cases {
            let (left, removed) = without_addresses(value, "To", &remove);
            assert_eq!(left.as_deref(), *expected, "{name}");
            assert_eq!(removed.len(), *count, "{name}");
        }
    }

    #[test]
    fn long_lists_fold_at_entries() {
        let value = (0..8)
            .map(|i| format!(" Teacher Number{i} <t{i}@oakfield.sch.uk>"))
            .collect::<Vec<_>>()
            .join(",")
            + ", p1@gmail.com";
        let (left, _) = without_addresses(&value, "Cc", &["p1@gmail.com".to_string()]);
        let left = left.expect("kept");
        let lines: Vec<&str> = left.split('\n').collect();
        assert!(lines[0].len() + "Cc:".len() <= 78, "{left}");
        assert!(lines.iter().all(|line| line.len() <= 78), "{left}");
        assert!(left.split('\n').skip(1).all(|line| line.starts_with(' ')));
    }

    #[test]
    fn edits_apply_to_the_raw_message() {
        let raw = b"From: a@b\r\nTo: x@gmail.com\r\nTo: y@gmail.com\r\nCc: z@gmail.com\r\nSubject: old\r\n\r\nbody\r\n";
        let edits = vec![
            HeaderEdit::Change {
                name: "To".into(),
                index: 2,
                value: None,
            },
            HeaderEdit::Change {
                name: "To".into(),
                index: 1,
                value: Some(" office@oakfield.sch.uk".into()),
            },
            HeaderEdit::Change {
                name: "Cc".into(),
                index: 1,
                value: None,
            },
            HeaderEdit::Change {
                name: "Subject".into(),
                index: 1,
                value: Some(" one\n two".into()),
            },
            HeaderEdit::Add {
                name: "X-Schoolgate-Bcc".into(),
                value: " moved 3 recipients".into(),
            },
        ];
        let out = apply_edits(raw, &edits, None);
        assert_eq!(
            String::from_utf8_lossy(&out),
            "From: a@b\r\nTo: office@oakfield.sch.uk\r\nSubject: one\r\n two\r\nX-Schoolgate-Bcc: moved 3 recipients\r\n\r\nbody\r\n"
        );
    }

    #[test]
    fn subjects_are_encoded_when_not_ascii() {
        assert_eq!(unstructured_value("A message from school"), " A message from school");
        let encoded = unstructured_value(&"Message from Ysgol Gymraeg Aberystwyth – ".repeat(3));
        assert!(encoded.starts_with(" =?UTF-8?B?"));
        assert!(encoded.split('\n').all(|l| l.len() <= 77), "{encoded}");
    }
}
