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
