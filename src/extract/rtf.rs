//! RTF → plain text for DLP scanning, in one forward pass.
//!
//! Why it is built this way:
//!
//! * **A loop and a capped stack, never recursion.** Groups push a small
//!   copyable state onto a stack of at most [`MAX_DEPTH`] entries; deeper
//!   groups are only counted, and what they hold is ignored, so 100,000
//!   nested `{` cost a counter, not the call stack. Time and memory are
//!   linear in the input.
//! * **Only text that a reader sees.** Destinations that hold no document
//!   text (font, colour and style tables, document info, pictures, embedded
//!   object data, field instructions, and every `{\*\…}` group) are skipped;
//!   headers, footers, footnotes and field results are kept. `\bin N` data is
//!   skipped by its length, checked against what is left.
//! * **Characters as Word wrote them.** `\'hh` bytes (and raw 8-bit bytes)
//!   are collected and decoded together in the code page of the current font
//!   (`\fcharset` in the font table) or of the document (`\ansicpg`, 1252 by
//!   default), so double-byte code pages and Polish names in a CE font come
//!   out right. `\uN` is a UTF-16 unit (negative values + 65536, surrogate
//!   pairs joined) followed by `\ucN` fallback characters that are skipped.
//! * **Tables as tab-separated rows.** `\cell` is a tab, `\row` ends the line,
//!   and a paragraph break inside a cell is a space, as the HTML reader does,
//!   so the table detector sees one row per line.

use std::collections::HashMap;

use encoding_rs::{Encoding, WINDOWS_1252};

/// Plain text read from an RTF document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RtfText {
    /// The text: paragraphs on their own lines, table rows as tab-separated lines.
    pub text: String,
    /// `true` when the text stopped at `max_chars` and text was lost.
    pub truncated: bool,
    /// `true` when groups nested past the depth limit and their text was not read.
    pub too_deep: bool,
}

/// Groups kept on the stack; content nested deeper is ignored.
const MAX_DEPTH: usize = 100;
/// Fonts remembered from the font table.
const MAX_FONTS: usize = 4096;
/// Fallback characters skipped after `\uN`; real documents use 0–2.
const MAX_FALLBACK: usize = 16;

/// Converts an RTF document to plain text in one linear pass.
///
/// At most `max_chars` characters are produced; past that, `truncated` is
/// set and the rest of the input is not read. Never panics; input that is
/// not RTF gives whatever text it holds.
#[must_use]
pub fn rtf_to_text(bytes: &[u8], max_chars: usize) -> RtfText {
    let mut reader = Reader::new(bytes, max_chars);
    reader.run();
    reader.finish()
}

/// What a group's content is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Destination {
    Text,
    /// Read for its `\f` and `\fcharset` entries only.
    FontTable,
    /// Nothing in it is text.
    Skip,
}

/// The state a group inherits from its parent and restores at `}`.
#[derive(Debug, Clone, Copy)]
struct Group {
    destination: Destination,
    /// `\ucN`: fallback characters after each `\uN`.
    fallback_len: usize,
    /// `\fN`: the current font, whose charset decodes `\'hh`.
    font: Option<i32>,
    /// `\intbl`: the paragraph is in a table cell.
    in_table: bool,
}

/// Control words that start a destination holding no document text.
const SKIPPED: &[&[u8]] = &[
    b"colortbl",
    b"stylesheet",
    b"info",
    b"pict",
    b"objdata",
    b"fldinst",
    b"listtable",
    b"listoverridetable",
    b"revtbl",
    b"rsidtbl",
    b"generator",
    b"xmlnstbl",
    b"filetbl",
    b"themedata",
    b"colorschememapping",
    b"latentstyles",
    b"datastore",
    b"datafield",
    b"pgdsctbl",
    b"userprops",
    b"docvar",
    b"bkmkstart",
    b"bkmkend",
    b"xe",
    b"tc",
    b"template",
    b"mmathPr",
    b"passwordhash",
];

struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
    /// The current group is the last; the first is the document outside any group.
    groups: Vec<Group>,
    /// Groups opened past [`MAX_DEPTH`] and not yet closed.
    too_deep: usize,
    /// Whether any group was opened past [`MAX_DEPTH`].
    went_too_deep: bool,
    /// `\ansicpg`: the code page of text in fonts without a charset.
    document_encoding: &'static Encoding,
    /// `\deffN`: the font of text that names none.
    default_font: Option<i32>,
    /// Encodings from the font table's `\fcharset` and `\cpg`.
    font_encodings: HashMap<i32, &'static Encoding>,
    /// The font the font table is describing.
    font_being_defined: Option<i32>,
    /// Bytes of text not yet decoded, and the encoding they are in.
    pending: Vec<u8>,
    pending_encoding: &'static Encoding,
    /// Fallback characters still to skip after a `\uN`.
    fallback_left: usize,
    /// The first half of a surrogate pair written as two `\uN`.
    high_surrogate: Option<u16>,
    out: Output,
}

