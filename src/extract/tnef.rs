//! Outlook's TNEF (`winmail.dat`, `application/ms-tnef`; MS-OXTNEF): the
//! message body and the attachments inside it.
//!
//! Why it is built this way:
//!
//! * **Every length is checked before it is used.** All reads go through
//!   [`Bytes`], which hands out slices of the input only when they are there,
//!   so a length field of 4 GB is an error, never an allocation; nothing is
//!   ever allocated from a count or length read from the file, and every loop
//!   over a count consumes input, so it ends when the input does.
//! * **Damage is an error, not a shorter result.** A stream cut short, a
//!   property list that does not add up, or more attachments than allowed
//!   gives `Err` with the reason in plain words: a winmail.dat read in part
//!   must not pass as one read in full. The caller reports it as unscannable.
//! * **Checksums are not checked.** Each attribute carries the sum of its data
//!   bytes; some writers get it wrong, a sender who means harm can compute it,
//!   and the lengths alone decide where everything is. Rejecting a mismatch
//!   would make readable mail unscannable and protect nothing.
//! * **The best body there is.** Plain text (`attBody`, `PR_BODY`) first; else
//!   the compressed RTF Outlook usually sends (`PR_RTF_COMPRESSED`, LZFu per
//!   MS-OXRTFCP) through [`rtf_to_text`]; else the HTML body through the HTML
//!   reader. 8-bit strings are decoded in the message's code page
//!   (`attOemCodepage`, Windows-1252 when absent).
//! * **An attached Outlook item is its own TNEF stream.** Its
//!   `PR_ATTACH_DATA_OBJ` object holds a TNEF stream of the embedded message,
//!   returned as the attachment's data (it starts with the TNEF signature) for
//!   the caller to read with [`read_tnef`] under its nesting limit.

use encoding_rs::{Encoding, WINDOWS_1252};

use super::html::html_to_text;
use super::rtf::{RtfText, code_page, rtf_to_text};

/// What a winmail.dat holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tnef {
    /// The message body as plain text, when it has one.
    pub body: Option<String>,
    /// The body stopped at [`MAX_BODY_CHARS`]: text was lost.
    pub body_truncated: bool,
    /// The RTF body's groups nested past the reader's depth: their text was not read.
    pub body_too_deep: bool,
    pub attachments: Vec<TnefAttachment>,
}

/// A file attached inside the TNEF stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TnefAttachment {
    /// The long file name when there is one, else the 8.3 title.
    pub name: String,
    pub data: Vec<u8>,
}

const SIGNATURE: u32 = 0x223E_9F78;

/// Attribute ids (the low 16 bits of an attribute's id).
mod att {
    pub const BODY: u16 = 0x800C;
    pub const ATTACH_DATA: u16 = 0x800F;
    pub const ATTACH_TITLE: u16 = 0x8010;
    pub const ATTACH_REND_DATA: u16 = 0x9002;
    pub const MSG_PROPS: u16 = 0x9003;
    pub const ATTACHMENT: u16 = 0x9005;
    pub const OEM_CODEPAGE: u16 = 0x9007;
}

/// Attribute levels.
const LEVEL_ATTACHMENT: u8 = 2;

/// MAPI property ids.
mod pr {
    pub const BODY: u16 = 0x1000;
    pub const RTF_COMPRESSED: u16 = 0x1009;
    pub const HTML: u16 = 0x1013;
    pub const DISPLAY_NAME: u16 = 0x3001;
    pub const ATTACH_DATA_OBJ: u16 = 0x3701;
    pub const ATTACH_FILENAME: u16 = 0x3704;
    pub const ATTACH_LONG_FILENAME: u16 = 0x3707;
}

/// MAPI property types.
mod pt {
    pub const SHORT: u16 = 0x0002;
    pub const LONG: u16 = 0x0003;
    pub const FLOAT: u16 = 0x0004;
    pub const DOUBLE: u16 = 0x0005;
    pub const CURRENCY: u16 = 0x0006;
    pub const APPTIME: u16 = 0x0007;
    pub const ERROR: u16 = 0x000A;
    pub const BOOLEAN: u16 = 0x000B;
    pub const OBJECT: u16 = 0x000D;
    pub const I8: u16 = 0x0014;
    pub const STRING8: u16 = 0x001E;
    pub const UNICODE: u16 = 0x001F;
    pub const SYSTIME: u16 = 0x0040;
    pub const CLSID: u16 = 0x0048;
    pub const BINARY: u16 = 0x0102;
    /// Set on multi-valued types.
    pub const MULTIPLE: u16 = 0x1000;
}

