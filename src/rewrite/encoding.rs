//! Encoders for the parts the rewriter touches: charsets (encoding_rs),
//! quoted-printable that never splits a character across a soft line break,
//! base64 in 76-column lines, and word wrapping for 7bit/8bit and
//! format=flowed text. Every output line stays within RFC 5322's limits.

use base64::Engine as _;
use encoding_rs::Encoding;

/// Longest encoded line we write, before the line ending (RFC 2045 says 76).
pub const MAX_LINE: usize = 76;

/// A part's charset as the rewriter handles it.
#[derive(Debug, Clone, Copy)]
pub enum Charset {
    /// `us-ascii` (or no charset): only ASCII is representable.
    Ascii,
    Utf8,
    Other(&'static Encoding),
}

impl Charset {
    /// The charset a `charset=` label names; `None` for one we cannot write (UTF-16, unknown).
    pub fn from_label(label: Option<&str>) -> Option<Charset> {
        let label = label.map(|l| l.trim().trim_matches('"').to_ascii_lowercase());
        match label.as_deref() {
            None | Some("") | Some("us-ascii") | Some("ascii") | Some("ansi_x3.4-1968") => Some(Charset::Ascii),
            Some("utf-8") | Some("utf8") => Some(Charset::Utf8),
            Some(other) => {
                let encoding = Encoding::for_label(other.as_bytes())?;
                (encoding.output_encoding() == encoding && encoding.is_ascii_compatible())
                    .then_some(Charset::Other(encoding))
            }
        }
    }

    /// `text` in this charset, or `None` when it cannot be represented.
    pub fn encode(self, text: &str) -> Option<Vec<u8>> {
        match self {
            Charset::Ascii => text.is_ascii().then(|| text.as_bytes().to_vec()),
            Charset::Utf8 => Some(text.as_bytes().to_vec()),
            Charset::Other(encoding) => {
                let (bytes, _, unmappable) = encoding.encode(text);
                (!unmappable).then(|| bytes.into_owned())
            }
        }
    }

    /// The bytes of a part in this charset as text.
    pub fn decode(self, bytes: &[u8]) -> String {
        match self {
            Charset::Ascii | Charset::Utf8 => String::from_utf8_lossy(bytes).into_owned(),
            Charset::Other(encoding) => encoding.decode_without_bom_handling(bytes).0.into_owned(),
        }
    }
}

/// Quoted-printable (RFC 2045 §6.7) of `bytes`, whose line breaks (CRLF or
/// LF) are hard breaks written as `eol`. Soft breaks fall between characters
/// of `charset`, never inside one.
pub fn quoted_printable(bytes: &[u8], utf8: bool, eol: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 8);
    let mut line_len = 0;
    let lines = split_lines(bytes);
    let count = lines.len();
    for (n, line) in lines.into_iter().enumerate() {
        let mut i = 0;
        while i < line.len() {
            // One character's bytes are one unit: never split a UTF-8 sequence.
            let unit_len = if utf8 { utf8_len(line[i]).min(line.len() - i) } else { 1 };
            let unit = &line[i..i + unit_len];
            let last_in_line = i + unit_len == line.len();
            let mut encoded = String::new();
            for &b in unit {
                let plain = (b == b' ' || b == b'\t') && !last_in_line || (33..=126).contains(&b) && b != b'=';
                if plain {
                    encoded.push(b as char);
                } else {
                    encoded.push_str(&format!("={b:02X}"));
                }
            }
            // Leave room for the soft break's "=", except for a line's last character.
            let room = if last_in_line { MAX_LINE } else { MAX_LINE - 1 };
            if line_len + encoded.len() > room {
                out.extend_from_slice(b"=");
                out.extend_from_slice(eol.as_bytes());
                line_len = 0;
            }
            out.extend_from_slice(encoded.as_bytes());
            line_len += encoded.len();
            i += unit_len;
        }
        if n + 1 < count {
            out.extend_from_slice(eol.as_bytes());
            line_len = 0;
        }
    }
    out
}

/// Base64 in lines of 76 characters, each ended with `eol`.
pub fn base64_lines(bytes: &[u8], eol: &str) -> Vec<u8> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = Vec::with_capacity(encoded.len() + encoded.len() / MAX_LINE * 2 + 2);
    for chunk in encoded.as_bytes().chunks(MAX_LINE) {
        out.extend_from_slice(chunk);
        out.extend_from_slice(eol.as_bytes());
    }
    out
}

