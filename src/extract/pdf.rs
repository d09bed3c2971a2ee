//! PDF → text per page, for DLP scanning.
//!
//! Why it is built this way:
//!
//! * **lopdf parses, this module reads.** lopdf 0.47 loads the file, decrypts
//!   owner-password-only PDFs with the empty user password, inflates streams
//!   (bounded) and tokenises content streams. Its own `extract_text` was not
//!   good enough for a scanner: it writes a line break at every `ET` and
//!   nothing where a PDF moves to the next word, so LibreOffice's table cells
//!   come out one per line and text from producers that position words
//!   instead of drawing spaces comes out as `DateofbirthJamie`; it prefers a
//!   simple font's `/Encoding` to its `/ToUnicode` map; it never looks inside
//!   form XObjects; a Type0 font without a ToUnicode map silently decodes as
//!   Latin garbage; and on a user-password PDF it returns `Ok("")`. So this
//!   module walks the content streams itself and places text by position.
//! * **Text is placed by where it is drawn.** The walker keeps the text and
//!   graphics matrices and each font's glyph widths, so it knows where each
//!   run of text starts and where the previous one ended: a move to another
//!   baseline is a line break, a gap of more than a thin space is a space,
//!   and a gap of more than 0.4 em made by a positioning operator (a table
//!   cell, in LibreOffice's and Word's output) is a tab, so tables come out
//!   as tab-separated rows as they do from the HTML reader. Runs are written
//!   in drawing order, not sorted.
//! * **Hidden text is text.** Invisible text (render mode 3, the OCR layer of
//!   a scan), white text and form-field values are all data that leaves the
//!   school, so all are read; comments (annotations) too.
//! * **Hostile files are bounded.** Every decoded stream is capped, decoded
//!   content is budgeted over the whole document (a form drawn many times is
//!   charged each time), form XObjects nest at most [`MAX_FORM_DEPTH`] deep
//!   and never into themselves, the graphics-state stack is capped, and the
//!   page tree is walked here, each node once (see [`PageTree`]). lopdf's own
//!   ToUnicode parser is never reached: it expands ranges code by code, so a
//!   two-line map takes minutes and gigabytes (see [`ToUnicode`]).
//!   Everything runs under `catch_unwind`: a panic in lopdf is a damaged PDF,
//!   not a dead worker. (An allocation failure still aborts: that is what the
//!   worker process is for.)

use std::collections::{HashMap, HashSet};
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;

use lopdf::content::{Content, Operation};
use lopdf::{DecompressError, Dictionary, Document, Encoding, LoadOptions, Object, ObjectId, ParseError};

/// What reading a PDF gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PdfReading {
    /// Opening it needs a password (a user password is set).
    Protected,
    /// Text per page (index = page number - 1); `truncated` when a limit cut it.
    Text { pages: Vec<String>, truncated: bool },
    /// Pages but no text: pictures of text (a scan).
    ImageOnly,
    /// Could not be read: the reason in plain words for a school's DPO (e.g. "the PDF is damaged").
    Unreadable(String),
}

/// The most one stream may inflate to: an object stream while loading, a
/// page's content, a form, a ToUnicode map. Real ones are well under 1 MB.
const MAX_STREAM_BYTES: usize = 32 * 1024 * 1024;
/// Decoded content read over the whole document, forms charged each time they are drawn.
const MAX_CONTENT_BYTES: usize = 64 * 1024 * 1024;
/// What drawing one XObject costs against [`MAX_CONTENT_BYTES`] besides its
/// content, so that empty forms drawn a million times still run out.
const XOBJECT_COST: usize = 1024;
/// Form XObjects inside form XObjects.
const MAX_FORM_DEPTH: usize = 8;
/// Nested `q` without `Q`; the PDF reference allows 28.
const MAX_SAVED_STATES: usize = 256;
/// `/Parent` links followed to find a form field's name and value.
const MAX_FIELD_DEPTH: usize = 16;

/// Reads the text of a PDF, page by page.
///
/// Reads at most `max_pages` pages and `max_chars` characters (counted over
/// all pages, line breaks included); past either, `truncated` is set and the
/// pages read so far are returned, so `pages` can be shorter than the
/// document. Never panics and never loops on hostile input.
#[must_use]
pub fn read_pdf(bytes: &[u8], max_pages: usize, max_chars: usize) -> PdfReading {
    match panic::catch_unwind(AssertUnwindSafe(|| read(bytes, max_pages, max_chars))) {
        Ok(reading) => reading,
        Err(_) => PdfReading::Unreadable("the PDF is damaged in a way that stopped the reader".to_string()),
    }
}

fn read(bytes: &[u8], max_pages: usize, max_chars: usize) -> PdfReading {
    let options = LoadOptions {
        max_decompressed_size: Some(MAX_STREAM_BYTES),
        ..LoadOptions::default()
    };
    let doc = match Document::load_mem_with_options(bytes, options) {
        Ok(doc) => doc,
        Err(error) => return PdfReading::Unreadable(load_error_reason(&error).to_string()),
    };
    // lopdf removes `/Encrypt` once the empty user password opened the file
    // (an owner-password-only PDF). Still there: a password is needed, or a
    // security handler lopdf does not know (certificates), which is protection too.
    if doc.is_encrypted() || (doc.trailer.has(b"Encrypt") && !doc.was_encrypted()) {
        return PdfReading::Protected;
    }
    let mut reader = Reader::new(&doc, max_chars);
    let mut pages = Vec::new();
    for page_id in PageTree::new(&doc) {
        if pages.len() == max_pages {
            reader.truncated = true;
            break;
        }
        pages.push(reader.page(page_id));
        if reader.truncated {
            break;
        }
    }
    verdict(pages, &reader)
}

/// The pages of a document in order, each once.
///
/// lopdf's `page_iter` ends on a cyclic tree only because it stops after as
/// many steps as the file has objects: a `/Kids` that lists its own node
/// first spends them all going round and never reaches the pages after it,
/// so a crafted file could hide its pages. Here every node is entered once.
struct PageTree<'a> {
    doc: &'a Document,
    /// The kids still to visit at each level.
    stack: Vec<std::slice::Iter<'a, Object>>,
    seen: HashSet<ObjectId>,
}

/// Page tree levels; real trees are a handful deep.
const MAX_TREE_DEPTH: usize = 64;

impl<'a> PageTree<'a> {
    fn new(doc: &'a Document) -> Self {
        let mut tree = PageTree {
            doc,
            stack: Vec::new(),
            seen: HashSet::new(),
        };
        let root = doc
            .catalog()
            .ok()
            .and_then(|c| c.get(b"Pages").ok())
            .and_then(|p| p.as_reference().ok());
        if let Some(root) = root {
            tree.enter(root);
        }
        tree
    }

    /// Visits a node's kids next, if it has any and has not been visited.
    fn enter(&mut self, node: ObjectId) -> Option<()> {
        if !self.seen.insert(node) || self.stack.len() >= MAX_TREE_DEPTH {
            return None;
        }
        let kids = self.doc.get_dictionary(node).ok()?.get(b"Kids").ok()?;
        self.stack.push(deref(self.doc, kids)?.as_array().ok()?.iter());
        Some(())
    }
}

impl Iterator for PageTree<'_> {
    type Item = ObjectId;

    fn next(&mut self) -> Option<ObjectId> {
        loop {
            let Some(kid) = self.stack.last_mut()?.next() else {
                self.stack.pop();
                continue;
            };
            let Ok(id) = kid.as_reference() else { continue };
            let Ok(node) = self.doc.get_dictionary(id) else {
                continue;
            };
            if node.has(b"Kids") || node.has_type(b"Pages") {
                self.enter(id);
            } else if self.seen.insert(id) {
                return Some(id);
            }
        }
    }
}

fn load_error_reason(error: &lopdf::Error) -> &'static str {
    match error {
        lopdf::Error::Parse(ParseError::InvalidFileHeader) => "the file is not a PDF",
        lopdf::Error::Decryption(_) | lopdf::Error::InvalidPassword => {
            "the PDF is encrypted in a way schoolgate cannot open"
        }
        lopdf::Error::Decompress(DecompressError::MemoryLimitExceeded { .. }) => {
            "the PDF holds more compressed data than schoolgate reads"
        }
        _ => "the PDF is damaged",
    }
}