/// Characters of body text kept, as for any other attachment.
pub const MAX_BODY_CHARS: usize = 10_000_000;
/// The most a compressed RTF body may inflate to.
const MAX_RTF_BYTES: usize = 32 * 1024 * 1024;

/// Reads a TNEF stream: its body and up to `max_attachments` attachments.
///
/// Errors say, in plain words, why the stream could not be read in full:
/// not TNEF, cut short, a property list that does not add up, or more than
/// `max_attachments` attachments. Never panics and never allocates more
/// than the input's size from what the input claims.
pub fn read_tnef(bytes: &[u8], max_attachments: usize) -> Result<Tnef, String> {
    let mut input = Bytes::new(bytes);
    if input.u32().ok() != Some(SIGNATURE) {
        return Err("the file is not an Outlook TNEF (winmail.dat) file".to_string());
    }
    input.u16()?; // the legacy key: nothing to check it against
    let mut message = Message::default();
    while !input.is_empty() {
        if input.rest().iter().all(|&b| b == 0) {
            break; // padding some writers leave at the end
        }
        let level = input.u8()?;
        let id = input.u32()?;
        let length = input.len32()?;
        let data = input.take(length)?;
        input.u16()?; // checksum, not verified (see the module comment)
        // The high 16 bits are the attribute's type, implied by its id.
        let id = (id & 0xFFFF) as u16;
        if level == LEVEL_ATTACHMENT {
            message.attachment_attribute(id, data, max_attachments)?;
        } else {
            message.message_attribute(id, data)?;
        }
    }
    Ok(message.finish())
}

/// What has been read so far.
#[derive(Default)]
struct Message {
    /// From `attOemCodepage`; decodes 8-bit strings.
    encoding: Option<&'static Encoding>,
    plain_body: Option<String>,
    rtf_body: Option<Vec<u8>>,
    html_body: Option<String>,
    attachments: Vec<Attachment>,
}

/// An attachment's pieces, which arrive as separate attributes.
#[derive(Default)]
struct Attachment {
    title: Option<String>,
    long_name: Option<String>,
    file_name: Option<String>,
    display_name: Option<String>,
    data: Option<Vec<u8>>,
    /// `PR_ATTACH_DATA_OBJ`: the data when `attAttachData` is missing, or an embedded message.
    object: Option<Vec<u8>>,
}