impl<'a> Reader<'a> {
    fn new(input: &'a [u8], max_chars: usize) -> Self {
        Reader {
            input,
            pos: 0,
            groups: vec![Group {
                destination: Destination::Text,
                fallback_len: 1,
                font: None,
                in_table: false,
            }],
            too_deep: 0,
            went_too_deep: false,
            document_encoding: WINDOWS_1252,
            default_font: None,
            font_encodings: HashMap::new(),
            font_being_defined: None,
            pending: Vec::new(),
            pending_encoding: WINDOWS_1252,
            fallback_left: 0,
            high_surrogate: None,
            out: Output {
                text: String::new(),
                chars_left: max_chars,
                truncated: false,
            },
        }
    }

    fn finish(mut self) -> RtfText {
        self.flush();
        let mut text = self.out.text;
        text.truncate(text.trim_end().len());
        RtfText {
            text,
            truncated: self.out.truncated,
            too_deep: self.went_too_deep,
        }
    }

    fn group(&self) -> Group {
        self.groups.last().copied().unwrap_or(Group {
            destination: Destination::Text,
            fallback_len: 1,
            font: None,
            in_table: false,
        })
    }

    fn group_mut(&mut self) -> Option<&mut Group> {
        self.groups.last_mut()
    }

    fn run(&mut self) {
        while let Some(&byte) = self.input.get(self.pos) {
            if self.out.truncated {
                return;
            }
            self.pos += 1;
            match byte {
                b'{' => self.open_group(),
                b'}' => self.close_group(),
                b'\\' => self.control(),
                b'\r' | b'\n' => {}
                _ => self.text_byte(byte),
            }
        }
    }

    fn open_group(&mut self) {
        self.flush();
        self.fallback_left = 0;
        if self.too_deep > 0 || self.groups.len() > MAX_DEPTH {
            self.too_deep += 1;
            self.went_too_deep = true;
        } else {
            self.groups.push(self.group());
        }
    }

    fn close_group(&mut self) {
        self.flush();
        self.fallback_left = 0;
        if self.too_deep > 0 {
            self.too_deep -= 1;
        } else if self.groups.len() > 1 {
            self.groups.pop();
        }
    }

    /// A byte of text: kept for decoding, unless it is a fallback character
    /// or outside the text.
    fn text_byte(&mut self, byte: u8) {
        if self.fallback_left > 0 {
            self.fallback_left -= 1;
            return;
        }
        if self.too_deep > 0 || self.group().destination != Destination::Text {
            return;
        }
        let encoding = self.encoding();
        if encoding != self.pending_encoding {
            self.flush();
            self.pending_encoding = encoding;
        }
        self.pending.push(byte);
    }