/// Turns what the pages gave into a reading.
fn verdict(pages: Vec<String>, reader: &Reader) -> PdfReading {
    let has_text = pages.iter().any(|page| !page.trim().is_empty());
    if !has_text && reader.images > 0 && !pages.is_empty() {
        return PdfReading::ImageOnly;
    }
    if !has_text && reader.damaged_pages > 0 {
        return PdfReading::Unreadable("the PDF is damaged: the content of its pages is missing".to_string());
    }
    if !has_text && reader.undecodable > 0 {
        return PdfReading::Unreadable(
            "the PDF's text cannot be decoded: its fonts are missing or do not say which letters they draw".to_string(),
        );
    }
    PdfReading::Text {
        pages,
        truncated: reader.truncated,
    }
}

/// An affine matrix `[a b c d e f]`, as PDF writes them (row vectors).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Matrix([f32; 6]);

impl Matrix {
    const IDENTITY: Matrix = Matrix([1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);

    fn translation(x: f32, y: f32) -> Matrix {
        Matrix([1.0, 0.0, 0.0, 1.0, x, y])
    }

    /// `self × other`: first `self`, then `other`.
    fn then(self, other: Matrix) -> Matrix {
        let [a, b, c, d, e, f] = self.0;
        let [a2, b2, c2, d2, e2, f2] = other.0;
        Matrix([
            a * a2 + b * c2,
            a * b2 + b * d2,
            c * a2 + d * c2,
            c * b2 + d * d2,
            e * a2 + f * c2 + e2,
            e * b2 + f * d2 + f2,
        ])
    }

    fn origin(self) -> (f32, f32) {
        (self.0[4], self.0[5])
    }

    /// A matrix from six numeric operands or array items.
    fn from_objects(objects: &[Object]) -> Option<Matrix> {
        let mut m = [0.0; 6];
        if objects.len() != 6 {
            return None;
        }
        for (slot, object) in m.iter_mut().zip(objects) {
            *slot = number(object)?;
        }
        Some(Matrix(m))
    }
}

/// A finite number operand.
fn number(object: &Object) -> Option<f32> {
    object.as_float().ok().filter(|n| n.is_finite())
}

/// How a font's character codes become text and how wide they are.
struct Font<'a> {
    decoder: Decoder<'a>,
    /// Bytes per character code: 2 for Type0 (CID) fonts, 1 for simple fonts.
    code_len: usize,
    widths: Widths,
}

/// Glyph widths in thousandths of an em.
enum Widths {
    /// A simple font's `/FirstChar` and `/Widths`.
    Simple { first: u32, widths: Vec<f32>, missing: f32 },
    /// A CID font's `/W` ranges (sorted by first code) and `/DW`.
    Cid { ranges: Vec<(u32, u32, f32)>, default: f32 },
    /// No widths: positions are estimated, and gaps judged more loosely.
    Unknown,
}

/// Width guessed for a glyph when the font gives none: half an em.
const GUESSED_WIDTH: f32 = 500.0;

impl Widths {
    fn of(&self, code: u32) -> f32 {
        match self {
            Widths::Simple { first, widths, missing } => code
                .checked_sub(*first)
                .and_then(|i| widths.get(usize::try_from(i).ok()?))
                .copied()
                .unwrap_or(*missing),
            Widths::Cid { ranges, default } => {
                let after = ranges.partition_point(|&(start, _, _)| start <= code);
                match after.checked_sub(1).and_then(|i| ranges.get(i)) {
                    Some(&(_, end, width)) if code <= end => width,
                    _ => *default,
                }
            }
            Widths::Unknown => GUESSED_WIDTH,
        }
    }

    fn known(&self) -> bool {
        !matches!(self, Widths::Unknown)
    }
}

impl<'a> Font<'a> {
    fn load(doc: &'a Document, dict: &'a Dictionary) -> Font<'a> {
        let type0 = dict
            .get(b"Subtype")
            .and_then(Object::as_name)
            .is_ok_and(|s| s == b"Type0");
        let descendant = type0.then(|| descendant_font(doc, dict)).flatten();
        Font {
            decoder: Decoder::of(doc, dict, type0),
            code_len: if type0 { 2 } else { 1 },
            widths: match descendant {
                Some(cid_font) => cid_widths(doc, cid_font),
                None if type0 => Widths::Unknown,
                None => simple_widths(doc, dict),
            },
        }
    }
}

/// How a font's codes become text.
enum Decoder<'a> {
    /// The font's ToUnicode map, read by [`ToUnicode`].
    Map(ToUnicode),
    /// A simple font's `/Encoding` (standard, WinAnsi, MacRoman, differences), read by lopdf.
    Lopdf(Encoding<'a>),
    /// Nothing says which letters its codes draw (a CID font without a
    /// ToUnicode map): its text is counted as undecodable.
    None,
}

impl<'a> Decoder<'a> {
    /// The ToUnicode map first when there is a usable one (PDF 32000 §9.10.2
    /// puts it first; LibreOffice and Word subset fonts with made-up codes and
    /// glyph names that only it explains), else a simple font's `/Encoding`.
    /// A CID font has no `/Encoding` we can read unless it names a Unicode CMap.
    fn of(doc: &'a Document, dict: &'a Dictionary, type0: bool) -> Self {
        let map = dict
            .get(b"ToUnicode")
            .ok()
            .and_then(|m| deref(doc, m))
            .and_then(|m| m.as_stream().ok())
            .and_then(|m| m.get_plain_content_with_limit(MAX_STREAM_BYTES).ok())
            .and_then(|m| ToUnicode::parse(&m));
        if let Some(map) = map {
            return Decoder::Map(map);
        }
        if type0 {
            let unicode_cmap = dict
                .get(b"Encoding")
                .and_then(Object::as_name)
                .is_ok_and(|name| matches!(name, b"UniGB-UCS2-H" | b"UniGB-UTF16-H"));
            if !unicode_cmap {
                return Decoder::None;
            }
        }
        if !lopdf_cannot_reach_its_cmap_parser(doc, dict) {
            return Decoder::None;
        }
        match dict.get_font_encoding_with_limit(doc, MAX_STREAM_BYTES) {
            Ok(encoding) => Decoder::Lopdf(encoding),
            Err(_) => Decoder::None,
        }
    }

    /// Appends the text of `bytes`; returns how many codes had no text.
    fn decode(&self, bytes: &[u8], code_len: usize, out: &mut String) -> usize {
        match self {
            Decoder::Map(map) => map.decode(bytes, code_len, out),
            Decoder::Lopdf(encoding) => match encoding.write_to_string(bytes, out) {
                Ok(()) => 0,
                Err(_) => bytes.len() / code_len,
            },
            Decoder::None => bytes.len() / code_len,
        }
    }
}

/// lopdf's ToUnicode parser expands every `bfrange` code by code, so
/// `<00000000> <0FFFFFFF>` takes minutes and gigabytes. It is reached from a
/// font with a ToUnicode map and no `/Encoding`, or an `/Encoding` (or
/// `/BaseEncoding`) named `Identity-…`; only other fonts are handed to lopdf.
fn lopdf_cannot_reach_its_cmap_parser(doc: &Document, font: &Dictionary) -> bool {
    if !font.has(b"ToUnicode") {
        return true;
    }
    let identity = |o: Option<&Object>| {
        o.and_then(|o| o.as_name().ok())
            .is_some_and(|n| n.starts_with(b"Identity"))
    };
    match font.get(b"Encoding").ok().and_then(|e| deref(doc, e)) {
        None => false,
        Some(Object::Dictionary(encoding)) => !identity(encoding.get(b"BaseEncoding").ok()),
        Some(name) => !identity(Some(name)),
    }
}

/// A ToUnicode CMap (PDF 32000 §9.10.3): character codes of 1–4 bytes → text.
///
/// Read here rather than by lopdf, whose parser expands ranges code by code
/// and wants the exact layout LibreOffice writes. Ranges stay ranges, so a
/// map costs memory in proportion to its text, whatever it claims.
#[derive(Debug, Default)]
struct ToUnicode {
    /// `codespacerange` entries: byte length and per-byte bounds of valid codes.
    codespaces: Vec<Codespace>,
    /// `bfchar` entries, by (length, code).
    chars: HashMap<(usize, u32), String>,
    /// `bfrange` entries, sorted by (length, first code).
    ranges: Vec<CodeRange>,
}