impl Message {
    fn encoding(&self) -> &'static Encoding {
        self.encoding.unwrap_or(WINDOWS_1252)
    }

    fn message_attribute(&mut self, id: u16, data: &[u8]) -> Result<(), String> {
        match id {
            att::OEM_CODEPAGE => {
                let number = Bytes::new(data).u32()?;
                self.encoding = i32::try_from(number).ok().and_then(code_page);
            }
            att::BODY => self.plain_body = Some(string8(data, self.encoding())),
            att::MSG_PROPS => {
                for property in properties(data)? {
                    self.message_property(&property);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn message_property(&mut self, property: &Property) {
        let Some(value) = property.values.first() else {
            return;
        };
        match property.id {
            pr::BODY if self.plain_body.is_none() => self.plain_body = property.text(self.encoding()),
            pr::RTF_COMPRESSED => self.rtf_body = Some(value.to_vec()),
            pr::HTML => {
                let html = property
                    .text(self.encoding())
                    .unwrap_or_else(|| binary_html(value, self.encoding()));
                self.html_body = Some(html);
            }
            _ => {}
        }
    }

    fn attachment_attribute(&mut self, id: u16, data: &[u8], max_attachments: usize) -> Result<(), String> {
        // attAttachRendData opens each attachment; an attribute before any opens one too.
        if id == att::ATTACH_REND_DATA || self.attachments.is_empty() {
            if self.attachments.len() == max_attachments {
                return Err(format!(
                    "the winmail.dat holds more than {max_attachments} attachments; the rest were not read"
                ));
            }
            self.attachments.push(Attachment::default());
        }
        let encoding = self.encoding();
        let Some(attachment) = self.attachments.last_mut() else {
            return Ok(());
        };
        match id {
            att::ATTACH_TITLE => attachment.title = Some(string8(data, encoding)),
            att::ATTACH_DATA => attachment.data = Some(data.to_vec()),
            att::ATTACHMENT => {
                for property in properties(data)? {
                    attachment.property(&property, encoding);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(self) -> Tnef {
        let attachments = self.attachments.into_iter().map(Attachment::finish).collect();
        if let Some(text) = self.plain_body.filter(|text| !text.trim().is_empty()) {
            return Tnef {
                body: Some(text),
                attachments,
                ..Tnef::default()
            };
        }
        if let Some(read) = self.rtf_body.as_deref().and_then(rtf_body) {
            return Tnef {
                body: Some(read.text),
                body_truncated: read.truncated,
                body_too_deep: read.too_deep,
                attachments,
            };
        }
        let html = self.html_body.map(|html| html_to_text(&html, MAX_BODY_CHARS));
        Tnef {
            body_truncated: html.as_ref().is_some_and(|h| h.truncated),
            body: html.map(|h| h.text),
            body_too_deep: false,
            attachments,
        }
    }
}

impl Attachment {
    fn property(&mut self, property: &Property, encoding: &'static Encoding) {
        let slot = match property.id {
            pr::ATTACH_LONG_FILENAME => &mut self.long_name,
            pr::ATTACH_FILENAME => &mut self.file_name,
            pr::DISPLAY_NAME => &mut self.display_name,
            pr::ATTACH_DATA_OBJ => {
                self.object = property.values.first().map(|data| match property.kind {
                    // An object starts with the 16-byte IID of its interface.
                    pt::OBJECT => data.get(16..).unwrap_or_default().to_vec(),
                    _ => data.to_vec(),
                });
                return;
            }
            _ => return,
        };
        *slot = property.text(encoding).filter(|name| !name.trim().is_empty());
    }

    fn finish(self) -> TnefAttachment {
        let name = self
            .long_name
            .or(self.file_name)
            .or(self.title.filter(|t| !t.trim().is_empty()))
            .or(self.display_name)
            .unwrap_or_else(|| "attachment".to_string());
        TnefAttachment {
            name,
            data: self.data.or(self.object).unwrap_or_default(),
        }
    }
}

/// An 8-bit string in the message's code page, without its trailing NULs.
fn string8(data: &[u8], encoding: &'static Encoding) -> String {
    let end = data.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let (text, _) = encoding.decode_without_bom_handling(data.get(..end).unwrap_or_default());
    text.into_owned()
}

/// A UTF-16LE string without its trailing NULs.
fn unicode(data: &[u8]) -> String {
    let units: Vec<u16> = data
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .collect();
    let end = units.iter().rposition(|&u| u != 0).map_or(0, |i| i + 1);
    String::from_utf16_lossy(units.get(..end).unwrap_or_default())
}

fn rtf_body(compressed: &[u8]) -> Option<RtfText> {
    let rtf = decompress_rtf(compressed)?;
    let read = rtf_to_text(&rtf, MAX_BODY_CHARS);
    (!read.text.trim().is_empty()).then_some(read)
}

/// HTML in a binary property: UTF-8 when it is valid UTF-8, else the message's code page.
fn binary_html(html: &[u8], encoding: &'static Encoding) -> String {
    match std::str::from_utf8(html) {
        Ok(text) => text.to_string(),
        Err(_) => encoding.decode_without_bom_handling(html).0.into_owned(),
    }
}

/// One MAPI property from a property list: its values are slices of the input.
struct Property<'a> {
    kind: u16,
    id: u16,
    values: Vec<&'a [u8]>,
}

impl Property<'_> {
    /// The first value as text, for string types.
    fn text(&self, encoding: &'static Encoding) -> Option<String> {
        let value = self.values.first()?;
        match self.kind {
            pt::STRING8 => Some(string8(value, encoding)),
            pt::UNICODE => Some(unicode(value)),
            _ => None,
        }
    }
}

/// A property list (`attMsgProps`, `attAttachment`; MS-OXTNEF 2.1.3.4): a
/// count, then each property's type, id, name (for named properties), and
/// values.
fn properties(data: &[u8]) -> Result<Vec<Property<'_>>, String> {
    let mut input = Bytes::new(data);
    let count = input.u32()?;
    let mut list = Vec::new();
    for _ in 0..count {
        let kind = input.u16()?;
        let id = input.u16()?;
        if id >= 0x8000 {
            skip_property_name(&mut input)?;
        }
        let values = property_values(&mut input, kind)?;
        list.push(Property { kind, id, values });
    }
    Ok(list)
}

/// A named property's GUID and name: a number, or a UTF-16 string padded to 4 bytes.
fn skip_property_name(input: &mut Bytes) -> Result<(), String> {
    input.take(16)?;
    match input.u32()? {
        0 => {
            input.u32()?;
        }
        1 => {
            let length = input.len32()?;
            input.take_padded(length)?;
        }
        _ => return Err(DAMAGED.to_string()),
    }
    Ok(())
}

/// A property's values: variable-length and multi-valued types carry a
/// count, and each variable-length value its own length; every value is
/// padded to 4 bytes.
fn property_values<'a>(input: &mut Bytes<'a>, kind: u16) -> Result<Vec<&'a [u8]>, String> {
    let base = kind & !pt::MULTIPLE;
    let variable = matches!(base, pt::STRING8 | pt::UNICODE | pt::BINARY | pt::OBJECT);
    let count = if variable || kind & pt::MULTIPLE != 0 {
        input.u32()?
    } else {
        1
    };
    let size = if variable { None } else { Some(fixed_size(base)?) };
    let mut values = Vec::new();
    for _ in 0..count {
        let length = match size {
            Some(size) => size,
            None => input.len32()?,
        };
        values.push(input.take_padded(length)?);
    }
    Ok(values)
}

/// The size of a fixed-length property type.
fn fixed_size(kind: u16) -> Result<usize, String> {
    match kind {
        pt::SHORT => Ok(2),
        pt::LONG | pt::FLOAT | pt::ERROR | pt::BOOLEAN => Ok(4),
        pt::DOUBLE | pt::CURRENCY | pt::APPTIME | pt::I8 | pt::SYSTIME => Ok(8),
        pt::CLSID => Ok(16),
        _ => Err(DAMAGED.to_string()),
    }
}

const DAMAGED: &str = "the winmail.dat is damaged: a property list does not add up";
const CUT_SHORT: &str = "the winmail.dat is cut short";

/// The input not yet read; every read is checked against what is left.
struct Bytes<'a> {
    rest: &'a [u8],
}

impl<'a> Bytes<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Bytes { rest: bytes }
    }

    fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    fn rest(&self) -> &'a [u8] {
        self.rest
    }

    /// The next `length` bytes, if there are that many.
    fn take(&mut self, length: usize) -> Result<&'a [u8], String> {
        if length > self.rest.len() {
            return Err(CUT_SHORT.to_string());
        }
        let (taken, rest) = self.rest.split_at(length);
        self.rest = rest;
        Ok(taken)
    }

    /// The next `length` bytes, then the padding to a multiple of 4.
    fn take_padded(&mut self, length: usize) -> Result<&'a [u8], String> {
        let taken = self.take(length)?;
        self.take((4 - length % 4) % 4)?;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let bytes = self.take(N)?;
        bytes.try_into().map_err(|_| CUT_SHORT.to_string())
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(u8::from_le_bytes(self.array()?))
    }

    fn u16(&mut self) -> Result<u16, String> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// A 32-bit length; one longer than the input is caught by the `take` that follows.
    fn len32(&mut self) -> Result<usize, String> {
        usize::try_from(self.u32()?).map_err(|_| CUT_SHORT.to_string())
    }
}