    /// The code page of the current font, else of the document.
    fn encoding(&self) -> &'static Encoding {
        self.group()
            .font
            .or(self.default_font)
            .and_then(|font| self.font_encodings.get(&font).copied())
            .unwrap_or(self.document_encoding)
    }

    /// Decodes the collected bytes into the output.
    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let (text, _) = self.pending_encoding.decode_without_bom_handling(&self.pending);
        self.out.push_str(&text);
        self.pending.clear();
    }

    /// After a backslash: a control symbol or a control word.
    fn control(&mut self) {
        let Some(&next) = self.input.get(self.pos) else {
            return;
        };
        if next.is_ascii_alphabetic() {
            let (name, param) = self.control_word();
            self.word(name, param);
            return;
        }
        self.pos += 1;
        if next == b'\'' {
            let byte = self.hex_byte();
            if let Some(byte) = byte {
                self.text_byte(byte);
            }
            return;
        }
        if self.skip_fallback() {
            return;
        }
        match next {
            b'{' | b'}' | b'\\' => self.text_byte(next),
            b'*' => self.set_destination(Destination::Skip),
            b'~' => self.emit("\u{a0}"),
            b'_' => self.emit("-"),
            b'\r' | b'\n' => self.paragraph(),
            b'\t' => self.emit("\t"),
            // `\-` optional hyphen, `\|` `\:` index marks: nothing to read.
            _ => {}
        }
    }

    /// `true` when the control just read was a `\uN` fallback character.
    fn skip_fallback(&mut self) -> bool {
        if self.fallback_left == 0 {
            return false;
        }
        self.fallback_left -= 1;
        true
    }

    /// Reads a control word's letters and optional signed number, and the
    /// space that may end it.
    fn control_word(&mut self) -> (&'a [u8], Option<i32>) {
        let input = self.input;
        let start = self.pos;
        while input.get(self.pos).is_some_and(u8::is_ascii_alphabetic) {
            self.pos += 1;
        }
        let name = input.get(start..self.pos).unwrap_or_default();
        let negative = input.get(self.pos) == Some(&b'-') && input.get(self.pos + 1).is_some_and(u8::is_ascii_digit);
        if negative {
            self.pos += 1;
        }
        let mut param: Option<i32> = None;
        while let Some(digit) = input.get(self.pos).filter(|b| b.is_ascii_digit()) {
            self.pos += 1;
            let value = param.unwrap_or(0);
            param = Some(value.saturating_mul(10).saturating_add(i32::from(digit - b'0')));
        }
        let param = param.map(|p| if negative { -p } else { p });
        if input.get(self.pos) == Some(&b' ') {
            self.pos += 1;
        }
        (name, param)
    }

    /// The two hex digits of `\'hh`; `None` (and nothing consumed past a
    /// non-digit) when they are not there.
    fn hex_byte(&mut self) -> Option<u8> {
        let mut value = 0u8;
        for _ in 0..2 {
            let digit = self.input.get(self.pos).and_then(|&b| char::from(b).to_digit(16))?;
            self.pos += 1;
            value = value << 4 | u8::try_from(digit).ok()?;
        }
        Some(value)
    }

    fn word(&mut self, name: &[u8], param: Option<i32>) {
        // `\bin` data must be stepped over whatever else is going on.
        if name == b"bin" {
            self.skip_binary(param);
            return;
        }
        if name == b"u" {
            self.unicode(param);
            return;
        }
        if self.skip_fallback() {
            return;
        }
        self.flush();
        if self.too_deep > 0 {
            return;
        }
        match name {
            b"par" | b"sect" | b"page" => self.paragraph(),
            b"line" => self.emit("\n"),
            b"tab" | b"cell" => self.emit("\t"),
            b"nestcell" | b"nestrow" => self.emit(" "),
            b"row" => self.out.end_row(),
            b"intbl" => self.set(|g| g.in_table = true),
            b"pard" => self.set(|g| g.in_table = false),
            b"uc" => {
                let len = param.and_then(|p| usize::try_from(p).ok()).unwrap_or(1);
                self.set(|g| g.fallback_len = len.min(MAX_FALLBACK));
            }
            b"emdash" => self.emit("\u{2014}"),
            b"endash" => self.emit("\u{2013}"),
            b"lquote" => self.emit("\u{2018}"),
            b"rquote" => self.emit("\u{2019}"),
            b"ldblquote" => self.emit("\u{201c}"),
            b"rdblquote" => self.emit("\u{201d}"),
            b"bullet" => self.emit("\u{2022}"),
            b"emspace" | b"enspace" | b"qmspace" => self.emit(" "),
            b"fonttbl" => self.set_destination(Destination::FontTable),
            b"ansi" => self.document_encoding = WINDOWS_1252,
            b"mac" => self.document_encoding = encoding_rs::MACINTOSH,
            b"ansicpg" => {
                if let Some(encoding) = param.and_then(code_page) {
                    self.document_encoding = encoding;
                }
            }
            b"deff" => self.default_font = param,
            b"f" => self.font(param),
            b"plain" => self.set(|g| g.font = None),
            b"fcharset" => self.define_font_encoding(param.and_then(charset_code_page).and_then(code_page)),
            b"cpg" => self.define_font_encoding(param.and_then(code_page)),
            _ if SKIPPED.contains(&name) => self.set_destination(Destination::Skip),
            _ => {}
        }
    }

    /// `\fN`: in the font table, the font being described; elsewhere, the font in use.
    fn font(&mut self, number: Option<i32>) {
        if self.group().destination == Destination::FontTable {
            self.font_being_defined = number;
        } else {
            self.set(|g| g.font = number);
        }
    }

    fn define_font_encoding(&mut self, encoding: Option<&'static Encoding>) {
        let in_table = self.group().destination == Destination::FontTable;
        if let (true, Some(font), Some(encoding)) = (in_table, self.font_being_defined, encoding)
            && (self.font_encodings.len() < MAX_FONTS || self.font_encodings.contains_key(&font))
        {
            self.font_encodings.insert(font, encoding);
        }
    }

    /// `\uN`: one UTF-16 unit, then the fallback characters to skip.
    fn unicode(&mut self, param: Option<i32>) {
        if self.skip_fallback() {
            return;
        }
        self.flush();
        let group = self.group();
        if self.too_deep > 0 || group.destination != Destination::Text {
            self.fallback_left = group.fallback_len;
            return;
        }
        let unit = param.map(|n| if n < 0 { n.saturating_add(65_536) } else { n });
        match unit.and_then(|u| u16::try_from(u).ok()) {
            Some(high @ 0xd800..=0xdbff) => self.high_surrogate = Some(high),
            Some(unit) => {
                let units = self.high_surrogate.take().into_iter().chain([unit]);
                for c in char::decode_utf16(units).flatten() {
                    self.out.push_char(c);
                }
            }
            None => {}
        }
        self.fallback_left = group.fallback_len;
    }

    /// `\binN`: N bytes of binary data, not text.
    fn skip_binary(&mut self, length: Option<i32>) {
        let length = length.and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
        self.pos = self.pos.saturating_add(length).min(self.input.len());
        self.skip_fallback();
    }

    fn paragraph(&mut self) {
        if self.group().in_table {
            self.emit(" ");
        } else {
            self.emit("\n");
        }
    }

    /// Writes text that a control word stands for, if the group is text.
    fn emit(&mut self, text: &str) {
        if self.too_deep == 0 && self.group().destination == Destination::Text {
            self.flush();
            self.out.push_str(text);
        }
    }

    fn set(&mut self, change: impl FnOnce(&mut Group)) {
        if let Some(group) = self.group_mut() {
            change(group);
        }
    }

    /// Marks the current group (never the document itself) as a destination.
    fn set_destination(&mut self, destination: Destination) {
        if self.groups.len() > 1 && self.group().destination != Destination::Skip {
            self.set(|g| g.destination = destination);
        }
    }
}