#[derive(Debug)]
struct Codespace {
    low: Vec<u8>,
    high: Vec<u8>,
}

#[derive(Debug)]
struct CodeRange {
    len: usize,
    first: u32,
    last: u32,
    target: RangeTarget,
}

#[derive(Debug)]
enum RangeTarget {
    /// UTF-16 of the first code's text; each next code adds one to the last unit.
    Offset(Vec<u16>),
    /// One text per code.
    Each(Vec<String>),
}

/// Codespace ranges kept; real maps have one or two, and each code is checked against all.
const MAX_CODESPACES: usize = 16;

/// A token of a CMap, which is a small PostScript program.
#[derive(Debug, PartialEq)]
enum Token<'a> {
    Hex(Vec<u8>),
    ArrayStart,
    ArrayEnd,
    /// A keyword, number or name: anything else that is not skipped.
    Word(&'a [u8]),
}

impl ToUnicode {
    /// `None` when the stream maps nothing.
    fn parse(data: &[u8]) -> Option<ToUnicode> {
        let mut map = ToUnicode::default();
        let mut tokens = Tokens { data, pos: 0 };
        while let Some(token) = tokens.next() {
            match token {
                Token::Word(b"begincodespacerange") => map.read_codespaces(&mut tokens),
                Token::Word(b"beginbfchar") => map.read_chars(&mut tokens),
                Token::Word(b"beginbfrange") => map.read_ranges(&mut tokens),
                _ => {}
            }
        }
        map.ranges.sort_by_key(|r| (r.len, r.first));
        (!map.chars.is_empty() || !map.ranges.is_empty()).then_some(map)
    }

    fn read_codespaces(&mut self, tokens: &mut Tokens) {
        while let (Some(Token::Hex(low)), Some(Token::Hex(high))) = (tokens.next(), tokens.next()) {
            if code(&low).is_some() && low.len() == high.len() && self.codespaces.len() < MAX_CODESPACES {
                self.codespaces.push(Codespace { low, high });
            }
        }
    }

    fn read_chars(&mut self, tokens: &mut Tokens) {
        while let (Some(Token::Hex(source)), Some(Token::Hex(text))) = (tokens.next(), tokens.next()) {
            if let Some(code) = code(&source) {
                self.chars.insert((source.len(), code), utf16_text(&text));
            }
        }
    }

    fn read_ranges(&mut self, tokens: &mut Tokens) {
        while let (Some(Token::Hex(first)), Some(Token::Hex(last))) = (tokens.next(), tokens.next()) {
            let target = match tokens.next() {
                Some(Token::Hex(text)) => RangeTarget::Offset(utf16_units(&text)),
                Some(Token::ArrayStart) => {
                    let mut texts = Vec::new();
                    while let Some(Token::Hex(text)) = tokens.next() {
                        texts.push(utf16_text(&text));
                    }
                    RangeTarget::Each(texts)
                }
                _ => return,
            };
            match (code(&first), code(&last)) {
                (Some(first_code), Some(last_code)) if first.len() == last.len() && first_code <= last_code => {
                    self.ranges.push(CodeRange {
                        len: first.len(),
                        first: first_code,
                        last: last_code,
                        target,
                    });
                }
                _ => {}
            }
        }
    }

    /// Appends the text of `bytes`, splitting codes by the codespace ranges
    /// (or `default_len` bytes where none fits); returns how many codes had no text.
    fn decode(&self, bytes: &[u8], default_len: usize, out: &mut String) -> usize {
        let mut missing = 0;
        let mut rest = bytes;
        while !rest.is_empty() {
            let len = self.code_len(rest).unwrap_or(default_len).clamp(1, rest.len());
            let (source, tail) = rest.split_at(len);
            rest = tail;
            if code(source).and_then(|c| self.push_text(len, c, out)).is_none() {
                missing += 1;
            }
        }
        missing
    }

    /// The length of the codespace range the start of `bytes` falls in.
    fn code_len(&self, bytes: &[u8]) -> Option<usize> {
        self.codespaces
            .iter()
            .filter(|space| {
                bytes.get(..space.low.len()).is_some_and(|code| {
                    code.iter()
                        .zip(&space.low)
                        .zip(&space.high)
                        .all(|((b, low), high)| low <= b && b <= high)
                })
            })
            .map(|space| space.low.len())
            .min()
    }

    /// Appends the text of one code; `None` when the map has none.
    fn push_text(&self, len: usize, code: u32, out: &mut String) -> Option<()> {
        if let Some(text) = self.chars.get(&(len, code)) {
            out.push_str(text);
            return Some(());
        }
        let after = self.ranges.partition_point(|r| (r.len, r.first) <= (len, code));
        let range = self.ranges.get(after.checked_sub(1)?)?;
        if range.len != len || code > range.last {
            return None;
        }
        let index = code - range.first;
        match &range.target {
            RangeTarget::Offset(units) => {
                let (last, prefix) = units.split_last()?;
                // Truncation intended: the offset carries into the last UTF-16 unit only.
                let last = last.wrapping_add(index as u16);
                let units = prefix.iter().copied().chain([last]);
                out.extend(char::decode_utf16(units).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)));
            }
            RangeTarget::Each(texts) => out.push_str(texts.get(usize::try_from(index).ok()?)?),
        }
        Some(())
    }
}

/// A code of 1–4 bytes as a number.
fn code(bytes: &[u8]) -> Option<u32> {
    (1..=4)
        .contains(&bytes.len())
        .then(|| bytes.iter().fold(0u32, |code, &b| (code << 8) | u32::from(b)))
}

fn utf16_units(bytes: &[u8]) -> Vec<u16> {
    bytes
        .chunks_exact(2)
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
        .collect()
}

fn utf16_text(bytes: &[u8]) -> String {
    String::from_utf16_lossy(&utf16_units(bytes))
}

/// Splits a CMap into the tokens [`ToUnicode`] needs; comments, strings and
/// dictionary brackets are skipped.
struct Tokens<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        loop {
            let byte = *self.data.get(self.pos)?;
            self.pos += 1;
            match byte {
                b'%' => self.skip_while(|b| b != b'\n' && b != b'\r'),
                b'(' => self.skip_string(),
                b'[' => return Some(Token::ArrayStart),
                b']' => return Some(Token::ArrayEnd),
                b'<' if self.data.get(self.pos) == Some(&b'<') => self.pos += 1,
                b'<' => return Some(Token::Hex(self.hex())),
                b'>' | b'{' | b'}' | b')' => {}
                b if is_pdf_space(b) => {}
                _ => {
                    let start = self.pos - 1;
                    self.skip_while(|b| !is_pdf_space(b) && !b"%()<>[]{}/".contains(&b));
                    return self.data.get(start..self.pos).map(Token::Word);
                }
            }
        }
    }
}

impl Tokens<'_> {
    fn skip_while(&mut self, keep_going: impl Fn(u8) -> bool) {
        while self.data.get(self.pos).is_some_and(|&b| keep_going(b)) {
            self.pos += 1;
        }
    }

    /// Past a `(…)` string, nested parentheses and escapes included.
    fn skip_string(&mut self) {
        let mut depth = 1usize;
        while let Some(&b) = self.data.get(self.pos) {
            self.pos += 1;
            match b {
                b'\\' => self.pos += 1,
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        return;
                    }
                }
                _ => {}
            }
        }
    }

    /// The bytes of a `<…>` hex string; an odd last digit is padded with 0.
    fn hex(&mut self) -> Vec<u8> {
        let mut bytes = Vec::new();
        let mut high: Option<u8> = None;
        while let Some(&b) = self.data.get(self.pos) {
            self.pos += 1;
            if b == b'>' {
                break;
            }
            let Some(digit) = char::from(b).to_digit(16) else {
                continue;
            };
            let digit = digit as u8; // a hex digit fits
            match high.take() {
                Some(h) => bytes.push(h << 4 | digit),
                None => high = Some(digit),
            }
        }
        if let Some(h) = high {
            bytes.push(h << 4);
        }
        bytes
    }
}

fn is_pdf_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'\0')
}

fn descendant_font<'a>(doc: &'a Document, type0: &'a Dictionary) -> Option<&'a Dictionary> {
    let descendants = deref(doc, type0.get(b"DescendantFonts").ok()?)?.as_array().ok()?;
    deref(doc, descendants.first()?)?.as_dict().ok()
}