/// Compressed RTF (MS-OXRTFCP): a 16-byte header, then `MELA` raw or `LZFu`
/// compressed data. The CRC is not checked, for the reason checksums are not.
fn decompress_rtf(data: &[u8]) -> Option<Vec<u8>> {
    const COMPRESSED: u32 = 0x7546_5A4C; // "LZFu"
    const UNCOMPRESSED: u32 = 0x414C_454D; // "MELA"
    let mut header = Bytes::new(data);
    let compressed_size = header.len32().ok()?; // counts the bytes after this field
    let raw_size = header.len32().ok()?;
    let kind = header.u32().ok()?;
    header.u32().ok()?; // CRC
    let body = header.rest();
    let body = body.get(..compressed_size.saturating_sub(12)).unwrap_or(body);
    match kind {
        COMPRESSED => Some(lzfu(body, raw_size.min(MAX_RTF_BYTES))),
        UNCOMPRESSED => Some(body.get(..raw_size.min(MAX_RTF_BYTES)).unwrap_or(body).to_vec()),
        _ => None,
    }
}

/// The dictionary every LZFu stream starts with (MS-OXRTFCP 3.1.4.1.1).
const LZFU_PRELOAD: &[u8] = b"{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss \\fmodern \
\\fscript \\fdecor MS Sans SerifSymbolArialTimes New RomanCourier{\\colortbl\\red0\\green0\\blue0\r\n\\par \
\\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx";