/// Decode base64 text, ignoring line breaks and other whitespace; lenient about padding.
pub fn decode_base64(text: &[u8]) -> Option<Vec<u8>> {
    let compact: Vec<u8> = text.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    engine.decode(compact).ok()
}

/// Wrap plain text at `width` characters on spaces; a word longer than the
/// width stays whole. Lines come back without line endings.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        for word in paragraph.split(' ').filter(|w| !w.is_empty()) {
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(line);
    }
    lines
}

/// Lines for a format=flowed part (RFC 3676): wrapped at 72 with a trailing
/// space on each soft break (two with DelSp=yes, one of which is removed on
/// reading), and space-stuffed where a line would start with a space, `>` or `From `.
pub fn flowed(text: &str, delsp: bool) -> Vec<String> {
    let mut out = Vec::new();
    for paragraph in text.lines() {
        let lines = wrap(paragraph, 72);
        let count = lines.len();
        for (i, line) in lines.into_iter().enumerate() {
            let mut line = if line.starts_with([' ', '>']) || line.starts_with("From ") {
                format!(" {line}")
            } else {
                line
            };
            if i + 1 < count {
                line.push(' ');
                if delsp {
                    line.push(' ');
                }
            }
            out.push(line);
        }
    }
    out
}

fn split_lines(bytes: &[u8]) -> Vec<&[u8]> {
    let mut lines = Vec::new();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' {
            let end = if i > start && bytes[i - 1] == b'\r' { i - 1 } else { i };
            lines.push(&bytes[start..end]);
            start = i + 1;
        }
    }
    lines.push(&bytes[start..]);
    lines
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xF7 => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_qp(encoded: &[u8]) -> Vec<u8> {
        let text = String::from_utf8_lossy(encoded).replace("=\r\n", "");
        let bytes = text.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'=' && i + 2 < bytes.len() + 1 {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("hex");
                out.push(u8::from_str_radix(hex, 16).expect("hex"));
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        out
    }

    #[test]
    fn quoted_printable_round_trips_and_never_splits_a_character() {
        let text = "Caf\u{e9} na\u{ef}ve \u{201c}quoted\u{201d} = 100% \u{1F600} ".repeat(12) + "\r\nend \r\nlast";
        let encoded = quoted_printable(text.as_bytes(), true, "\r\n");
        for line in encoded.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            assert!(line.len() <= MAX_LINE, "{}", String::from_utf8_lossy(line));
            // A soft break never follows the first bytes of a multi-byte character.
            if line.ends_with(b"=") {
                let body = &line[..line.len() - 1];
                let decoded = decode_qp(body);
                assert!(
                    std::str::from_utf8(&decoded).is_ok(),
                    "split char: {}",
                    String::from_utf8_lossy(line)
                );
            }
        }
        assert_eq!(decode_qp(&encoded), text.as_bytes());
    }

    #[test]
    fn trailing_spaces_are_encoded() {
        assert_eq!(quoted_printable(b"a \r\nb\t", false, "\r\n"), b"a=20\r\nb=09");
    }

    #[test]
    fn charsets() {
        assert!(Charset::from_label(Some("us-ascii")).is_some_and(|c| c.encode("caf\u{e9}").is_none()));
        let latin = Charset::from_label(Some("\"windows-1252\"")).expect("known");
        assert_eq!(latin.encode("caf\u{e9} \u{2019}"), Some(b"caf\xe9 \x92".to_vec()));
        assert!(latin.encode("\u{43f}").is_none(), "Cyrillic is not in windows-1252");
        assert!(Charset::from_label(Some("utf-16")).is_none());
    }

    #[test]
    fn flowed_lines_are_soft_broken_and_stuffed() {
        let lines = flowed(&format!("{} end", "word ".repeat(20)), false);
        assert!(lines[0].ends_with(' ') && !lines[1].ends_with(' '));
        assert!(lines.iter().all(|l| l.chars().count() <= 73));
        assert_eq!(flowed("From here", false), [" From here"]);
        assert!(flowed(&"word ".repeat(20), true)[0].ends_with("  "));
    }
}