fn simple_widths(doc: &Document, font: &Dictionary) -> Widths {
    let widths = font
        .get(b"Widths")
        .ok()
        .and_then(|w| deref(doc, w))
        .and_then(|w| w.as_array().ok());
    let first = font.get(b"FirstChar").and_then(Object::as_i64).ok();
    let (Some(widths), Some(first)) = (widths, first) else {
        return Widths::Unknown;
    };
    let Ok(first) = u32::try_from(first) else {
        return Widths::Unknown;
    };
    let missing = font
        .get(b"FontDescriptor")
        .ok()
        .and_then(|d| deref(doc, d))
        .and_then(|d| d.as_dict().ok())
        .and_then(|d| d.get(b"MissingWidth").ok())
        .and_then(number)
        .filter(|w| *w > 0.0)
        .unwrap_or(GUESSED_WIDTH);
    Widths::Simple {
        first,
        widths: widths
            .iter()
            .take(65_536)
            .map(|w| number(w).unwrap_or(missing))
            .collect(),
        missing,
    }
}

/// A CID font's `/W` array: `c [w1 w2 …]` gives codes from `c` on, and
/// `c_first c_last w` one width for a range.
fn cid_widths(doc: &Document, cid_font: &Dictionary) -> Widths {
    let default = cid_font.get(b"DW").ok().and_then(number).unwrap_or(1000.0);
    let items = cid_font
        .get(b"W")
        .ok()
        .and_then(|w| deref(doc, w))
        .and_then(|w| w.as_array().ok());
    let mut ranges = Vec::new();
    let mut items = items.map(|a| a.iter()).into_iter().flatten();
    let code = |o: &Object| o.as_i64().ok().and_then(|c| u32::try_from(c).ok());
    while let Some(first) = items.next().and_then(code) {
        match items.next().and_then(|o| deref(doc, o)) {
            Some(Object::Array(widths)) => {
                for (code, width) in (first..=u32::MAX).zip(widths.iter().take(65_536)) {
                    ranges.push((code, code, number(width).unwrap_or(default)));
                }
            }
            Some(last) => {
                let (Some(last), Some(width)) = (code(last), items.next().and_then(number)) else {
                    break;
                };
                ranges.push((first, last, width));
            }
            None => break,
        }
    }
    ranges.sort_by_key(|&(start, _, _)| start);
    Widths::Cid { ranges, default }
}

/// Follows a reference (lopdf caps chains of them).
fn deref<'a>(doc: &'a Document, object: &'a Object) -> Option<&'a Object> {
    match object {
        Object::Reference(id) => doc.get_object(*id).ok(),
        other => Some(other),
    }
}

fn deref_dict<'a>(doc: &'a Document, object: &'a Object) -> Option<&'a Dictionary> {
    deref(doc, object)?.as_dict().ok()
}

/// The parts of the graphics state that text extraction needs; saved by `q`,
/// restored by `Q`.
#[derive(Clone)]
struct State<'a> {
    ctm: Matrix,
    font: Option<Rc<Font<'a>>>,
    font_size: f32,
    char_spacing: f32,
    word_spacing: f32,
    /// `Tz` / 100.
    horizontal_scale: f32,
    leading: f32,
}

impl State<'_> {
    fn new(ctm: Matrix) -> Self {
        State {
            ctm,
            font: None,
            font_size: 0.0,
            char_spacing: 0.0,
            word_spacing: 0.0,
            horizontal_scale: 1.0,
            leading: 0.0,
        }
    }
}

/// The text and text-line matrices, alive between `BT` and `ET`.
#[derive(Clone, Copy)]
struct TextPosition {
    matrix: Matrix,
    line: Matrix,
}

impl TextPosition {
    const START: TextPosition = TextPosition {
        matrix: Matrix::IDENTITY,
        line: Matrix::IDENTITY,
    };

    /// `Td`: a new line, offset from the start of the current one.
    fn next_line(&mut self, tx: f32, ty: f32) {
        self.line = Matrix::translation(tx, ty).then(self.line);
        self.matrix = self.line;
    }
}

/// How the current run of text came to start where it does.
#[derive(Clone, Copy, PartialEq)]
enum Placement {
    /// Right after the previous run: a `Tj` following a `Tj`.
    Continued,
    /// Moved by a `TJ` number, in thousandths of an em (negative moves right).
    Adjusted(f32),
    /// Placed by `BT`, `Td`, `TD`, `Tm`, `T*`, `'` or `"`.
    Positioned,
}

/// Where the previous run of text ended, in device space.
#[derive(Clone, Copy)]
struct RunEnd {
    start: (f32, f32),
    end: (f32, f32),
    em: f32,
}

/// Fonts and XObjects are looked up by name in these dictionaries, nearest first.
type Resources<'a> = Vec<&'a Dictionary>;

/// Reads pages one after the other; what it counts spans the whole document.
struct Reader<'a> {
    doc: &'a Document,
    /// Fonts already loaded, by the address of their dictionary in `doc`
    /// (stable while `doc` is borrowed): shared fonts are parsed once.
    fonts: HashMap<usize, Rc<Font<'a>>>,
    /// Decoded content bytes left to read.
    budget: usize,
    chars_left: usize,
    /// Out of characters or of content budget: read no further.
    truncated: bool,
    /// Images drawn, on any page.
    images: usize,
    /// Characters drawn in fonts whose codes could not be turned into text.
    undecodable: usize,
    /// Pages whose content could not be fetched or decoded.
    damaged_pages: usize,
    page: PageText,
}

/// The text of the page being read.
#[derive(Default)]
struct PageText {
    text: String,
    last: Option<RunEnd>,
}

impl<'a> Reader<'a> {
    fn new(doc: &'a Document, max_chars: usize) -> Self {
        Reader {
            doc,
            fonts: HashMap::new(),
            budget: MAX_CONTENT_BYTES,
            chars_left: max_chars,
            truncated: false,
            images: 0,
            undecodable: 0,
            damaged_pages: 0,
            page: PageText::default(),
        }
    }

    fn page(&mut self, page_id: ObjectId) -> String {
        self.page = PageText::default();
        let resources = self.page_resources(page_id);
        let limit = self.budget.min(MAX_STREAM_BYTES);
        if self.content_missing(page_id) {
            self.damaged_pages += 1;
        }
        match self.doc.get_page_content_with_limit(page_id, limit) {
            Ok(content) => {
                self.budget = self.budget.saturating_sub(content.len());
                let mut path = Vec::new();
                self.walk(&content, &resources, State::new(Matrix::IDENTITY), &mut path);
            }
            Err(_) => self.damaged_pages += 1,
        }
        self.annotations(page_id);
        let mut text = std::mem::take(&mut self.page.text);
        text.truncate(text.trim_end().len());
        text
    }

    /// A page whose `/Contents` names objects the file does not hold (a cut-short file):
    /// lopdf reads it as an empty page, which would be a blank page that is not blank.
    fn content_missing(&self, page_id: ObjectId) -> bool {
        let Ok(contents) = self.doc.get_dictionary(page_id).and_then(|page| page.get(b"Contents")) else {
            return false;
        };
        let references: Vec<ObjectId> = match contents {
            Object::Reference(id) => vec![*id],
            Object::Array(items) => items.iter().filter_map(|o| o.as_reference().ok()).collect(),
            _ => Vec::new(),
        };
        references.iter().any(|id| self.doc.get_object(*id).is_err())
    }