/// LZFu: each control byte's bits, low first, say whether a literal byte or
/// a 2-byte reference (12-bit dictionary offset, 4-bit length − 2) follows;
/// a reference to the write position ends the stream. At most `max` bytes.
fn lzfu(input: &[u8], max: usize) -> Vec<u8> {
    let mut window = Window::new();
    let mut out = Vec::new();
    let mut input = input.iter().copied();
    while let Some(control) = input.next() {
        for bit in 0..8 {
            if out.len() >= max {
                return out;
            }
            if control & (1 << bit) == 0 {
                let Some(b) = input.next() else { return out };
                window.put(b, &mut out);
                continue;
            }
            let (Some(high), Some(low)) = (input.next(), input.next()) else {
                return out;
            };
            let reference = u16::from_be_bytes([high, low]);
            let offset = usize::from(reference >> 4);
            if offset == window.write {
                return out;
            }
            for k in 0..usize::from(reference & 0xF) + 2 {
                if out.len() >= max {
                    return out;
                }
                window.put(window.at(offset + k), &mut out);
            }
        }
    }
    out
}

/// LZFu's 4096-byte dictionary: the preload, then everything written, wrapping round.
struct Window {
    bytes: [u8; Window::SIZE],
    write: usize,
}

impl Window {
    const SIZE: usize = 4096;

    fn new() -> Self {
        let mut bytes = [0; Window::SIZE];
        for (slot, &b) in bytes.iter_mut().zip(LZFU_PRELOAD) {
            *slot = b;
        }
        Window {
            bytes,
            write: LZFU_PRELOAD.len() % Window::SIZE,
        }
    }

    fn at(&self, index: usize) -> u8 {
        self.bytes.get(index % Window::SIZE).copied().unwrap_or_default()
    }