/// The text written so far, and how much more may be.
struct Output {
    text: String,
    chars_left: usize,
    truncated: bool,
}

impl Output {
    fn push_str(&mut self, text: &str) {
        for c in text.chars() {
            self.push_char(c);
        }
    }

    /// Appends a character; control characters other than line breaks and tabs are dropped.
    fn push_char(&mut self, c: char) {
        if c.is_control() && c != '\n' && c != '\t' {
            return;
        }
        if self.chars_left == 0 {
            self.truncated = true;
            return;
        }
        self.chars_left -= 1;
        self.text.push(c);
    }

    /// `\row`: the row's last `\cell` tab is not a column.
    fn end_row(&mut self) {
        if self.text.ends_with('\t') {
            self.text.pop();
            self.chars_left += 1;
        }
        self.push_char('\n');
    }
}

/// A Windows code page number as an encoding, where encoding_rs has it.
/// 437 and 850 (DOS) are not there; their text falls back to the document's.
pub(crate) fn code_page(number: i32) -> Option<&'static Encoding> {
    use encoding_rs::*;
    Some(match number {
        874 => WINDOWS_874,
        932 => SHIFT_JIS,
        936 => GBK,
        949 => EUC_KR,
        950 => BIG5,
        1250 => WINDOWS_1250,
        1251 => WINDOWS_1251,
        1252 | 28591 => WINDOWS_1252,
        1253 => WINDOWS_1253,
        1254 => WINDOWS_1254,
        1255 => WINDOWS_1255,
        1256 => WINDOWS_1256,
        1257 => WINDOWS_1257,
        1258 => WINDOWS_1258,
        866 => IBM866,
        10000 => MACINTOSH,
        10007 => X_MAC_CYRILLIC,
        20866 => KOI8_R,
        21866 => KOI8_U,
        28592 => ISO_8859_2,
        28595 => ISO_8859_5,
        28597 => ISO_8859_7,
        28599 => WINDOWS_1254,
        54936 => GB18030,
        65001 => UTF_8,
        _ => return None,
    })
}