    fn page_resources(&self, page_id: ObjectId) -> Resources<'a> {
        let Ok((direct, ids)) = self.doc.get_page_resources(page_id) else {
            return Vec::new();
        };
        direct
            .into_iter()
            .chain(ids.into_iter().filter_map(|id| self.doc.get_dictionary(id).ok()))
            .collect()
    }

    /// Runs one content stream. `path` holds the forms being drawn, so that
    /// a form drawing itself is not followed.
    fn walk(&mut self, content: &[u8], resources: &Resources<'a>, state: State<'a>, path: &mut Vec<ObjectId>) {
        let mut state = state;
        let mut saved: Vec<State<'a>> = Vec::new();
        let mut unsaved = 0usize; // `q`s past MAX_SAVED_STATES, matched by `Q`s before `saved` pops
        let mut text = TextPosition::START;
        let mut placement = Placement::Positioned;
        for operation in Content::decode_iter(content) {
            if self.truncated {
                return;
            }
            // A syntax error ends the stream; what came before it stands.
            let Ok(Operation { operator, operands }) = operation else {
                return;
            };
            match (operator.as_str(), operands.as_slice()) {
                ("q", _) if saved.len() < MAX_SAVED_STATES => saved.push(state.clone()),
                ("q", _) => unsaved += 1,
                ("Q", _) if unsaved > 0 => unsaved -= 1,
                ("Q", _) => state = saved.pop().unwrap_or(state),
                ("cm", m) => {
                    if let Some(m) = Matrix::from_objects(m) {
                        state.ctm = m.then(state.ctm);
                    }
                }
                ("BT", _) => {
                    text = TextPosition::START;
                    placement = Placement::Positioned;
                }
                ("Tf", [name, size, ..]) => {
                    state.font = name.as_name().ok().and_then(|n| self.font(resources, n));
                    state.font_size = number(size).unwrap_or(0.0);
                }
                ("Tc", [n, ..]) => state.char_spacing = number(n).unwrap_or(0.0),
                ("Tw", [n, ..]) => state.word_spacing = number(n).unwrap_or(0.0),
                ("Tz", [n, ..]) => state.horizontal_scale = number(n).unwrap_or(100.0) / 100.0,
                ("TL", [n, ..]) => state.leading = number(n).unwrap_or(0.0),
                ("Td", [x, y, ..]) | ("TD", [x, y, ..]) => {
                    let (x, y) = (number(x).unwrap_or(0.0), number(y).unwrap_or(0.0));
                    if operator == "TD" {
                        state.leading = -y;
                    }
                    text.next_line(x, y);
                    placement = Placement::Positioned;
                }
                ("Tm", m) => {
                    if let Some(m) = Matrix::from_objects(m) {
                        text = TextPosition { matrix: m, line: m };
                    }
                    placement = Placement::Positioned;
                }
                ("T*", _) => {
                    text.next_line(0.0, -state.leading);
                    placement = Placement::Positioned;
                }
                ("Tj", [Object::String(bytes, _), ..]) => {
                    self.show(bytes, &state, &mut text, placement);
                    placement = Placement::Continued;
                }
                ("'", [Object::String(bytes, _), ..]) | ("\"", [_, _, Object::String(bytes, _), ..]) => {
                    if let ("\"", [aw, ac, ..]) = (operator.as_str(), operands.as_slice()) {
                        state.word_spacing = number(aw).unwrap_or(0.0);
                        state.char_spacing = number(ac).unwrap_or(0.0);
                    }
                    text.next_line(0.0, -state.leading);
                    self.show(bytes, &state, &mut text, Placement::Positioned);
                    placement = Placement::Continued;
                }
                ("TJ", [Object::Array(items), ..]) => {
                    placement = self.show_array(items, &state, &mut text, placement);
                }
                ("Do", [Object::Name(name), ..]) => self.draw(name, resources, &state, path),
                ("BI", _) => self.images += 1,
                _ => {}
            }
        }
    }

    /// `TJ`: strings, and numbers that move the next string back (or, when
    /// negative, on) by thousandths of an em.
    fn show_array(
        &mut self,
        items: &[Object],
        state: &State<'a>,
        text: &mut TextPosition,
        mut placement: Placement,
    ) -> Placement {
        for item in items {
            match item {
                Object::String(bytes, _) => {
                    self.show(bytes, state, text, placement);
                    placement = Placement::Continued;
                }
                other => {
                    let Some(n) = number(other) else { continue };
                    let tx = -n / 1000.0 * state.font_size * state.horizontal_scale;
                    text.matrix = Matrix::translation(tx, 0.0).then(text.matrix);
                    placement = match placement {
                        Placement::Adjusted(before) => Placement::Adjusted(before + n),
                        Placement::Continued => Placement::Adjusted(n),
                        Placement::Positioned => Placement::Positioned,
                    };
                }
            }
        }
        placement
    }

    /// Draws one string: decodes it, writes it after the right separator and
    /// moves the text matrix past it.
    fn show(&mut self, bytes: &[u8], state: &State<'a>, text: &mut TextPosition, placement: Placement) {
        let Some(font) = state.font.clone() else {
            self.undecodable = self.undecodable.saturating_add(bytes.len());
            return;
        };
        let device = text.matrix.then(state.ctm);
        let start = device.origin();
        let [_, _, c, d, _, _] = device.0;
        let em = Some(state.font_size.abs() * c.hypot(d))
            .filter(|em| em.is_normal())
            .unwrap_or(1.0);
        let decoded = self.decode(&font, bytes);
        text.matrix = Matrix::translation(advance(&font, state, bytes), 0.0).then(text.matrix);
        if decoded.is_empty() {
            return;
        }
        let run = RunEnd {
            start,
            end: text.matrix.then(state.ctm).origin(),
            em,
        };
        let separator = self
            .page
            .last
            .and_then(|last| separator(&last, &run, device, placement, font.widths.known()));
        if let Some(separator) = separator {
            self.write_separator(separator);
        }
        self.write(&decoded);
        self.page.last = Some(run);
    }

    /// The text of a string in `font`, without control characters and
    /// replacement characters (each counted as undecodable) and with Latin
    /// ligatures spelt out, so that "ﬁle" matches "file".
    fn decode(&mut self, font: &Font, bytes: &[u8]) -> String {
        let mut raw = String::new();
        let missing = font.decoder.decode(bytes, font.code_len, &mut raw);
        self.undecodable = self.undecodable.saturating_add(missing);
        let mut text = String::with_capacity(raw.len());
        for c in raw.chars() {
            match c {
                '\u{fffd}' => self.undecodable = self.undecodable.saturating_add(1),
                '\u{fb00}' => text.push_str("ff"),
                '\u{fb01}' => text.push_str("fi"),
                '\u{fb02}' => text.push_str("fl"),
                '\u{fb03}' => text.push_str("ffi"),
                '\u{fb04}' => text.push_str("ffl"),
                '\u{fb05}' | '\u{fb06}' => text.push_str("st"),
                c if c.is_control() => {}
                c => text.push(c),
            }
        }
        text
    }

    fn write_separator(&mut self, separator: char) {
        let text = &mut self.page.text;
        match separator {
            '\n' => {
                text.truncate(text.trim_end_matches([' ', '\t']).len());
                if text.is_empty() || text.ends_with('\n') {
                    return;
                }
            }
            _ if text.is_empty() || text.ends_with(char::is_whitespace) => return,
            _ => {}
        }
        self.write(separator.encode_utf8(&mut [0; 4]));
    }

    /// Appends text, up to the character limit.
    fn write(&mut self, text: &str) {
        let count = text.chars().count();
        if count <= self.chars_left {
            self.chars_left -= count;
            self.page.text.push_str(text);
            return;
        }
        self.page.text.extend(text.chars().take(self.chars_left));
        self.chars_left = 0;
        self.truncated = true;
    }

    /// The font a `Tf` names, loaded once per font dictionary.
    fn font(&mut self, resources: &Resources<'a>, name: &[u8]) -> Option<Rc<Font<'a>>> {
        let dict = lookup(self.doc, resources, b"Font", name).and_then(|o| deref_dict(self.doc, o))?;
        let key = std::ptr::from_ref(dict) as usize;
        if let Some(font) = self.fonts.get(&key) {
            return Some(Rc::clone(font));
        }
        let font = Rc::new(Font::load(self.doc, dict));
        self.fonts.insert(key, Rc::clone(&font));
        Some(font)
    }

    /// `Do`: counts an image, or reads a form XObject's content in its own
    /// resources and matrix.
    fn draw(&mut self, name: &[u8], resources: &Resources<'a>, state: &State<'a>, path: &mut Vec<ObjectId>) {
        self.budget = self.budget.saturating_sub(XOBJECT_COST);
        if self.budget == 0 {
            self.truncated = true;
            return;
        }
        let Some(Object::Reference(id)) = lookup(self.doc, resources, b"XObject", name) else {
            return;
        };
        let Ok(stream) = self.doc.get_object(*id).and_then(Object::as_stream) else {
            return;
        };
        match stream.dict.get(b"Subtype").and_then(Object::as_name) {
            Ok(b"Image") => self.images += 1,
            Ok(b"Form") if path.len() < MAX_FORM_DEPTH && !path.contains(id) => {
                let Ok(content) = stream.decompressed_content_with_limit(self.budget.min(MAX_STREAM_BYTES)) else {
                    return;
                };
                self.budget = self.budget.saturating_sub(content.len());
                let own = stream.dict.get(b"Resources").ok().and_then(|r| deref_dict(self.doc, r));
                let form_resources = own.map_or_else(|| resources.clone(), |r| vec![r]);
                let matrix = stream
                    .dict
                    .get(b"Matrix")
                    .ok()
                    .and_then(|m| deref(self.doc, m))
                    .and_then(|m| m.as_array().ok())
                    .and_then(|m| Matrix::from_objects(m))
                    .unwrap_or(Matrix::IDENTITY);
                let mut form_state = state.clone();
                form_state.ctm = matrix.then(state.ctm);
                path.push(*id);
                self.walk(&content, &form_resources, form_state, path);
                path.pop();
            }
            _ => {}
        }
    }

    /// Form-field values and comments, each on a line after the page's text.
    fn annotations(&mut self, page_id: ObjectId) {
        let Ok(annotations) = self.doc.get_page_annotations(page_id) else {
            return;
        };
        for annotation in annotations {
            if self.truncated {
                return;
            }
            if let Some(line) = annotation_text(self.doc, annotation) {
                self.write_separator('\n');
                self.write(&line);
            }
        }
    }
}