    fn put(&mut self, b: u8, out: &mut Vec<u8>) {
        out.push(b);
        if let Some(slot) = self.bytes.get_mut(self.write) {
            *slot = b;
        }
        self.write = (self.write + 1) % Window::SIZE;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attribute(level: u8, id: u32, data: &[u8]) -> Vec<u8> {
        let checksum = data.iter().fold(0u16, |sum, &b| sum.wrapping_add(u16::from(b)));
        let mut out = vec![level];
        out.extend(id.to_le_bytes());
        out.extend(u32::try_from(data.len()).expect("small").to_le_bytes());
        out.extend(data);
        out.extend(checksum.to_le_bytes());
        out
    }

    fn tnef(attributes: &[Vec<u8>]) -> Vec<u8> {
        let mut out = SIGNATURE.to_le_bytes().to_vec();
        out.extend(0x0001u16.to_le_bytes());
        out.extend(attributes.concat());
        out
    }

    fn padded(mut data: Vec<u8>) -> Vec<u8> {
        data.resize(data.len().div_ceil(4) * 4, 0);
        data
    }

    /// A variable-length property: type, id, one value with its length.
    fn variable(kind: u16, id: u16, value: &[u8]) -> Vec<u8> {
        let mut out = kind.to_le_bytes().to_vec();
        out.extend(id.to_le_bytes());
        out.extend(1u32.to_le_bytes());
        out.extend(u32::try_from(value.len()).expect("small").to_le_bytes());
        out.extend(padded(value.to_vec()));
        out
    }

    fn utf16(text: &str) -> Vec<u8> {
        text.encode_utf16().chain([0]).flat_map(u16::to_le_bytes).collect()
    }

    fn property_list(properties: &[Vec<u8>]) -> Vec<u8> {
        let mut out = u32::try_from(properties.len()).expect("small").to_le_bytes().to_vec();
        out.extend(properties.concat());
        out
    }

    /// A named property (id ≥ 0x8000) with a string name, and a PT_LONG value.
    fn named_long() -> Vec<u8> {
        let mut out = pt::LONG.to_le_bytes().to_vec();
        out.extend(0x8001u16.to_le_bytes());
        out.extend([0x11; 16]);
        out.extend(1u32.to_le_bytes());
        let name = utf16("Keywords");
        out.extend(u32::try_from(name.len()).expect("small").to_le_bytes());
        out.extend(padded(name));
        out.extend(7u32.to_le_bytes());
        out
    }

    fn one_attachment() -> Vec<u8> {
        let long_name = variable(
            pt::UNICODE,
            pr::ATTACH_LONG_FILENAME,
            &utf16("Pupils with support plans.csv"),
        );
        let method = [pt::LONG.to_le_bytes(), 0x3705u16.to_le_bytes(), [1, 0], [0, 0]].concat();
        tnef(&[
            attribute(1, 0x0008_9006, &[0, 0, 1, 0]),
            attribute(1, 0x0006_9007, &[0xE4, 0x04, 0, 0, 0, 0, 0, 0]),
            attribute(1, 0x0002_800C, b"Please find the list attached. Zo\xeb\0"),
            attribute(2, 0x0006_9002, &[1, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0]),
            attribute(2, 0x0001_8010, b"PUPILS~1.CSV\0"),
            attribute(2, 0x0006_800F, b"Name,DOB\r\nZo\xeb Bront\xeb,12/03/2015\r\n"),
            attribute(2, 0x0006_9005, &property_list(&[named_long(), method, long_name])),
        ])
    }

    #[test]
    fn body_and_attachment_with_its_long_name() {
        let read = read_tnef(&one_attachment(), 10).expect("reads");
        assert_eq!(read.body.as_deref(), Some("Please find the list attached. Zoë"));
        assert_eq!(
            read.attachments,
            [TnefAttachment {
                name: "Pupils with support plans.csv".to_string(),
                data: b"Name,DOB\r\nZo\xeb Bront\xeb,12/03/2015\r\n".to_vec(),
            }]
        );
    }

    #[test]
    fn the_83_title_is_the_name_without_a_long_one() {
        let read = read_tnef(
            &tnef(&[
                attribute(2, 0x0006_9002, &[1, 0]),
                attribute(2, 0x0001_8010, b"REPORT.PDF\0"),
                attribute(2, 0x0006_800F, b"%PDF-"),
                attribute(2, 0x0006_9002, &[1, 0]),
                attribute(2, 0x0006_800F, b"second"),
            ]),
            10,
        )
        .expect("reads");
        let names: Vec<&str> = read.attachments.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["REPORT.PDF", "attachment"]);
        assert_eq!(read.body, None);
    }

    #[test]
    fn every_cut_is_an_error() {
        let whole = one_attachment();
        let boundaries = attribute_ends(&whole);
        for len in 0..whole.len() {
            let read = read_tnef(&whole[..len], 10);
            if boundaries.contains(&len) {
                assert!(read.is_ok(), "cut at an attribute boundary {len}");
            } else {
                assert!(read.is_err(), "cut at {len}: {read:?}");
            }
        }
    }

    /// Where each attribute of a well-formed stream ends.
    fn attribute_ends(stream: &[u8]) -> Vec<usize> {
        let mut pos = 6; // signature and legacy key
        let mut ends = vec![pos];
        while let Some(length) = stream.get(pos + 5..pos + 9) {
            let length = u32::from_le_bytes(length.try_into().expect("4 bytes")) as usize;
            pos += 9 + length + 2;
            ends.push(pos);
        }
        ends
    }