/// A font's `\fcharset` as the Windows code page its text is in; `None` for
/// ANSI, default and symbol fonts, whose text is in the document's code page.
fn charset_code_page(charset: i32) -> Option<i32> {
    Some(match charset {
        77 => 10000,
        128 => 932,
        129 => 949,
        134 => 936,
        136 => 950,
        161 => 1253,
        162 => 1254,
        163 => 1258,
        177 => 1255,
        178 => 1256,
        186 => 1257,
        204 => 1251,
        222 => 874,
        238 => 1250,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(rtf: &str) -> String {
        let read = rtf_to_text(rtf.as_bytes(), 100_000);
        assert!(!read.truncated);
        read.text
    }

    #[test]
    fn wordpad_document_with_accented_and_polish_names() {
        // As WordPad saves it: Calibri in charset 0 and, for Polish text, charset 238 (CP1250).
        let rtf = "{\\rtf1\\ansi\\ansicpg1252\\deff0\\nouicompat\\deflang2057\
                   {\\fonttbl{\\f0\\fnil\\fcharset0 Calibri;}{\\f1\\fnil\\fcharset238 Calibri;}}\r\n\
                   {\\*\\generator Riched20 10.0.19041}\\viewkind4\\uc1 \r\n\
                   \\pard\\sa200\\sl276\\slmult1\\f0\\fs22\\lang9 Pupil: Zo\\'eb Bront\\'eb\\par\r\n\
                   \\f1\\lang1045\\'a3ukasz \\'8cwi\\'b9tek\\f0\\lang9\\par\r\n}\r\n";
        assert_eq!(text(rtf), "Pupil: Zoë Brontë\nŁukasz Świątek");
    }

    #[test]
    fn libreoffice_document_with_a_table() {
        let read = rtf_to_text(include_bytes!("../../fixtures/rtf/libreoffice-pupils.rtf"), 100_000);
        let lines: Vec<&str> = read.text.lines().collect();
        assert_eq!(
            lines,
            [
                "Year 5 pupil list for the trip to Brontë Parsonage.",
                "Pupils with support plans: Zoë Brontë, Siân O’Connor and François Müller. Date of birth 12/03/2015.",
                "Name\tUPN\tDate of birth",
                "Zoë Brontë\tA123456789012\t12/03/2015",
                "Łukasz Nowak\tB987654321098\t01/11/2014",
                "NHS number 943 476 5919. The office has a difficult file on this pupil and the flow of letters \
                 about the family is kept in the safeguarding folder, which is justified text spread across a wide \
                 line so that gaps grow.",
            ]
        );
    }

    #[test]
    fn word_table_rows_are_tab_separated_lines() {
        let rtf = "{\\rtf1\\ansi\\trowd\\cellx2000\\cellx4000\\pard\\intbl Name\\cell Date of birth\\cell\\row\
                   \\trowd\\cellx2000\\cellx4000\\pard\\intbl Jamie\\par Smith\\cell 12/03/2015\\cell\\row\
                   \\pard After the table\\par}";
        assert_eq!(
            text(rtf),
            "Name\tDate of birth\nJamie Smith\t12/03/2015\nAfter the table"
        );
    }

    #[test]
    fn unicode_escapes_skip_their_fallback() {
        assert_eq!(text("{\\rtf1\\uc1\\u321?ukasz}"), "Łukasz");
        assert_eq!(text("{\\rtf1\\uc1 Bront\\u235\\'eb}"), "Brontë");
        // Two fallback bytes, given as a double-byte \'hh pair.
        assert_eq!(text("{\\rtf1\\uc2\\u26085\\'93\\'fa!}"), "日!");
        // \uc0: no fallback; the next character is text.
        assert_eq!(text("{\\rtf1\\uc0\\u233 x}"), "éx");
        // A fallback is counted per group: it ends at a brace.
        assert_eq!(text("{\\rtf1\\uc3{\\u233}abc}"), "éabc");
        // Negative values, and a surrogate pair.
        assert_eq!(text("{\\rtf1\\u-3913?\\u-10179?\\u-8704?}"), "\u{f0b7}\u{1f600}");
    }

    #[test]
    fn escapes_and_special_characters() {
        let rtf = "{\\rtf1 a\\{b\\}c\\\\d\\~e\\-f\\_g\\emdash\\tab h\\line i\\ldblquote j\\rdblquote}";
        assert_eq!(text(rtf), "a{b}c\\d\u{a0}ef-g\u{2014}\th\ni\u{201c}j\u{201d}");
    }

    #[test]
    fn non_text_destinations_are_skipped() {
        let rtf = "{\\rtf1{\\fonttbl{\\f0 Arial;}}{\\colortbl;\\red255\\green0\\blue0;}\
                   {\\stylesheet{\\s0 Normal;}}{\\info{\\author Ms Teacher}{\\title Secret}}\
                   {\\*\\generator Word}{\\*\\bkmkstart pupil}{\\*\\unknown text}\
                   {\\header Header text\\par}{\\footer Page footer\\par}\
                   Body{\\pict\\pngblip 89504e470d0a}{\\object{\\*\\objdata 01050000}} \
                   {\\field{\\*\\fldinst HYPERLINK \"x\"}{\\fldrslt shown link}}.{\\footnote a footnote}}";
        assert_eq!(text(rtf), "Header text\nPage footer\nBody shown link.a footnote");
    }

    #[test]
    fn code_pages_from_the_document_and_fonts() {
        assert_eq!(text("{\\rtf1\\ansi\\ansicpg1251 \\'cf\\'e5\\'f2\\'f0}"), "Петр");
        // Shift_JIS from a charset 128 font: two \'hh bytes make one character.
        let rtf = "{\\rtf1\\ansi{\\fonttbl{\\f1\\fcharset128 MS Mincho;}}\\f1 \\'93\\'fa\\'96\\'7b}";
        assert_eq!(text(rtf), "日本");
        // The font is restored with its group.
        let rtf = "{\\rtf1{\\fonttbl{\\f0\\fcharset0 A;}{\\f1\\fcharset204 B;}}\\f0{\\f1 \\'c8}\\'c8}";
        assert_eq!(text(rtf), "ИÈ");
    }

    #[test]
    fn deep_nesting_is_ignored_past_the_limit_and_said() {
        let mut rtf = String::from("{\\rtf1 shallow ");
        rtf.push_str(&"{".repeat(50));
        rtf.push_str("fifty ");
        rtf.push_str(&"{".repeat(100_000));
        rtf.push_str("too deep");
        rtf.push_str(&"}".repeat(100_050));
        rtf.push_str("after}");
        assert_eq!(text(&rtf), "shallow fifty after");
        assert!(rtf_to_text(rtf.as_bytes(), 1000).too_deep);
        assert!(!rtf_to_text(b"{\\rtf1 {shallow}}", 1000).too_deep);
    }

    #[test]
    fn binary_data_is_skipped_by_its_length() {
        let mut rtf = b"{\\rtf1 before {\\pict\\bin12 ".to_vec();
        rtf.extend_from_slice(b"}{\\\x00\xff\\par}xy");
        rtf.extend_from_slice(b"} after}");
        assert_eq!(rtf_to_text(&rtf, 100).text, "before  after");
        // A length past the end, or absurd, stops at the end.
        assert_eq!(rtf_to_text(b"{\\rtf1 text\\bin4294967295 abc", 100).text, "text");
        assert_eq!(rtf_to_text(b"{\\rtf1 text\\bin99999999999 abc", 100).text, "text");
        assert_eq!(rtf_to_text(b"{\\rtf1 text\\bin-5 abc}", 100).text, "textabc");
    }

    #[test]
    fn output_stops_at_the_limit() {
        let read = rtf_to_text(b"{\\rtf1 Jamie Smith\\par Zoe}", 8);
        assert_eq!(
            read,
            RtfText {
                text: "Jamie Sm".to_string(),
                truncated: true,
                too_deep: false,
            }
        );
    }

    proptest::proptest! {
        #[test]
        fn any_input_stays_within_the_limit(
            input in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::sample::select(b"{}\\'*uucbinparcelltab0123456789-? x\xe9".to_vec()),
                    proptest::num::u8::ANY,
                ],
                0..400,
            ),
            max in 0usize..50,
        ) {
            let read = rtf_to_text(&input, max);
            proptest::prop_assert!(read.text.chars().count() <= max);
        }
    }

    #[test]
    fn broken_input_never_panics() {
        for input in [
            &b""[..],
            b"\\",
            b"{\\rtf1\\'",
            b"{\\rtf1\\'4",
            b"{\\rtf1\\u",
            b"{\\rtf1\\u-",
            b"{\\rtf1\\u99999999999999999999 x",
            b"{\\rtf1\\uc99999999999\\u233 abc}",
            b"}}}}{{{",
            b"{\\rtf1\\ansicpg-1\\fcharset999999\\f-2147483648\\'ff}",
            b"\\-2147483649",
        ] {
            let _ = rtf_to_text(input, 100);
        }
        assert_eq!(text("{\\rtf1\\u99999 x}"), "");
        assert_eq!(text("}}}plain"), "plain");
    }
}