/// How far the text matrix moves after drawing `bytes` (PDF 32000 §9.4.4):
/// each glyph's width, plus character spacing, plus word spacing after a
/// single-byte space, all scaled horizontally.
fn advance(font: &Font, state: &State, bytes: &[u8]) -> f32 {
    bytes
        .chunks(font.code_len)
        .map(|code| {
            let value = code.iter().fold(0u32, |v, &b| (v << 8) | u32::from(b));
            let space = if font.code_len == 1 && value == 32 {
                state.word_spacing
            } else {
                0.0
            };
            (font.widths.of(value) / 1000.0 * state.font_size + state.char_spacing + space) * state.horizontal_scale
        })
        .sum()
}

/// What goes between the previous run and this one, judged in the
/// direction of this run's baseline so rotated pages read the same.
fn separator(last: &RunEnd, run: &RunEnd, device: Matrix, placement: Placement, widths_known: bool) -> Option<char> {
    let [a, b, ..] = device.0;
    let length = a.hypot(b);
    let (ux, uy) = if length.is_normal() {
        (a / length, b / length)
    } else {
        (1.0, 0.0)
    };
    let em = run.em.max(last.em);
    let (dx, dy) = (run.start.0 - last.end.0, run.start.1 - last.end.1);
    let along = dx * ux + dy * uy;
    let across = dy * ux - dx * uy;
    if across.abs() > 0.5 * em {
        return Some('\n');
    }
    if widths_known {
        return match placement {
            Placement::Positioned if along > 0.4 * em => Some('\t'),
            _ if along > 0.15 * em || along < -em => Some(' '),
            _ => None,
        };
    }
    // Widths guessed: the end of the last run is only roughly known, so
    // judge a repositioned run by whether it starts right of the last one's start.
    let from_start = (run.start.0 - last.start.0) * ux + (run.start.1 - last.start.1) * uy;
    match placement {
        Placement::Positioned if from_start > 0.0 || along < -em => Some(' '),
        Placement::Adjusted(n) if n < -200.0 => Some(' '),
        _ => None,
    }
}

/// `name` in the `category` (`/Font`, `/XObject`) of the nearest resources that have it.
fn lookup<'a>(doc: &'a Document, resources: &Resources<'a>, category: &[u8], name: &[u8]) -> Option<&'a Object> {
    resources.iter().find_map(|dict| {
        let entries = deref_dict(doc, dict.get(category).ok()?)?;
        entries.get(name).ok()
    })
}

/// A form field's "name: value", or a comment's text.
fn annotation_text(doc: &Document, annotation: &Dictionary) -> Option<String> {
    let subtype = annotation.get(b"Subtype").and_then(Object::as_name).ok()?;
    match subtype {
        b"Widget" => field_text(doc, annotation),
        b"Popup" | b"Link" => None,
        _ => text_string(annotation.get(b"Contents").ok()?),
    }
}

/// A field's value and label; either may sit on the widget or on a parent field.
fn field_text(doc: &Document, widget: &Dictionary) -> Option<String> {
    let mut value = None;
    let mut label = None;
    let mut node = Some(widget);
    for _ in 0..MAX_FIELD_DEPTH {
        let Some(field) = node else { break };
        if value.is_none() {
            value = field.get(b"V").ok().and_then(|v| deref(doc, v)).and_then(text_string);
        }
        if label.is_none() {
            label = [b"TU".as_slice(), b"T"]
                .iter()
                .find_map(|key| field.get(key).ok().and_then(text_string));
        }
        node = field.get(b"Parent").ok().and_then(|p| deref_dict(doc, p));
    }
    let value = value?;
    Some(match label {
        Some(label) => format!("{label}: {value}"),
        None => value,
    })
}