    #[test]
    fn four_gigabyte_lengths_are_errors_not_allocations() {
        let mut huge_attribute = tnef(&[]);
        huge_attribute.extend([2]);
        huge_attribute.extend(0x0006_800Fu32.to_le_bytes());
        huge_attribute.extend(u32::MAX.to_le_bytes());
        huge_attribute.extend(b"only a few bytes");
        assert_eq!(read_tnef(&huge_attribute, 10), Err(CUT_SHORT.to_string()));

        let mut huge_value = pt::BINARY.to_le_bytes().to_vec();
        huge_value.extend(pr::ATTACH_DATA_OBJ.to_le_bytes());
        huge_value.extend(1u32.to_le_bytes());
        huge_value.extend(u32::MAX.to_le_bytes());
        let mut huge_count = u32::MAX.to_le_bytes().to_vec();
        huge_count.extend(variable(pt::STRING8, pr::DISPLAY_NAME, b"x\0"));
        let mut huge_values = pt::MULTIPLE.wrapping_add(pt::LONG).to_le_bytes().to_vec();
        huge_values.extend(0x0E00u16.to_le_bytes());
        huge_values.extend(u32::MAX.to_le_bytes());
        for list in [property_list(&[huge_value]), huge_count, property_list(&[huge_values])] {
            let stream = tnef(&[attribute(2, 0x0006_9002, &[1, 0]), attribute(2, 0x0006_9005, &list)]);
            assert!(read_tnef(&stream, 10).is_err());
        }
    }

    #[test]
    fn not_tnef_is_an_error() {
        for bytes in [
            &b""[..],
            b"\x78\x9f\x3e",
            b"PK\x03\x04rest",
            b"\x22\x3e\x9f\x78\x01\x00",
        ] {
            assert_eq!(
                read_tnef(bytes, 10),
                Err("the file is not an Outlook TNEF (winmail.dat) file".to_string())
            );
        }
        assert_eq!(read_tnef(&tnef(&[]), 10), Ok(Tnef::default()));
    }

    #[test]
    fn too_many_attachments_is_an_error() {
        let two = tnef(&[attribute(2, 0x0006_9002, &[1, 0]), attribute(2, 0x0006_9002, &[1, 0])]);
        assert!(read_tnef(&two, 2).is_ok());
        assert_eq!(
            read_tnef(&two, 1),
            Err("the winmail.dat holds more than 1 attachments; the rest were not read".to_string())
        );
    }

    #[test]
    fn a_wrong_checksum_is_accepted_and_trailing_zeros_ignored() {
        let mut stream = tnef(&[attribute(1, 0x0002_800C, b"Hello")]);
        let checksum_at = stream.len() - 2;
        stream[checksum_at] ^= 0xFF;
        stream.extend([0, 0, 0]);
        assert_eq!(read_tnef(&stream, 10).expect("reads").body.as_deref(), Some("Hello"));
    }

    #[test]
    fn compressed_rtf_body() {
        // The example in MS-OXRTFCP 4.1.
        let compressed = [
            0x2d, 0x00, 0x00, 0x00, 0x2b, 0x00, 0x00, 0x00, 0x4c, 0x5a, 0x46, 0x75, 0xf1, 0xc5, 0xc7, 0xa7, 0x03, 0x00,
            0x0a, 0x00, 0x72, 0x63, 0x70, 0x67, 0x31, 0x32, 0x35, 0x42, 0x32, 0x0a, 0xf3, 0x20, 0x68, 0x65, 0x6c, 0x09,
            0x00, 0x20, 0x62, 0x77, 0x05, 0xb0, 0x6c, 0x64, 0x7d, 0x0a, 0x80, 0x0f, 0xa0,
        ];
        assert_eq!(
            decompress_rtf(&compressed).as_deref(),
            Some(&b"{\\rtf1\\ansi\\ansicpg1252\\pard hello world}\r\n"[..])
        );
        let props = property_list(&[variable(pt::BINARY, pr::RTF_COMPRESSED, &compressed)]);
        let read = read_tnef(&tnef(&[attribute(1, 0x0006_9003, &props)]), 10).expect("reads");
        assert_eq!(read.body.as_deref(), Some("hello world"));
    }

