//! Text-like attachments (txt, csv, tsv, html, ics, vcf…) that arrive as
//! bytes: their charset is rarely declared, so it is sniffed — a BOM, then
//! UTF-8 if the bytes are valid UTF-8, else Windows-1252, which is what Excel
//! on a school PC writes when it saves a CSV.

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

use crate::detect::TextFormat;

/// Decode text bytes of unknown charset.
pub fn decode(bytes: &[u8]) -> String {
    if let Some((encoding, bom)) = Encoding::for_bom(bytes) {
        return encoding.decode_without_bom_handling(&bytes[bom..]).0.into_owned();
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(_) => {
            let (text, _, _) = WINDOWS_1252.decode(bytes);
            text.into_owned()
        }
    }
}

/// What a reader sees of a `format=flowed` text (RFC 3676): lines that
/// end in a space (soft breaks) joined back into their paragraphs, the
/// space-stuffing removed, quoted paragraphs kept behind their quote marks.
/// An identifier the sender's client wrapped onto two lines is one again.
pub fn unflow(text: &str, delsp: bool) -> String {
    let mut out = String::with_capacity(text.len());
    // The quote depth of a paragraph whose last line was soft-broken.
    let mut open: Option<usize> = None;
    for line in text.split_inclusive('\n') {
        let line = line.trim_end_matches(['\r', '\n']);
        let depth = line.bytes().take_while(|&b| b == b'>').count();
        let content = &line[depth..];
        let content = content.strip_prefix(' ').unwrap_or(content);
        // The signature separator "-- " is the one line that ends in a space and is not soft.
        let soft = content.ends_with(' ') && content != "-- ";
        if open.is_some_and(|d| d != depth) {
            // A quote depth change ends a paragraph even after a soft break (RFC 3676, 4.5).
            out.push('\n');
        }
        if open != Some(depth) && depth > 0 {
            out.push_str(&line[..depth]);
            out.push(' ');
        }
        out.push_str(if soft && delsp {
            &content[..content.len() - 1]
        } else {
            content
        });
        if soft {
            open = Some(depth);
        } else {
            out.push('\n');
            open = None;
        }
    }
    out
}

/// Bytes that are text: no NUL, and valid in the charset [`decode`] would choose.
pub fn looks_like_text(bytes: &[u8]) -> bool {
    let sample = &bytes[..bytes.len().min(8192)];
    if Encoding::for_bom(sample).is_some_and(|(e, _)| e != UTF_8) {
        return true;
    }
    !sample.contains(&0)
        && sample
            .iter()
            .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c))
            .count()
            * 100
            <= sample.len()
}

/// The table format a text attachment should be read with, from its name and type.
pub fn format_of(name: Option<&str>, content_type: &str) -> TextFormat {
    let ext = name
        .and_then(|n| n.rsplit_once('.'))
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match (ext.as_str(), content_type) {
        ("csv", _) | (_, "text/csv") | (_, "text/comma-separated-values") => TextFormat::Csv,
        ("tsv" | "tab", _) | (_, "text/tab-separated-values") => TextFormat::Tsv,
        ("htm" | "html", _) | (_, "text/html") => TextFormat::Html,
        _ => TextFormat::Plain,
    }
}

/// Extensions of attachments read as text.
pub const TEXT_EXTENSIONS: &[&str] = &[
    "txt", "text", "csv", "tsv", "tab", "htm", "html", "ics", "vcf", "log", "md", "json", "xml",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flowed_paragraphs_are_joined() {
        let flowed = "Her NI number is JG \r\n10 37 54 A and her \r\nP45 follows.\r\n\r\n-- \r\nDebbie\r\n";
        assert_eq!(
            unflow(flowed, false),
            "Her NI number is JG 10 37 54 A and her P45 follows.\n\n-- \nDebbie\n"
        );
        // DelSp=yes: the space before a soft break was added by the sender's client.
        assert_eq!(unflow("JG10 \r\n375 \r\n4A\r\n", true), "JG103754A\n");
        // A stuffed line loses its stuffing; "From " stays a word.
        assert_eq!(unflow(" From the office\r\n", false), "From the office\n");
    }

    #[test]
    fn flowed_quotes_keep_their_depth() {
        let flowed = "> Is the trip on \r\n> Friday?\r\n>> older \r\nYes it is\r\n";
        assert_eq!(
            unflow(flowed, false),
            "> Is the trip on Friday?\n>> older \nYes it is\n"
        );
    }

    #[test]
    fn charsets_are_sniffed() {
        assert_eq!(decode("Zoë".as_bytes()), "Zoë");
        assert_eq!(decode(b"Zo\xeb"), "Zoë");
        assert_eq!(decode(b"\xef\xbb\xbfName"), "Name");
        assert_eq!(decode(b"\xff\xfeN\x00a\x00"), "Na");
    }

    #[test]
    fn text_or_binary() {
        assert!(looks_like_text(b"Name,DOB\r\nJamie,12/03/2015\r\n"));
        assert!(!looks_like_text(b"PK\x03\x04\x14\x00\x00\x00\x08\x00"));
        assert!(!looks_like_text(b"%PDF-1.7\n\x00\x01\x02"));
    }

    #[test]
    fn formats_from_names() {
        assert_eq!(
            format_of(Some("Pupils.CSV"), "application/octet-stream"),
            TextFormat::Csv
        );
        assert_eq!(format_of(None, "text/tab-separated-values"), TextFormat::Tsv);
        assert_eq!(format_of(Some("notes.txt"), "text/plain"), TextFormat::Plain);
    }
}