/// A PDF text string (PDFDocEncoding or UTF-16BE), trimmed; `None` when empty.
fn text_string(object: &Object) -> Option<String> {
    let text = lopdf::decode_text_string(object).ok()?;
    let text: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PDF from object bodies (`objects[0]` is object 1, the catalog), with
    /// a correct cross-reference table.
    fn build(objects: &[String]) -> Vec<u8> {
        let mut out = b"%PDF-1.7\n".to_vec();
        let mut offsets = Vec::new();
        for (i, body) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
        }
        let xref = out.len();
        out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
        for offset in offsets {
            out.extend(format!("{offset:010} 00000 n \n").as_bytes());
        }
        let size = objects.len() + 1;
        out.extend(format!("trailer\n<< /Size {size} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").as_bytes());
        out
    }

    fn stream(dict: &str, content: &str) -> String {
        format!("<< {dict} /Length {} >>\nstream\n{content}\nendstream", content.len())
    }

    const HELVETICA: &str = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>";

    /// One page per content stream; `/F1` is Helvetica, `/Im1` a 1×1 image.
    fn pages_pdf(contents: &[&str]) -> Vec<u8> {
        let first_page = 5;
        let kids: Vec<String> = (0..contents.len())
            .map(|i| format!("{} 0 R", first_page + 2 * i))
            .collect();
        let mut objects = vec![
            "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
            format!(
                "<< /Type /Pages /Kids [{}] /Count {} >>",
                kids.join(" "),
                contents.len()
            ),
            HELVETICA.to_string(),
            stream(
                "/Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray /BitsPerComponent 8",
                "A",
            ),
        ];
        for (i, content) in contents.iter().enumerate() {
            objects.push(format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {} 0 R \
                 /Resources << /Font << /F1 3 0 R >> /XObject << /Im1 4 0 R >> >> >>",
                first_page + 2 * i + 1
            ));
            objects.push(stream("", content));
        }
        build(&objects)
    }

    fn text_of(reading: PdfReading) -> Vec<String> {
        match reading {
            PdfReading::Text {
                pages,
                truncated: false,
            } => pages,
            other => panic!("expected whole text, got {other:?}"),
        }
    }

    #[test]
    fn libreoffice_text_keeps_accents_lines_and_table_cells() {
        let pages = text_of(read_pdf(
            include_bytes!("../../fixtures/pdf/libreoffice-pupils.pdf"),
            10,
            100_000,
        ));
        assert_eq!(pages.len(), 1);
        let lines: Vec<&str> = pages[0].lines().collect();
        assert_eq!(lines[0], "Year 5 pupil list for the trip to Brontë Parsonage.");
        assert_eq!(
            lines[1],
            "Pupils with support plans: Zoë Brontë, Siân O’Connor and François Müller. Date of birth 12/03/2015."
        );
        assert_eq!(lines[2], "Name\tUPN\tDate of birth");
        assert_eq!(lines[3], "Zoë Brontë\tA123456789012\t12/03/2015");
        assert_eq!(lines[4], "Łukasz Nowak\tB987654321098\t01/11/2014");
        assert!(lines[5].starts_with("NHS number 943 476 5919. The office has a difficult file"));
    }

    #[test]
    fn owner_password_only_pdf_is_read() {
        // qpdf --encrypt "" owner 256: AES-256 that opens with the empty user password.
        let pages = text_of(read_pdf(
            include_bytes!("../../fixtures/pdf/owner-password-only.pdf"),
            10,
            1000,
        ));
        assert_eq!(pages, ["Pupil: Zoe Bronte, DOB 12/03/2015"]);
    }

    #[test]
    fn user_password_pdf_is_protected() {
        let reading = read_pdf(include_bytes!("../../fixtures/pdf/user-password.pdf"), 10, 1000);
        assert_eq!(reading, PdfReading::Protected);
    }

    #[test]
    fn pictures_without_text_are_a_scan() {
        let scan = pages_pdf(&["q 595 0 0 842 0 0 cm /Im1 Do Q", "q 595 0 0 842 0 0 cm /Im1 Do Q"]);
        assert_eq!(read_pdf(&scan, 10, 1000), PdfReading::ImageOnly);
        let inline_image = pages_pdf(&["q 10 0 0 10 0 0 cm BI /W 1 /H 1 /CS /G /BPC 8 ID A EI Q"]);
        assert_eq!(read_pdf(&inline_image, 10, 1000), PdfReading::ImageOnly);
    }

    #[test]
    fn a_scan_with_an_invisible_ocr_layer_is_text() {
        let ocr = pages_pdf(&["q 595 0 0 842 0 0 cm /Im1 Do Q BT 3 Tr /F1 10 Tf 50 700 Td (Jamie Smith) Tj ET"]);
        assert_eq!(text_of(read_pdf(&ocr, 10, 1000)), ["Jamie Smith"]);
    }

    #[test]
    fn a_blank_pdf_is_empty_text() {
        let blank = pages_pdf(&["", "0 0 m 100 100 l S"]);
        assert_eq!(text_of(read_pdf(&blank, 10, 1000)), ["", ""]);
    }

    #[test]
    fn pages_past_the_limit_are_not_read() {
        let contents: Vec<String> = (1..=5)
            .map(|n| format!("BT /F1 12 Tf 72 700 Td (Page {n}) Tj ET"))
            .collect();
        let contents: Vec<&str> = contents.iter().map(String::as_str).collect();
        let pdf = pages_pdf(&contents);
        assert_eq!(
            read_pdf(&pdf, 2, 1000),
            PdfReading::Text {
                pages: vec!["Page 1".to_string(), "Page 2".to_string()],
                truncated: true
            }
        );
        assert_eq!(text_of(read_pdf(&pdf, 5, 1000)).len(), 5);
    }

    #[test]
    fn characters_past_the_limit_are_not_read() {
        let pdf = pages_pdf(&[
            "BT /F1 12 Tf 72 700 Td (Zoe Bronte) Tj ET",
            "BT /F1 12 Tf 72 700 Td (Jamie Smith) Tj ET",
            "BT /F1 12 Tf 72 700 Td (Never read) Tj ET",
        ]);
        assert_eq!(
            read_pdf(&pdf, 10, 14),
            PdfReading::Text {
                pages: vec!["Zoe Bronte".to_string(), "Jami".to_string()],
                truncated: true
            }
        );
    }

    #[test]
    fn lines_and_words_come_from_positions() {
        // No space glyphs: words and lines are placed by Td, TJ numbers and T*.
        let pdf = pages_pdf(&[
            "BT /F1 12 Tf 14 TL 72 700 Td (Date) Tj 30 0 Td (of) Tj 16 0 Td (birth:) Tj \
             T* [(Jamie)-300(Smith)] TJ 0 -14 Td (Sm) Tj (ith) Tj [(Jo) 20 (nes)] TJ ET",
        ]);
        assert_eq!(
            text_of(read_pdf(&pdf, 10, 1000)),
            ["Date of birth:\nJamie Smith\nSmithJones"]
        );
    }

    #[test]
    fn a_cyclic_page_tree_ends() {
        // The root lists itself among its kids, and a second Pages node points back at the root.
        let pdf = build(&[
            "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
            "<< /Type /Pages /Kids [2 0 R 3 0 R 5 0 R 2 0 R] /Count 1 >>".to_string(),
            "<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Resources << /Font << /F1 6 0 R >> >> >>".to_string(),
            stream("", "BT /F1 12 Tf 72 700 Td (Only page) Tj ET"),
            "<< /Type /Pages /Parent 2 0 R /Kids [2 0 R 3 0 R 5 0 R] /Count 1 >>".to_string(),
            HELVETICA.to_string(),
        ]);
        assert_eq!(text_of(read_pdf(&pdf, 10, 1000)), ["Only page"]);
    }

    #[test]
    fn objects_that_refer_to_themselves_end() {
        let pdf = build(&[
            "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
            "<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>".to_string(),
            // Contents and Resources that are references to themselves, a Parent loop.
            "<< /Type /Page /Parent 3 0 R /Contents 5 0 R /Resources 6 0 R >>".to_string(),
            "<< /Type /Page /Parent 2 0 R /Contents 7 0 R /Resources << /Font 6 0 R >> >>".to_string(),
            "5 0 R".to_string(),
            "6 0 R".to_string(),
            stream("", "BT /F1 12 Tf 72 700 Td (Text) Tj ET"),
        ]);
        let reading = read_pdf(&pdf, 10, 1000);
        assert!(
            matches!(reading, PdfReading::Unreadable(_) | PdfReading::Text { .. }),
            "{reading:?}"
        );
    }

    #[test]
    fn text_in_forms_is_read_and_a_form_drawing_itself_ends() {
        let pdf = build(&[
            "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
            "<< /Type /Page /Parent 2 0 R /Contents 4 0 R \
             /Resources << /Font << /F1 6 0 R >> /XObject << /Fm1 5 0 R >> >> >>"
                .to_string(),
            stream("", "BT /F1 12 Tf 72 750 Td (Before) Tj ET /Fm1 Do"),
            stream(
                "/Type /XObject /Subtype /Form /BBox [0 0 595 842] /Matrix [1 0 0 1 0 -100] \
                 /Resources << /Font << /F1 6 0 R >> /XObject << /Fm1 5 0 R >> >>",
                "BT /F1 12 Tf 72 700 Td (Inside) Tj ET /Fm1 Do",
            ),
            HELVETICA.to_string(),
        ]);
        assert_eq!(text_of(read_pdf(&pdf, 10, 1000)), ["Before\nInside"]);
    }

    #[test]
    fn forms_drawn_exponentially_often_run_out_of_budget() {
        // Each form draws the next one 64 times, eight deep: 64^8 draws unbounded.
        let mut objects = vec![
            "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
            "<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Resources << /XObject << /X 5 0 R >> >> >>".to_string(),
            stream("", "/X Do"),
        ];
        for level in 0..8 {
            let next = 6 + level;
            objects.push(stream(
                &format!("/Type /XObject /Subtype /Form /BBox [0 0 1 1] /Resources << /XObject << /X {next} 0 R >> >>"),
                &"/X Do ".repeat(64),
            ));
        }
        objects.push(stream("/Type /XObject /Subtype /Form /BBox [0 0 1 1]", ""));
        let reading = read_pdf(&build(&objects), 10, 1000);
        assert!(
            matches!(reading, PdfReading::Text { truncated: true, .. }),
            "{reading:?}"
        );
    }

    /// A Type0 font in the way Word and cairo write them: Identity-H codes,
    /// widths in `/W`, letters only in the ToUnicode map.
    fn cid_pdf(content: &str, to_unicode: bool) -> Vec<u8> {
        let cmap = "/CIDInit /ProcSet findresource begin 12 dict begin begincmap \
                    /CMapName /Adobe-Identity-UCS def /CMapType 2 def \
                    1 begincodespacerange <0000> <FFFF> endcodespacerange \
                    1 beginbfrange <0020> <00FF> <0020> endbfrange \
                    1 beginbfchar <0100> <0141> endbfchar \
                    endcmap CMapName currentdict /CMap defineresource pop end end";
        let unicode = if to_unicode { "/ToUnicode 7 0 R" } else { "" };
        build(&[
            "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
            "<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_string(),
            stream("", content),
            format!(
                "<< /Type /Font /Subtype /Type0 /BaseFont /ABCDEF+Calibri /Encoding /Identity-H \
                 /DescendantFonts [6 0 R] {unicode} >>"
            ),
            "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /ABCDEF+Calibri \
             /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> \
             /DW 1000 /W [32 [226] 33 126 500 256 [600]] >>"
                .to_string(),
            stream("", cmap),
        ])
    }

    /// Text as Identity-H codes (one code per char, `Ł` as 0x0100).
    fn cid_hex(text: &str) -> String {
        let codes: Vec<String> = text
            .chars()
            .map(|c| {
                if c == 'Ł' {
                    "0100".to_string()
                } else {
                    format!("{:04X}", u32::from(c))
                }
            })
            .collect();
        format!("<{}>", codes.join(""))
    }

    #[test]
    fn cid_fonts_are_read_through_their_tounicode_map() {
        // "Łukasz" and "Nowak" placed apart by Tm, no space glyph between them;
        // then a table row: cells placed far apart.
        let content = format!(
            "BT /F1 11 Tf 1 0 0 1 72 700 Tm {} Tj 1 0 0 1 110 700 Tm {} Tj ET \
             BT /F1 11 Tf 1 0 0 1 72 680 Tm {} Tj 1 0 0 1 200 680 Tm {} Tj ET",
            cid_hex("Łukasz"),
            cid_hex("Nowak"),
            cid_hex("DOB"),
            cid_hex("01/11/2014"),
        );
        let pages = text_of(read_pdf(&cid_pdf(&content, true), 10, 1000));
        assert_eq!(pages, ["Łukasz Nowak\nDOB\t01/11/2014"]);
    }

    #[test]
    fn widths_at_the_end_of_the_code_space_do_not_overflow() {
        let cid_font = Dictionary::from_iter([(
            "W",
            Object::Array(vec![
                Object::Integer(i64::from(u32::MAX)),
                Object::Array(vec![Object::Integer(500), Object::Integer(600)]),
            ]),
        )]);
        let widths = cid_widths(&Document::new(), &cid_font);
        assert_eq!(widths.of(u32::MAX), 500.0);
    }

    #[test]
    fn cid_fonts_without_a_map_are_unreadable_not_blank() {
        let content = format!("BT /F1 11 Tf 72 700 Td {} Tj ET", cid_hex("Nowak"));
        assert!(matches!(
            read_pdf(&cid_pdf(&content, false), 10, 1000),
            PdfReading::Unreadable(_)
        ));
    }

    #[test]
    fn form_field_values_and_comments_are_read() {
        let pdf = build(&[
            "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [5 0 R] >> >>".to_string(),
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
            "<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Annots [6 0 R 7 0 R] \
             /Resources << /Font << /F1 8 0 R >> >> >>"
                .to_string(),
            stream("", "BT /F1 12 Tf 72 700 Td (Referral form) Tj ET"),
            // A field with its value on the field and its widget as a kid.
            "<< /FT /Tx /T (pupil) /TU (Pupil name) /V <FEFF005A006F00EB> /Kids [6 0 R] >>".to_string(),
            "<< /Type /Annot /Subtype /Widget /Parent 5 0 R /Rect [72 600 200 620] >>".to_string(),
            "<< /Type /Annot /Subtype /Text /Rect [0 0 10 10] /Contents (Call mum about the allergy) >>".to_string(),
            HELVETICA.to_string(),
        ]);
        assert_eq!(
            text_of(read_pdf(&pdf, 10, 1000)),
            ["Referral form\nPupil name: Zoë\nCall mum about the allergy"]
        );
    }

    #[test]
    fn tounicode_wins_over_made_up_glyph_names() {
        // Subset fonts often name glyphs /g1 /g2: only the ToUnicode map says what they are.
        let cmap = "/CIDInit /ProcSet findresource begin 12 dict begin begincmap \
                    1 begincodespacerange <00> <FF> endcodespacerange \
                    2 beginbfchar <01> <005A> <02> <00EB> endbfchar \
                    endcmap CMapName currentdict /CMap defineresource pop end end";
        let pdf = build(&[
            "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
            "<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_string(),
            stream("", "BT /F1 12 Tf 72 700 Td <0102> Tj ET"),
            "<< /Type /Font /Subtype /TrueType /BaseFont /AAAAAA+Font /FirstChar 1 /LastChar 2 /Widths [600 500] \
             /Encoding << /Type /Encoding /Differences [1 /g1 /g2] >> /ToUnicode 6 0 R >>"
                .to_string(),
            stream("", cmap),
        ]);
        assert_eq!(text_of(read_pdf(&pdf, 10, 1000)), ["Zë"]);
    }

    #[test]
    fn tounicode_maps_read_chars_ranges_and_mixed_code_lengths() {
        let map = ToUnicode::parse(
            b"%!PS comment (with a paren\n/CIDInit/ProcSet findresource begin 12 dict begin begincmap\n\
              /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
              2 begincodespacerange <00> <80> <8140> <FFFF> endcodespacerange\n\
              2 beginbfchar <01> <005A> <02> <00660069> endbfchar\n\
              2 beginbfrange <41> <43> <0061> <8141> <8142> [<00C5> <D83DDE00>] endbfrange\n\
              endcmap CMapName currentdict /CMap defineresource pop end end",
        )
        .expect("maps something");
        let mut out = String::new();
        // 0x01, 0x02, 0x41..0x43, 0x8141, 0x8142, then an unmapped 0x7F.
        let missing = map.decode(b"\x01\x02\x41\x42\x43\x81\x41\x81\x42\x7f", 1, &mut out);
        assert_eq!(out, "Zfiabc\u{c5}\u{1f600}");
        assert_eq!(missing, 1);
        assert!(ToUnicode::parse(b"no map here").is_none());
    }

    #[test]
    fn a_huge_tounicode_range_costs_nothing() {
        // lopdf's own parser spends minutes and gigabytes expanding this range.
        let cmap = "/CIDInit/ProcSet findresource begin 12 dict begin begincmap\n\
                    1 begincodespacerange\n<00000000> <FFFFFFFF>\nendcodespacerange\n\
                    1 beginbfrange\n<00000000> <FFFFFFFF> <0041>\nendbfrange\nendcmap\nend\nend";
        let pdf = build(&[
            "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
            "<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_string(),
            stream("", "BT /F1 12 Tf 72 700 Td <0000000000000001> Tj ET"),
            "<< /Type /Font /Subtype /TrueType /BaseFont /X /ToUnicode 6 0 R >>".to_string(),
            stream("", cmap),
        ]);
        assert_eq!(text_of(read_pdf(&pdf, 10, 1000)), ["AB"]);
    }

    #[test]
    fn rotated_text_keeps_its_lines() {
        // A landscape table printed on a portrait page: baselines run up the page.
        let pdf = pages_pdf(&[
            "BT /F1 10 Tf 0 1 -1 0 100 100 Tm (Name) Tj 0 1 -1 0 100 200 Tm (DOB) Tj \
             0 1 -1 0 112 100 Tm (Jamie Smith) Tj 0 1 -1 0 112 200 Tm (12/03/2015) Tj ET",
        ]);
        assert_eq!(text_of(read_pdf(&pdf, 10, 1000)), ["Name DOB\nJamie Smith 12/03/2015"]);
    }

    #[test]
    fn what_is_not_a_pdf_is_unreadable() {
        for bytes in [
            &b""[..],
            b"PK\x03\x04 not a pdf",
            b"%PDF-1.7\n",
            b"%PDF-1.7\n1 0 obj << /Type /Catalog",
        ] {
            assert!(
                matches!(read_pdf(bytes, 10, 1000), PdfReading::Unreadable(_)),
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
        assert_eq!(
            read_pdf(b"GIF89a", 10, 1000),
            PdfReading::Unreadable("the file is not a PDF".to_string())
        );
    }

    #[test]
    fn cut_short_files_never_panic() {
        let whole = include_bytes!("../../fixtures/pdf/libreoffice-pupils.pdf");
        for len in (0..whole.len()).step_by(97) {
            let reading = read_pdf(&whole[..len], 10, 1000);
            assert_ne!(
                reading,
                PdfReading::Unreadable("the PDF is damaged in a way that stopped the reader".to_string()),
                "cut at {len}"
            );
        }
    }
}