    #[test]
    fn uncompressed_rtf_and_html_bodies() {
        let rtf = b"{\\rtf1 Jamie\\par Smith}";
        let mut mela = u32::try_from(rtf.len() + 12).expect("small").to_le_bytes().to_vec();
        mela.extend(u32::try_from(rtf.len()).expect("small").to_le_bytes());
        mela.extend(b"MELA\0\0\0\0");
        mela.extend(rtf);
        let props = property_list(&[variable(pt::BINARY, pr::RTF_COMPRESSED, &mela)]);
        let read = read_tnef(&tnef(&[attribute(1, 0x0006_9003, &props)]), 10).expect("reads");
        assert_eq!(read.body.as_deref(), Some("Jamie\nSmith"));

        let html = "<p>Zoë's <b>DOB</b></p>".as_bytes();
        let props = property_list(&[variable(pt::BINARY, pr::HTML, html)]);
        let read = read_tnef(&tnef(&[attribute(1, 0x0006_9003, &props)]), 10).expect("reads");
        assert_eq!(read.body.as_deref(), Some("Zoë's DOB"));
    }

    #[test]
    fn an_rtf_body_nested_too_deep_says_so() {
        let mut rtf = b"{\\rtf1 Visible ".to_vec();
        rtf.extend(std::iter::repeat_n(b'{', 200));
        rtf.extend(b"Jamie Carter");
        rtf.extend(std::iter::repeat_n(b'}', 201));
        let mut mela = u32::try_from(rtf.len() + 12).expect("small").to_le_bytes().to_vec();
        mela.extend(u32::try_from(rtf.len()).expect("small").to_le_bytes());
        mela.extend(b"MELA\0\0\0\0");
        mela.extend(&rtf);
        let props = property_list(&[variable(pt::BINARY, pr::RTF_COMPRESSED, &mela)]);
        let read = read_tnef(&tnef(&[attribute(1, 0x0006_9003, &props)]), 10).expect("reads");
        assert_eq!(read.body.as_deref(), Some("Visible"));
        assert!(read.body_too_deep && !read.body_truncated);
    }

    #[test]
    fn unicode_body_property_and_an_embedded_message() {
        let inner = tnef(&[attribute(1, 0x0002_800C, b"inner")]);
        let mut object = vec![0x07; 16]; // IID_IMessage
        object.extend(&inner);
        let props = property_list(&[variable(pt::UNICODE, pr::BODY, &utf16("Łukasz"))]);
        let attachment = property_list(&[
            variable(pt::UNICODE, pr::DISPLAY_NAME, &utf16("Fwd: pupils")),
            variable(pt::OBJECT, pr::ATTACH_DATA_OBJ, &object),
        ]);
        let read = read_tnef(
            &tnef(&[
                attribute(1, 0x0006_9003, &props),
                attribute(2, 0x0006_9002, &[5, 0]),
                attribute(2, 0x0006_9005, &attachment),
            ]),
            10,
        )
        .expect("reads");
        assert_eq!(read.body.as_deref(), Some("Łukasz"));
        assert_eq!(
            read.attachments,
            [TnefAttachment {
                name: "Fwd: pupils".to_string(),
                data: inner.clone()
            }]
        );
        assert_eq!(read_tnef(&inner, 10).expect("reads").body.as_deref(), Some("inner"));
    }

    #[test]
    fn lzfu_references_never_read_outside_the_dictionary() {
        // References to every offset, and one that runs past the dictionary's end.
        let mut stream = Vec::new();
        for offset in [0u16, 4000, 4095] {
            stream.push(0xFF);
            for _ in 0..8 {
                stream.extend(((offset << 4) | 0xF).to_be_bytes());
            }
        }
        assert_eq!(lzfu(&stream, 1000).len(), 3 * 8 * 17);
        assert_eq!(lzfu(&stream, 100).len(), 100);
        assert!(lzfu(&[0x01], 100).is_empty());
    }

    proptest::proptest! {
        #[test]
        fn any_input_is_read_or_refused(tail in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let mut stream = tnef(&[]);
            stream.extend(tail);
            let _ = read_tnef(&stream, 4);
        }

        #[test]
        fn damaged_streams_are_read_or_refused(
            changes in proptest::collection::vec((proptest::num::usize::ANY, proptest::num::u8::ANY), 1..8),
        ) {
            let mut stream = one_attachment();
            for (at, value) in changes {
                let at = at % stream.len();
                stream[at] = value;
            }
            if let Ok(read) = read_tnef(&stream, 4) {
                proptest::prop_assert!(read.attachments.iter().map(|a| a.data.len()).sum::<usize>() <= stream.len());
            }
        }
    }
}
