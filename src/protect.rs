//! Is this whole message encrypted? Byte-level sniffing of S/MIME and OpenPGP.
//!
//! Why it is built this way:
//! - An encrypted message cannot be scanned, and policy treats "encrypted" as
//!   protected; a *signed* message looks similar from the outside but carries
//!   readable content that must be scanned. The difference is in the first few
//!   bytes (the CMS contentType OID, the first OpenPGP packet tag), so we read
//!   only those: no ASN.1 or OpenPGP library, no MIME parsing here (callers
//!   hand over the part body or the text), and no decryption ever.
//! - Input is hostile. Base64 is decoded from a bounded prefix (whole 4-character
//!   groups, at most 64 characters) into stack buffers, every index is checked,
//!   and anything we cannot read yields `Unreadable`, never a panic — the caller
//!   decides what an unreadable "encrypted-looking" part means for policy.
//! - The markers follow ATTACHMENTS.md "Is it encrypted? (message level)":
//!   `smime-type` first, the OID when it is absent or for `*.p7m`; for inline
//!   PGP, `BEGIN PGP MESSAGE` alone is not proof (signed and compressed
//!   messages use the same armour), so the first packet decides.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Lenient base64: padding optional, trailing bits ignored (we decode prefixes).
const B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Base64 characters decoded at most: 64 characters = 48 bytes, enough for a
/// CMS ContentInfo header plus its OID, or a couple of OpenPGP packet headers.
const B64_PREFIX_CHARS: usize = 64;
const B64_PREFIX_BYTES: usize = B64_PREFIX_CHARS / 4 * 3;

fn is_b64_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}

/// Collects base64 characters up to [`B64_PREFIX_CHARS`] and decodes them.
struct B64Prefix {
    chars: [u8; B64_PREFIX_CHARS],
    n: usize,
    /// The encoded stream ended (padding, a foreign character, end of input)
    /// before the buffer filled, so a final partial group is real data.
    ended: bool,
}

impl B64Prefix {
    fn new() -> Self {
        B64Prefix {
            chars: [0; B64_PREFIX_CHARS],
            n: 0,
            ended: false,
        }
    }

    fn full(&self) -> bool {
        self.n == B64_PREFIX_CHARS
    }

    /// Feed bytes; whitespace is skipped. Returns `false` once no more input
    /// is wanted (buffer full, or the encoded stream ended).
    fn feed(&mut self, bytes: &[u8]) -> bool {
        for &b in bytes {
            if self.full() || self.ended {
                return false;
            }
            if b.is_ascii_whitespace() {
                continue;
            }
            if !is_b64_char(b) {
                self.ended = true;
                return false;
            }
            self.chars[self.n] = b;
            self.n += 1;
        }
        !(self.full() || self.ended)
    }

    /// Decode into `out`; returns the number of bytes written (0 on error).
    fn decode(&self, out: &mut [u8; B64_PREFIX_BYTES]) -> usize {
        // A prefix cut off by the cap is whole 4-character groups (the cap is
        // a multiple of 4); a stream that really ended may finish with a 2- or
        // 3-character group (padding stripped). One stray character is dropped.
        let usable = if self.ended && self.n % 4 != 1 {
            self.n
        } else {
            self.n - self.n % 4
        };
        B64.decode_slice(&self.chars[..usable], out).unwrap_or(0)
    }
}

// ---------------------------------------------------------------------------
// S/MIME (CMS / PKCS #7)
// ---------------------------------------------------------------------------

/// What a CMS ContentInfo declares itself to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pkcs7Kind {
    /// envelopedData (1.2.840.113549.1.7.3): encrypted.
    Enveloped,
    /// authEnvelopedData (1.2.840.113549.1.9.16.1.23): encrypted (AES-GCM).
    AuthEnveloped,
    /// signedData (1.2.840.113549.1.7.2): not encrypted, the content is inside.
    Signed,
    /// A readable ContentInfo with another type (data, compressedData, …).
    Other,
    /// Not DER/BER, not base64 of it, or cut off before the OID.
    Unreadable,
}

impl Pkcs7Kind {
    /// Enveloped or AuthEnveloped.
    pub fn is_encrypted(self) -> bool {
        matches!(self, Pkcs7Kind::Enveloped | Pkcs7Kind::AuthEnveloped)
    }
}

/// OID contents (after tag 06 and length) of the content types we tell apart.
const OID_ENVELOPED: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x03];
const OID_SIGNED: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02];
const OID_AUTH_ENVELOPED: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x10, 0x01, 0x17];

/// Read the contentType of a DER/BER ContentInfo: SEQUENCE header (short,
/// long or indefinite length), then the OBJECT IDENTIFIER.
fn content_info_kind(der: &[u8]) -> Pkcs7Kind {
    if der.first() != Some(&0x30) {
        return Pkcs7Kind::Unreadable;
    }
    let oid_at = match der.get(1) {
        Some(&l) if l <= 0x80 => 2, // short form, or 0x80 indefinite (BER)
        Some(&l @ 0x81..=0x84) => 2 + usize::from(l & 0x7F),
        _ => return Pkcs7Kind::Unreadable,
    };
    if der.get(oid_at) != Some(&0x06) {
        return Pkcs7Kind::Unreadable;
    }
    let oid_len = match der.get(oid_at + 1) {
        Some(&l) if l < 0x80 => usize::from(l),
        _ => return Pkcs7Kind::Unreadable,
    };
    let Some(oid) = der.get(oid_at + 2..oid_at + 2 + oid_len) else {
        return Pkcs7Kind::Unreadable;
    };
    match oid {
        OID_ENVELOPED => Pkcs7Kind::Enveloped,
        OID_AUTH_ENVELOPED => Pkcs7Kind::AuthEnveloped,
        OID_SIGNED => Pkcs7Kind::Signed,
        _ => Pkcs7Kind::Other,
    }
}

/// The content type of an S/MIME body (`application/pkcs7-mime`, `*.p7m`):
/// raw DER/BER, or base64 text (line breaks and whitespace allowed; an
/// optional `-----BEGIN …-----` PEM line is skipped). Only the first 64
/// base64 characters are decoded.
pub fn pkcs7_kind(body: &[u8]) -> Pkcs7Kind {
    let start = body.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(body.len());
    let mut rest = &body[start..];
    if rest.first() == Some(&0x30) {
        return content_info_kind(rest);
    }
    if rest.starts_with(b"-----BEGIN") {
        rest = match rest.iter().position(|&b| b == b'\n') {
            Some(nl) => &rest[nl + 1..],
            None => return Pkcs7Kind::Unreadable,
        };
    }
    let mut prefix = B64Prefix::new();
    if prefix.feed(rest) {
        prefix.ended = true; // input exhausted
    }
    let mut der = [0u8; B64_PREFIX_BYTES];
    let n = prefix.decode(&mut der);
    content_info_kind(&der[..n])
}

/// The content of an opaque S/MIME signed-data blob (DER or BER, already
/// base64-decoded): the MIME entity that was signed, so it can be scanned.
/// `None` when the blob is not signed-data or carries no content (detached).
///
/// ContentInfo { OID signedData, [0] SignedData { version, digestAlgorithms,
/// encapContentInfo { OID, [0] OCTET STRING } … } }. BER's indefinite lengths
/// and constructed (chunked) OCTET STRINGs, which streaming signers write, are
/// both read.
pub fn pkcs7_signed_content(ber: &[u8]) -> Option<Vec<u8>> {
    let (content_info, _) = ber_element(ber, 0x30)?;
    let (oid, rest) = ber_element(content_info, 0x06)?;
    if oid != OID_SIGNED {
        return None;
    }
    let (explicit, _) = ber_element(rest, 0xA0)?;
    let (signed_data, _) = ber_element(explicit, 0x30)?;
    let (_version, rest) = ber_element(signed_data, 0x02)?;
    let (_digests, rest) = ber_element(rest, 0x31)?;
    let (encap, _) = ber_element(rest, 0x30)?;
    let (_type, rest) = ber_element(encap, 0x06)?;
    let (content, _) = ber_element(rest, 0xA0)?;
    let mut out = Vec::new();
    octet_string(content, &mut out, 0)?;
    Some(out)
}

/// Append the bytes of a (possibly constructed) OCTET STRING at the start of `input`.
fn octet_string(input: &[u8], out: &mut Vec<u8>, depth: usize) -> Option<()> {
    if depth > 8 {
        return None;
    }
    match input.first()? {
        0x04 => out.extend_from_slice(ber_element(input, 0x04)?.0),
        0x24 => {
            let (mut chunks, _) = ber_element(input, 0x24)?;
            while !chunks.is_empty() && !chunks.starts_with(&[0, 0]) {
                let (_, rest) = ber_split(chunks)?;
                octet_string(chunks, out, depth + 1)?;
                chunks = rest;
            }
        }
        _ => return None,
    }
    Some(())
}

/// The contents of the element at the start of `input` if its tag is `tag`, and what follows it.
fn ber_element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    if *input.first()? != tag {
        return None;
    }
    let (contents, rest) = ber_split(input)?;
    Some((contents, rest))
}

/// Split one element (tag, length, contents) off `input`: (contents, rest).
/// An indefinite length runs to the matching end-of-contents octets.
fn ber_split(input: &[u8]) -> Option<(&[u8], &[u8])> {
    let length_byte = *input.get(1)?;
    let body = input.get(2..)?;
    if length_byte == 0x80 {
        let len = indefinite_length(body, 0)?;
        return Some((&body[..len], body.get(len + 2..)?));
    }
    let (len, header) = if length_byte & 0x80 == 0 {
        (length_byte as usize, 0)
    } else {
        let count = (length_byte & 0x7F) as usize;
        if count == 0 || count > 4 {
            return None;
        }
        let bytes = body.get(..count)?;
        (bytes.iter().fold(0usize, |acc, &b| (acc << 8) | b as usize), count)
    };
    let contents = body.get(header..header + len)?;
    Some((contents, &body[header + len..]))
}

/// The length of indefinite-length contents: elements up to the `00 00` that closes them.
fn indefinite_length(body: &[u8], depth: usize) -> Option<usize> {
    if depth > 16 {
        return None;
    }
    let mut at = 0;
    loop {
        let rest = body.get(at..)?;
        if rest.starts_with(&[0, 0]) {
            return Some(at);
        }
        let length_byte = *rest.get(1)?;
        if length_byte == 0x80 {
            let inner = indefinite_length(rest.get(2..)?, depth + 1)?;
            at += 2 + inner + 2;
        } else {
            let (_, after) = ber_split(rest)?;
            at += rest.len() - after.len();
        }
    }
}

/// What an attachment's own bytes say about encryption (ATTACHMENTS.md's
/// markers). Only the container's headers are read, never its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachmentProtection {
    /// Encrypted: a password is needed to read it.
    Protected(&'static str),
    /// An archive with some entries encrypted and some not.
    PartlyProtected(&'static str),
    /// A container of a known kind with nothing encrypted.
    NotProtected,
    /// Not a format these markers cover.
    Unknown,
}

impl AttachmentProtection {
    pub fn any_protected(self) -> bool {
        matches!(
            self,
            AttachmentProtection::Protected(_) | AttachmentProtection::PartlyProtected(_)
        )
    }
}

/// Protection markers of ZIP (per entry: flag bit 0, AES method 99), 7z
/// (encrypted headers), RAR4/RAR5 and encrypted OOXML (a CFB container with
/// an `EncryptedPackage` stream).
pub fn attachment_protection(bytes: &[u8]) -> AttachmentProtection {
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        return zip_protection(bytes);
    }
    if bytes.starts_with(&[0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C]) {
        // With encrypted headers the AES coder id is visible in the clear.
        return if contains(bytes, &[0x06, 0xF1, 0x07, 0x01]) {
            AttachmentProtection::Protected("password-protected 7z archive")
        } else {
            AttachmentProtection::Unknown
        };
    }
    if bytes.starts_with(b"Rar!\x1A\x07\x01\x00") {
        return rar5_protection(bytes);
    }
    if bytes.starts_with(b"Rar!\x1A\x07\x00") {
        return rar4_protection(bytes);
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        let name: Vec<u8> = "EncryptedPackage".encode_utf16().flat_map(u16::to_le_bytes).collect();
        return if contains(bytes, &name) {
            AttachmentProtection::Protected("password-protected Office document")
        } else {
            AttachmentProtection::Unknown
        };
    }
    AttachmentProtection::Unknown
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn u16_at(bytes: &[u8], at: usize) -> Option<usize> {
    bytes.get(at..at + 2).map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
}

fn u32_at(bytes: &[u8], at: usize) -> Option<usize> {
    bytes
        .get(at..at + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
}

/// Count encrypted entries from the central directory (or, without one,
/// the local headers); directories do not count.
fn zip_protection(bytes: &[u8]) -> AttachmentProtection {
    let (mut total, mut encrypted) = (0usize, 0usize);
    let mut tally = |flags: usize, name_ends_slash: bool| {
        if !name_ends_slash {
            total += 1;
            encrypted += usize::from(flags & 1 == 1);
        }
    };
    let tail_start = bytes.len().saturating_sub(65_557);
    let eocd = bytes[tail_start..]
        .windows(4)
        .rposition(|w| w == b"PK\x05\x06")
        .map(|i| tail_start + i);
    let central = eocd.and_then(|at| Some((u32_at(bytes, at + 16)?, u16_at(bytes, at + 10)?)));
    match central {
        Some((mut at, entries)) if bytes.get(at..at + 4) == Some(b"PK\x01\x02") => {
            for _ in 0..entries.min(100_000) {
                if bytes.get(at..at + 4) != Some(b"PK\x01\x02") {
                    break;
                }
                let (Some(flags), Some(name_len), Some(extra_len), Some(comment_len)) = (
                    u16_at(bytes, at + 8),
                    u16_at(bytes, at + 28),
                    u16_at(bytes, at + 30),
                    u16_at(bytes, at + 32),
                ) else {
                    break;
                };
                let name = bytes.get(at + 46..at + 46 + name_len).unwrap_or_default();
                tally(flags, name.ends_with(b"/"));
                at += 46 + name_len + extra_len + comment_len;
            }
        }
        _ => {
            let mut at = 0;
            for _ in 0..100_000 {
                if bytes.get(at..at + 4) != Some(b"PK\x03\x04") {
                    break;
                }
                let (Some(flags), Some(size), Some(name_len), Some(extra_len)) = (
                    u16_at(bytes, at + 6),
                    u32_at(bytes, at + 18),
                    u16_at(bytes, at + 26),
                    u16_at(bytes, at + 28),
                ) else {
                    break;
                };
                let name = bytes.get(at + 30..at + 30 + name_len).unwrap_or_default();
                tally(flags, name.ends_with(b"/"));
                // A streamed entry (flag bit 3) does not say its size here: stop.
                if flags & 0x08 != 0 {
                    break;
                }
                at += 30 + name_len + extra_len + size;
            }
        }
    }
    match (encrypted, total) {
        (0, _) => AttachmentProtection::NotProtected,
        (e, t) if e == t => AttachmentProtection::Protected("password-protected ZIP archive"),
        _ => AttachmentProtection::PartlyProtected("ZIP archive with some entries password-protected"),
    }
}

/// RAR5: header type 4 right after the signature is the archive encryption header.
fn rar5_protection(bytes: &[u8]) -> AttachmentProtection {
    // CRC32 (4 bytes), then header size and header type as vints.
    let mut at = 8 + 4;
    let mut read_vint = || {
        let mut value = 0usize;
        for shift in 0..4 {
            let b = *bytes.get(at)?;
            at += 1;
            value |= usize::from(b & 0x7F) << (7 * shift);
            if b & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    };
    let _size = read_vint();
    match read_vint() {
        Some(4) => AttachmentProtection::Protected("password-protected RAR archive"),
        Some(_) => AttachmentProtection::NotProtected,
        None => AttachmentProtection::Unknown,
    }
}

/// RAR4: the main header's flag 0x0080 (encrypted headers), or the first file header's flag 0x0004.
fn rar4_protection(bytes: &[u8]) -> AttachmentProtection {
    let main = 7;
    let (Some(&kind), Some(flags), Some(size)) =
        (bytes.get(main + 2), u16_at(bytes, main + 3), u16_at(bytes, main + 5))
    else {
        return AttachmentProtection::Unknown;
    };
    if kind != 0x73 {
        return AttachmentProtection::Unknown;
    }
    if flags & 0x0080 != 0 {
        return AttachmentProtection::Protected("password-protected RAR archive");
    }
    let file = main + size;
    match (bytes.get(file + 2), u16_at(bytes, file + 3)) {
        (Some(0x74), Some(flags)) if flags & 0x0004 != 0 => {
            AttachmentProtection::Protected("password-protected RAR archive")
        }
        (Some(_), Some(_)) => AttachmentProtection::NotProtected,
        _ => AttachmentProtection::Unknown,
    }
}

/// The `smime-type` parameter: `enveloped-data` / `authEnveloped-data` →
/// `Some(true)`; `signed-data` / `certs-only` → `Some(false)`; anything else
/// (`compressed-data`, unknown, empty) → `None` (fall back to [`pkcs7_kind`]).
/// Case-insensitive; surrounding whitespace and quotes are ignored.
pub fn smime_type_is_encrypted(smime_type: &str) -> Option<bool> {
    let t = smime_type.trim().trim_matches('"').trim();
    if t.eq_ignore_ascii_case("enveloped-data") || t.eq_ignore_ascii_case("authEnveloped-data") {
        Some(true)
    } else if t.eq_ignore_ascii_case("signed-data") || t.eq_ignore_ascii_case("certs-only") {
        Some(false)
    } else {
        None
    }
}

// ---------------------------------------------------------------------------
// OpenPGP
// ---------------------------------------------------------------------------

const PGP_BEGIN: &str = "-----BEGIN PGP MESSAGE-----";
const PGP_END: &str = "-----END PGP MESSAGE-----";

/// What the first packet of an armoured `PGP MESSAGE` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PgpArmor {
    /// Session-key packet (tag 1 public-key, 3 symmetric) or encrypted data
    /// (9 SED, 18 SEIPD, 20 AEAD).
    Encrypted,
    /// Signed or plain: compressed (8), one-pass signature (4), literal (11),
    /// signature (2). The content can be recovered without a key.
    NotEncrypted,
    /// No decodable packet, or a tag that does not start a message.
    Unreadable,
}

/// An armour header line: `Key: value` with a token-like key.
fn is_armor_header(line: &str) -> bool {
    match line.split_once(':') {
        Some((key, _)) => !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'),
        None => false,
    }
}

/// Tag of the first OpenPGP packet, skipping Marker packets (tag 10).
fn first_packet_tag(bytes: &[u8]) -> Option<u8> {
    let mut i = 0usize;
    // A marker is followed by the real first packet; never loop long.
    for _ in 0..4 {
        let b = *bytes.get(i)?;
        if b & 0x80 == 0 {
            return None;
        }
        let (tag, header_and_body) = if b & 0x40 != 0 {
            let tag = b & 0x3F;
            let len = match *bytes.get(i + 1)? {
                o @ 0..=191 => Some(2 + usize::from(o)),
                o @ 192..=223 => {
                    let o2 = *bytes.get(i + 2)?;
                    Some(3 + (usize::from(o - 192) << 8) + usize::from(o2) + 192)
                }
                _ => None, // partial or 4-octet lengths: never on a marker
            };
            (tag, len)
        } else {
            let tag = (b >> 2) & 0x0F;
            let len = match b & 0x03 {
                0 => bytes.get(i + 1).map(|&l| 2 + usize::from(l)),
                1 => {
                    let hi = *bytes.get(i + 1)?;
                    let lo = *bytes.get(i + 2)?;
                    Some(3 + (usize::from(hi) << 8 | usize::from(lo)))
                }
                _ => None,
            };
            (tag, len)
        };
        if tag != 10 {
            return Some(tag);
        }
        i += header_and_body?;
    }
    None
}

/// Classify the first inline `-----BEGIN PGP MESSAGE-----` block in `text`.
/// `None` when there is none (a `BEGIN PGP SIGNED MESSAGE` clear-signed text
/// is readable and is not a PGP MESSAGE). Armour headers (`Key: value` up to
/// the first blank line) are skipped; a `> ` quote prefix on the BEGIN line is
/// stripped from the following lines too. Only the first 64 base64
/// characters are decoded.
pub fn pgp_message_kind(text: &str) -> Option<PgpArmor> {
    let at = text.find(PGP_BEGIN)?;
    let line_start = text[..at].rfind('\n').map_or(0, |p| p + 1);
    let quote = &text[line_start..at];
    let quote = if quote.bytes().all(|b| b == b'>' || b == b' ' || b == b'\t') {
        quote
    } else {
        ""
    };
    let after = &text[at + PGP_BEGIN.len()..];
    let mut lines = after
        .split('\n')
        .skip(1) // rest of the BEGIN line
        .map(|l| {
            let l = l.strip_suffix('\r').unwrap_or(l);
            let l = l.strip_prefix(quote).unwrap_or(l);
            l.trim()
        });

    let mut prefix = B64Prefix::new();
    let mut in_headers = true;
    for line in lines.by_ref() {
        if in_headers {
            if line.is_empty() {
                in_headers = false;
                continue;
            }
            if is_armor_header(line) {
                continue;
            }
            // No blank line after the headers (lenient): this is data.
            in_headers = false;
        }
        if line.starts_with('=') || line.starts_with("-----") {
            prefix.ended = true; // checksum or END line
            break;
        }
        if !prefix.feed(line.as_bytes()) {
            break;
        }
    }
    if !prefix.full() {
        prefix.ended = true;
    }
    let mut packets = [0u8; B64_PREFIX_BYTES];
    let n = prefix.decode(&mut packets);
    let kind = match first_packet_tag(&packets[..n]) {
        Some(1 | 3 | 9 | 18 | 20) => PgpArmor::Encrypted,
        Some(2 | 4 | 8 | 11) => PgpArmor::NotEncrypted,
        _ => PgpArmor::Unreadable,
    };
    Some(kind)
}

/// True when `text`, ignoring leading and trailing whitespace, is exactly one
/// armoured PGP MESSAGE block (SPEC: "an inline PGP message block as the whole
/// body"). Shape only: combine with [`pgp_message_kind`] returning
/// `Some(PgpArmor::Encrypted)` before calling the message encrypted.
pub fn pgp_inline_is_whole_body(text: &str) -> bool {
    let t = text.trim();
    t.starts_with(PGP_BEGIN)
        && t.ends_with(PGP_END)
        && t.len() >= PGP_BEGIN.len() + PGP_END.len()
        && t.matches(PGP_BEGIN).count() == 1
        && t.find(PGP_END) == Some(t.len() - PGP_END.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    // ---- S/MIME, made with OpenSSL 3.0 and a throwaway self-signed cert:
    //   openssl req -x509 -newkey rsa:1024 -nodes -subj /CN=test ...
    //   openssl cms -encrypt -aes-128-cbc -in msg.txt c.pem

    /// `openssl cms -encrypt -aes-128-cbc` (complete body, smime-type=enveloped-data).
    const SMIME_ENVELOPED: &str = "\
MIIBOAYJKoZIhvcNAQcDoIIBKTCCASUCAQAxgcEwgb4CAQAwJzAPMQ0wCwYDVQQD
DAR0ZXN0AhQaYQQCENR9+s4PAmXSfxfKSsfAJDANBgkqhkiG9w0BAQEFAASBgDap
PCNNj0T1kNpNJuiFzE0ftm565h7YgEPhQ1lfOnOjdOh+O3Fy+GLkjVU5VxS1C2FD
GXE8IqMnvZy0uTfJEHm0yp8vjpRgHNutUyofWnquhBU1V4K6MAVff3FZWqORR6Zu
N4N3SdFc/z7qR6meUr27/bVZEtR+K3PjlGhbi+djMFwGCSqGSIb3DQEHATAdBglg
hkgBZQMEAQIEEB9UfAW2y3g+BDwDS0Aat9qAMAc+XMSutDFzna/kzpcCvF2TNrXM
ZBvqSsmQLZMoYOEN4w1mB+aXZQutswZsipIwKg==
";

    /// `openssl cms -encrypt -aes-256-gcm` (first lines; smime-type=authEnveloped-data).
    const SMIME_AUTH_ENVELOPED: &str = "\
MIIBTAYLKoZIhvcNAQkQARegggE7MIIBNwIBADGBwTCBvgIBADAnMA8xDTALBgNV\r
BAMMBHRlc3QCFBphBAIQ1H36zg8CZdJ/F8pKx8AkMA0GCSqGSIb3DQEBAQUABIGA\r
c5IWtnj49wdc5dGKlh8/Qrum6Pm322b1vfSwU5pk9lHFueb5agtcjWg7IcQlGRa1\r
";

    /// `openssl smime -sign -nodetach` (first lines; smime-type=signed-data).
    const SMIME_SIGNED: &str = "\
MIIEJQYJKoZIhvcNAQcCoIIEFjCCBBICAQExDzANBglghkgBZQMEAgEFADA+Bgkq
hkiG9w0BBwGgMQQvQ29udGVudC1UeXBlOiB0ZXh0L3BsYWluDQoNClVQTiBCODAx
MjAwMDA1MDAxDQqgggH+MIIB+jCCAWOgAwIBAgIUGmEEAhDUffrODwJl0n8XykrH
";

    /// `openssl cms -encrypt -stream -outform DER` (BER, indefinite lengths), base64.
    const SMIME_ENVELOPED_INDEFINITE: &str = "\
MIAGCSqGSIb3DQEHA6CAMIACAQAxgcEwgb4CAQAwJzAPMQ0wCwYDVQQDDAR0ZXN0
AhQaYQQCENR9+s4PAmXSfxfKSsfAJDANBgkqhkiG9w0BAQEFAASBgFVKylEO0IbG
cnVYgBlVU36HeLjGs8sN8a3h5p8LnfuFb+9d80KGxM/zSjoGNxcsuT0wsvIeVlcW
";

    /// `openssl cms -sign -stream -nodetach -outform DER`, base64.
    const SMIME_SIGNED_INDEFINITE: &str = "\
MIAGCSqGSIb3DQEHAqCAMIACAQExDTALBglghkgBZQMEAgEwgAYJKoZIhvcNAQcB
oIAkgAQvQ29udGVudC1UeXBlOiB0ZXh0L3BsYWluDQoNClVQTiBCODAxMjAwMDA1
";

    /// `openssl cms -data_create` (id-data ContentInfo, complete).
    const SMIME_DATA: &str = "\
MD4GCSqGSIb3DQEHAaAxBC9Db250ZW50LVR5cGU6IHRleHQvcGxhaW4NCg0KVVBO
IEI4MDEyMDAwMDUwMDENCg==
";

    fn der(b64_text: &str) -> Vec<u8> {
        let compact: String = b64_text.split_whitespace().collect();
        match B64.decode(compact) {
            Ok(v) => v,
            Err(e) => panic!("test vector does not decode: {e}"),
        }
    }

    #[test]
    fn pkcs7_base64_bodies() {
        let cases: &[(&str, &str, Pkcs7Kind)] = &[
            ("enveloped", SMIME_ENVELOPED, Pkcs7Kind::Enveloped),
            (
                "authEnveloped (AES-GCM), CRLF",
                SMIME_AUTH_ENVELOPED,
                Pkcs7Kind::AuthEnveloped,
            ),
            ("signed", SMIME_SIGNED, Pkcs7Kind::Signed),
            (
                "enveloped, indefinite length",
                SMIME_ENVELOPED_INDEFINITE,
                Pkcs7Kind::Enveloped,
            ),
            ("signed, indefinite length", SMIME_SIGNED_INDEFINITE, Pkcs7Kind::Signed),
            ("id-data", SMIME_DATA, Pkcs7Kind::Other),
            ("empty", "", Pkcs7Kind::Unreadable),
            ("plain text", "Dear parents, ...", Pkcs7Kind::Unreadable),
            ("too short", "MIIB", Pkcs7Kind::Unreadable),
            ("cut before OID ends", "MIIBOAYJKoZIhvcN", Pkcs7Kind::Unreadable),
        ];
        for (name, body, want) in cases {
            assert_eq!(pkcs7_kind(body.as_bytes()), *want, "{name}");
        }
    }

    #[test]
    fn pkcs7_first_line_is_enough() {
        for (name, body, want) in [
            ("enveloped", SMIME_ENVELOPED, Pkcs7Kind::Enveloped),
            ("auth", SMIME_AUTH_ENVELOPED, Pkcs7Kind::AuthEnveloped),
            ("signed", SMIME_SIGNED, Pkcs7Kind::Signed),
        ] {
            let first = body.lines().next().unwrap_or_default();
            assert_eq!(pkcs7_kind(first.as_bytes()), want, "{name}");
        }
    }

    #[test]
    fn pkcs7_raw_der_and_framing() {
        let env = der(SMIME_ENVELOPED);
        assert_eq!(env[..4], [0x30, 0x82, 0x01, 0x38], "long-form header");
        assert_eq!(pkcs7_kind(&env), Pkcs7Kind::Enveloped, "raw DER");
        assert_eq!(
            pkcs7_kind(&der(SMIME_SIGNED_INDEFINITE)),
            Pkcs7Kind::Signed,
            "raw BER indefinite"
        );
        assert_eq!(pkcs7_kind(&der(SMIME_DATA)), Pkcs7Kind::Other, "raw id-data");
        let indented = format!("\r\n\r\n  {SMIME_ENVELOPED}");
        assert_eq!(pkcs7_kind(indented.as_bytes()), Pkcs7Kind::Enveloped);
        let pem = format!("-----BEGIN PKCS7-----\n{SMIME_SIGNED}-----END PKCS7-----\n");
        assert_eq!(pkcs7_kind(pem.as_bytes()), Pkcs7Kind::Signed, "PEM");
        // Short-form length, hand-made.
        let short = [
            0x30, 0x0D, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x03,
        ];
        assert_eq!(pkcs7_kind(&short), Pkcs7Kind::Enveloped, "short form");
        // Hostile: length-of-length too big, OID length past the end, not a SEQUENCE.
        assert_eq!(pkcs7_kind(&[0x30, 0x89, 1, 2, 3]), Pkcs7Kind::Unreadable);
        assert_eq!(pkcs7_kind(&[0x30, 0x05, 0x06, 0x7F, 0x2A]), Pkcs7Kind::Unreadable);
        assert_eq!(pkcs7_kind(&[0x31, 0x05, 0x06, 0x01, 0x2A]), Pkcs7Kind::Unreadable);
        assert!(Pkcs7Kind::AuthEnveloped.is_encrypted());
        assert!(!Pkcs7Kind::Signed.is_encrypted());
    }

    #[test]
    fn smime_type_param() {
        let cases: &[(&str, &str, Option<bool>)] = &[
            ("enveloped", "enveloped-data", Some(true)),
            ("auth, as OpenSSL writes it", "authEnveloped-data", Some(true)),
            ("upper case", "ENVELOPED-DATA", Some(true)),
            ("quoted", "\"enveloped-data\"", Some(true)),
            ("signed", "signed-data", Some(false)),
            ("certs-only", "certs-only", Some(false)),
            ("compressed", "compressed-data", None),
            ("empty", "", None),
            ("nonsense", "enveloped", None),
        ];
        for (name, v, want) in cases {
            assert_eq!(smime_type_is_encrypted(v), *want, "{name}");
        }
    }

    // ---- OpenPGP, made with GnuPG 2.2.40 in a temporary GNUPGHOME.

    /// `gpg --symmetric --armor` (passphrase): SKESK, tag 3 (ctb 0x8C).
    const PGP_SYMMETRIC: &str = "\
-----BEGIN PGP MESSAGE-----

jA0ECQMCcij4XtaakLT/0koBX0gmSp3Y5E1MhZecR3wnbq1eGq3zxexyASN9qV4j
KilgBKMD/BECrhtKWtIBVEex74GvbfrGOVcWK6tBs4UFqxxKzUl76oDvlQ==
=Cq8m
-----END PGP MESSAGE-----
";

    /// `gpg --encrypt --armor -r` (cv25519 key): PKESK, tag 1 (ctb 0x84).
    const PGP_PUBKEY: &str = "\
-----BEGIN PGP MESSAGE-----

hF4Dkf3L0yxz/SoSAQdASGS1eYi8gUIVd+EOxye4rgtcwRnVq+OxFyFBMJ5ePQMw
1xQFefBiepjPVtomiMCrW+d8klkflLPgZf1TxLigKqU2FO1ZgCA+OYduDFiUTwd6
0lABTCXJWtEJ3s8dtVsyI+ODz+Opl3INqK4EmAVmY+g4EbmX0l48ZGHWRo5c3QGD
c0HSJittQW6AM5JrDZZT4S8yvhuZbdOOccqSc4HtDpiSnw==
=sGbc
-----END PGP MESSAGE-----
";

    /// `gpg --sign --encrypt --armor --comment ...`: an armour header, then tag 1.
    const PGP_SIGN_ENCRYPT_COMMENT: &str = "\
-----BEGIN PGP MESSAGE-----
Comment: schoolgate test

hF4Dkf3L0yxz/SoSAQdAtxM6XqjU6DJ1+hSrcGu0irGjmnKYYaOtHUWtRAXA9V4w
8zz1Aed3tJzJfnumrSGhF1M0Bnrei26lhXHWHL3sPXcQL/xJvXeQuV3Co4vBXvin
";

    /// `gpg --sign --armor`: compressed data, tag 8 (ctb 0xA3).
    const PGP_SIGNED_COMPRESSED: &str = "\
-----BEGIN PGP MESSAGE-----

owGbwMvMwCF2cOn2M3cD2jcwrpFNYi3QK6koyWZhkw8N8FNwsjAwNDIAAlMDA0Ou
jlIWBjEOBlkxRZZAr/3lVzaZ9eTYXz8I087KBNLGwMUpABNp6GH4K1h+4MHL0pAw
zo/qXp5Hrxj23lspzbCg8Tdb7xoxj4SXTxj+h1gwHBRbwvj+4xXHz685Gr5IilmY
8rVIz/iX2MsQtO8JIwA=
=kbGN
-----END PGP MESSAGE-----
";

    /// `gpg --sign --armor --compress-algo none`: one-pass signature, tag 4 (ctb 0x90).
    const PGP_SIGNED_ONE_PASS: &str = "\
-----BEGIN PGP MESSAGE-----

kA0DAAgWwaW3zN1Qh7ABrB1iBXAudHh0awQGH1VQTiBCODAxMjAwMDA1MDAxCoh1
BAAWCAAdFiEEUUq/d9SyNoxsP9fBwaW3zN1Qh7AFAmsEBh8ACgkQwaW3zN1Qh7CA
jAD9EXfA4Ol1VFYJ8SdKScXUMY3eqRsAoIH7Bo2sFkhg6eQA/1Q4AMEWpAHv8dRB
8+sIgPQZFjg1DoQbmP5hjQBSvuQB
=ZLub
-----END PGP MESSAGE-----
";

    /// `gpg --store --armor --compress-algo none --comment ...`: literal, tag 11.
    const PGP_LITERAL: &str = "\
-----BEGIN PGP MESSAGE-----
Comment: Made for tests

rB1iBXAudHh0awQGK1VQTiBCODAxMjAwMDA1MDAxCg==
=Ou6M
-----END PGP MESSAGE-----
";

    /// `gpg --clearsign`: readable text, not a PGP MESSAGE.
    const PGP_CLEARSIGNED: &str = "\
-----BEGIN PGP SIGNED MESSAGE-----
Hash: SHA256

UPN B801200005001
-----BEGIN PGP SIGNATURE-----

iHUEARYIAB0WIQRRSr931LI2jGw/18HBpbfM3VCHsAUCawQGHwAKCRDBpbfM3VCH
sM6XAP9VXmsZ6GBtLE37MfHBsljCkxLJEIEnYaZe5vwbpDtbyAEA0WM6INxsBq4c
SU+tO8ErdE9NdliR/IC4K+GTD9dYyw0=
=ZO9l
-----END PGP SIGNATURE-----
";

    fn armour(body_b64: &str) -> String {
        format!("{PGP_BEGIN}\n\n{body_b64}\n{PGP_END}\n")
    }

    #[test]
    fn pgp_kinds() {
        let quoted: String = PGP_SYMMETRIC.lines().map(|l| format!("> {l}\n")).collect();
        let crlf = PGP_PUBKEY.replace('\n', "\r\n");
        let in_text = format!("Hi,\nhere it is:\n\n{PGP_SIGNED_COMPRESSED}\nThanks\n");
        let no_blank = PGP_SYMMETRIC.replacen("\n\n", "\n", 1);
        // Hand-made headers for packet forms gpg 2.2 does not emit first.
        let new_format_pkesk = armour(&B64.encode([0xC1, 0x03, 0x03, 0x00, 0x00]));
        let new_format_seipd = armour(&B64.encode([0xD2, 0x05, 0x01, 0x00]));
        let marker_then_skesk = armour(&B64.encode([0xA8, 0x03, b'P', b'G', b'P', 0x8C, 0x0D]));
        let new_marker_then_literal = armour(&B64.encode([0xCA, 0x03, b'P', b'G', b'P', 0xCB, 0x01, 0x62]));
        let signature_only = armour(&B64.encode([0x88, 0x75, 0x04]));
        let public_key = armour(&B64.encode([0x99, 0x01, 0x0D, 0x04]));
        let not_a_packet = armour(&B64.encode([0x12, 0x34, 0x56]));

        let cases: &[(&str, &str, Option<PgpArmor>)] = &[
            ("symmetric, tag 3", PGP_SYMMETRIC, Some(PgpArmor::Encrypted)),
            ("public key, tag 1", PGP_PUBKEY, Some(PgpArmor::Encrypted)),
            (
                "armour header skipped",
                PGP_SIGN_ENCRYPT_COMMENT,
                Some(PgpArmor::Encrypted),
            ),
            ("quoted reply", &quoted, Some(PgpArmor::Encrypted)),
            ("CRLF line ends", &crlf, Some(PgpArmor::Encrypted)),
            ("no blank line after BEGIN", &no_blank, Some(PgpArmor::Encrypted)),
            (
                "signed, compressed tag 8",
                PGP_SIGNED_COMPRESSED,
                Some(PgpArmor::NotEncrypted),
            ),
            ("inside other text", &in_text, Some(PgpArmor::NotEncrypted)),
            (
                "signed, one-pass tag 4",
                PGP_SIGNED_ONE_PASS,
                Some(PgpArmor::NotEncrypted),
            ),
            ("literal, tag 11", PGP_LITERAL, Some(PgpArmor::NotEncrypted)),
            ("new-format tag 1", &new_format_pkesk, Some(PgpArmor::Encrypted)),
            ("SEIPD alone, tag 18", &new_format_seipd, Some(PgpArmor::Encrypted)),
            ("marker then tag 3", &marker_then_skesk, Some(PgpArmor::Encrypted)),
            (
                "new marker then literal",
                &new_marker_then_literal,
                Some(PgpArmor::NotEncrypted),
            ),
            ("signature tag 2", &signature_only, Some(PgpArmor::NotEncrypted)),
            ("public key tag 6", &public_key, Some(PgpArmor::Unreadable)),
            ("high bit clear", &not_a_packet, Some(PgpArmor::Unreadable)),
            ("empty armour", &armour(""), Some(PgpArmor::Unreadable)),
            ("garbage body", &armour("!!!!"), Some(PgpArmor::Unreadable)),
            ("BEGIN line at end of text", PGP_BEGIN, Some(PgpArmor::Unreadable)),
            ("clear-signed text", PGP_CLEARSIGNED, None),
            ("no armour", "Dear parents, ...", None),
        ];
        for (name, text, want) in cases {
            assert_eq!(pgp_message_kind(text), *want, "{name}");
        }
    }

    #[test]
    fn truncated_and_hostile_input_never_panics() {
        let vectors = [
            SMIME_ENVELOPED,
            SMIME_AUTH_ENVELOPED,
            SMIME_SIGNED,
            SMIME_ENVELOPED_INDEFINITE,
            PGP_SYMMETRIC,
            PGP_PUBKEY,
            PGP_SIGN_ENCRYPT_COMMENT,
            PGP_LITERAL,
            PGP_CLEARSIGNED,
        ];
        for v in vectors {
            for end in 0..=v.len() {
                let cut = &v[..end];
                let _ = pkcs7_kind(cut.as_bytes());
                let _ = pgp_message_kind(cut);
                let _ = pgp_inline_is_whole_body(cut);
            }
        }
        let raw = der(SMIME_ENVELOPED);
        for end in 0..=raw.len() {
            let _ = pkcs7_kind(&raw[..end]);
        }
        for b0 in 0..=255u8 {
            for b1 in [0x00, 0x7F, 0x80, 0x81, 0x84, 0x85, 0xC0, 0xDF, 0xE0, 0xFF] {
                let _ = pkcs7_kind(&[b0, b1, 0x06, 0xFF]);
                let _ = pgp_message_kind(&armour(&B64.encode([b0, b1, 0x03])));
            }
        }
    }

    #[test]
    fn pgp_whole_body() {
        let two = format!("{PGP_SYMMETRIC}\n{PGP_PUBKEY}");
        let padded = format!("\r\n\r\n  {PGP_PUBKEY}\r\n\r\n");
        let cases: &[(&str, &str, bool)] = &[
            ("exactly one block", PGP_SYMMETRIC, true),
            ("surrounding whitespace", &padded, true),
            ("header comment", PGP_LITERAL, true),
            ("text before", &format!("Hi\n{PGP_SYMMETRIC}"), false),
            ("text after", &format!("{PGP_SYMMETRIC}\n-- \nMrs Smith"), false),
            ("two blocks", &two, false),
            ("clear-signed", PGP_CLEARSIGNED, false),
            ("no END", PGP_SIGN_ENCRYPT_COMMENT, false),
            ("BEGIN only", PGP_BEGIN, false),
            ("empty", "", false),
        ];
        for (name, text, want) in cases {
            assert_eq!(pgp_inline_is_whole_body(text), *want, "{name}");
        }
    }

    /// Opaque signed-data made with `openssl smime -sign -nodetach` (DER) and
    /// `openssl cms -sign -nodetach -stream` (BER, indefinite lengths, chunked content).
    const OPAQUE_SIGNED_DER: &str = "\
MIIEJQYJKoZIhvcNAQcCoIIEFjCCBBICAQExDzANBglghkgBZQMEAgEFADA+BgkqhkiG9w0BBwGg\
MQQvQ29udGVudC1UeXBlOiB0ZXh0L3BsYWluDQoNClVQTiBCODAxMjAwMDA1MDAxDQqgggH+MIIB\
+jCCAWOgAwIBAgIUHRx7UiwPUVM8QbFXBkOW6CicR1swDQYJKoZIhvcNAQELBQAwDzENMAsGA1UE\
AwwEdGVzdDAeFw0yNjExMjMwOTU0MTZaFw0zNjExMjAwOTU0MTZaMA8xDTALBgNVBAMMBHRlc3Qw\
gZ8wDQYJKoZIhvcNAQEBBQADgY0AMIGJAoGBAMctkXPuM92w7uXIzzaMKxgdYwqC+0RIP1YD+ATt\
YOLFngaJzPnN0b8V1zI4wXIBB1/l5X631uoFSi+5LVuxjOe82SoVIH2UWl6EDMH1xvYHAPUwbj4F\
um/BVUSJCi50mQgfkJhzfA/bPdNWTqO/Qrbet8LoXu+O4eu1vm71jJnjAgMBAAGjUzBRMB0GA1Ud\
DgQWBBTzHujxeMqe7XC2QO8GVZo7We8tijAfBgNVHSMEGDAWgBTzHujxeMqe7XC2QO8GVZo7We8t\
ijAPBgNVHRMBAf8EBTADAQH/MA0GCSqGSIb3DQEBCwUAA4GBACSqOJSPIkfPw/3ey4MurPeUx/TZ\
vmoLZwDbH3JibknltwACDDtt6JBS4xeCX/udGEcgu6demkSKzLDx/u6TDzUVXpAG5tCUsSP/NEta\
F5hryE1SwhicTdqkruC72NoaEHQ3r/SnbesqFqske7QmcZ4spzeMP7FW8CaK/ZkdRvQJMYIBuDCC\
AbQCAQEwJzAPMQ0wCwYDVQQDDAR0ZXN0AhQdHHtSLA9RUzxBsVcGQ5boKJxHWzANBglghkgBZQME\
AgEFAKCB5DAYBgkqhkiG9w0BCQMxCwYJKoZIhvcNAQcBMBwGCSqGSIb3DQEJBTEPFw0yNjExMjMw\
OTU0MTZaMC8GCSqGSIb3DQEJBDEiBCAwNrIDFl/YElJDCcXh3t8uPucTCszWa6q4fqRED820YzB5\
BgkqhkiG9w0BCQ8xbDBqMAsGCWCGSAFlAwQBKjALBglghkgBZQMEARYwCwYJYIZIAWUDBAECMAoG\
CCqGSIb3DQMHMA4GCCqGSIb3DQMCAgIAgDANBggqhkiG9w0DAgIBQDAHBgUrDgMCBzANBggqhkiG\
9w0DAgIBKDANBgkqhkiG9w0BAQEFAASBgKg5py1EcfUdbHoZoYZJupvMnNXi4wOYBWHzSQujflzt\
bp7nNYlanyu3ai0I+gx8u835ykr7v8l4o6iJdKpGtAc8fSxBTsPoVPQOyp17KDj0zPkTKXa0X4ub\
CrghuNtSVTN2coVOoZD94lb5NQAI6a1/u81S0vx66f3hEGCQSsr8";
    const OPAQUE_SIGNED_BER: &str = "\
MIAGCSqGSIb3DQEHAqCAMIACAQExDTALBglghkgBZQMEAgEwgAYJKoZIhvcNAQcBoIAkgAQvQ29u\
dGVudC1UeXBlOiB0ZXh0L3BsYWluDQoNClVQTiBCODAxMjAwMDA1MDAxDQoAAAAAAACgggH+MIIB\
+jCCAWOgAwIBAgIUHRx7UiwPUVM8QbFXBkOW6CicR1swDQYJKoZIhvcNAQELBQAwDzENMAsGA1UE\
AwwEdGVzdDAeFw0yNjExMjMwOTU0MTZaFw0zNjExMjAwOTU0MTZaMA8xDTALBgNVBAMMBHRlc3Qw\
gZ8wDQYJKoZIhvcNAQEBBQADgY0AMIGJAoGBAMctkXPuM92w7uXIzzaMKxgdYwqC+0RIP1YD+ATt\
YOLFngaJzPnN0b8V1zI4wXIBB1/l5X631uoFSi+5LVuxjOe82SoVIH2UWl6EDMH1xvYHAPUwbj4F\
um/BVUSJCi50mQgfkJhzfA/bPdNWTqO/Qrbet8LoXu+O4eu1vm71jJnjAgMBAAGjUzBRMB0GA1Ud\
DgQWBBTzHujxeMqe7XC2QO8GVZo7We8tijAfBgNVHSMEGDAWgBTzHujxeMqe7XC2QO8GVZo7We8t\
ijAPBgNVHRMBAf8EBTADAQH/MA0GCSqGSIb3DQEBCwUAA4GBACSqOJSPIkfPw/3ey4MurPeUx/TZ\
vmoLZwDbH3JibknltwACDDtt6JBS4xeCX/udGEcgu6demkSKzLDx/u6TDzUVXpAG5tCUsSP/NEta\
F5hryE1SwhicTdqkruC72NoaEHQ3r/SnbesqFqske7QmcZ4spzeMP7FW8CaK/ZkdRvQJMYIBtjCC\
AbICAQEwJzAPMQ0wCwYDVQQDDAR0ZXN0AhQdHHtSLA9RUzxBsVcGQ5boKJxHWzALBglghkgBZQME\
AgGggeQwGAYJKoZIhvcNAQkDMQsGCSqGSIb3DQEHATAcBgkqhkiG9w0BCQUxDxcNMjYxMTIzMDk1\
NDE2WjAvBgkqhkiG9w0BCQQxIgQgMDayAxZf2BJSQwnF4d7fLj7nEwrM1muquH6kRA/NtGMweQYJ\
KoZIhvcNAQkPMWwwajALBglghkgBZQMEASowCwYJYIZIAWUDBAEWMAsGCWCGSAFlAwQBAjAKBggq\
hkiG9w0DBzAOBggqhkiG9w0DAgICAIAwDQYIKoZIhvcNAwICAUAwBwYFKw4DAgcwDQYIKoZIhvcN\
AwICASgwDQYJKoZIhvcNAQEBBQAEgYCoOactRHH1HWx6GaGGSbqbzJzV4uMDmAVh80kLo35c7W6e\
5zWJWp8rt2otCPoMfLvN+cpK+7/JeKOoiXSqRrQHPH0sQU7D6FT0Dsqdeyg49Mz5Eyl2tF+Lmwq4\
IbjbUlUzdnKFTqGQ/eJW+TUACOmtf7vNUtL8eun94RBgkErK/AAAAAAAAA==";

    #[test]
    fn opaque_signed_content_is_read() {
        use base64::Engine as _;
        for (name, b64) in [("der", OPAQUE_SIGNED_DER), ("ber stream", OPAQUE_SIGNED_BER)] {
            let compact: String = b64.chars().filter(|c| !c.is_whitespace()).collect();
            let ber = base64::engine::general_purpose::STANDARD
                .decode(compact)
                .expect("base64");
            let content = pkcs7_signed_content(&ber).expect(name);
            assert_eq!(
                content, b"Content-Type: text/plain\r\n\r\nUPN B801200005001\r\n",
                "{name}"
            );
            // Cut short anywhere: no content, no panic.
            for cut in [0, 1, 2, 10, ber.len() / 2, ber.len() - 1] {
                let _ = pkcs7_signed_content(&ber[..cut]);
            }
        }
    }
}

#[cfg(test)]
mod attachment_tests {
    use super::*;

    /// A stored (uncompressed) ZIP with the given (name, flags, method) entries.
    fn zip(entries: &[(&str, u16, u16)]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for (name, flags, method) in entries {
            let offset = out.len() as u32;
            let data = b"data";
            let mut local = b"PK\x03\x04".to_vec();
            local.extend_from_slice(&20u16.to_le_bytes());
            local.extend_from_slice(&flags.to_le_bytes());
            local.extend_from_slice(&method.to_le_bytes());
            local.extend_from_slice(&[0; 8]); // time, date, crc
            local.extend_from_slice(&(data.len() as u32).to_le_bytes());
            local.extend_from_slice(&(data.len() as u32).to_le_bytes());
            local.extend_from_slice(&(name.len() as u16).to_le_bytes());
            local.extend_from_slice(&0u16.to_le_bytes());
            local.extend_from_slice(name.as_bytes());
            local.extend_from_slice(data);
            out.extend_from_slice(&local);
            let mut entry = b"PK\x01\x02".to_vec();
            entry.extend_from_slice(&20u16.to_le_bytes());
            entry.extend_from_slice(&20u16.to_le_bytes());
            entry.extend_from_slice(&flags.to_le_bytes());
            entry.extend_from_slice(&method.to_le_bytes());
            entry.extend_from_slice(&[0; 8]);
            entry.extend_from_slice(&(data.len() as u32).to_le_bytes());
            entry.extend_from_slice(&(data.len() as u32).to_le_bytes());
            entry.extend_from_slice(&(name.len() as u16).to_le_bytes());
            entry.extend_from_slice(&[0; 12]); // extra, comment, disk, attrs
            entry.extend_from_slice(&offset.to_le_bytes());
            entry.extend_from_slice(name.as_bytes());
            central.extend_from_slice(&entry);
        }
        let cd_offset = out.len() as u32;
        out.extend_from_slice(&central);
        out.extend_from_slice(b"PK\x05\x06");
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&(central.len() as u32).to_le_bytes());
        out.extend_from_slice(&cd_offset.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }

    #[test]
    fn archives_and_office_files_are_told_apart() {
        use AttachmentProtection::*;
        let cases: Vec<(&str, Vec<u8>, AttachmentProtection)> = vec![
            ("plain zip", zip(&[("a.csv", 0, 0), ("b.csv", 0, 8)]), NotProtected),
            (
                "zipcrypto",
                zip(&[("a.csv", 1, 8), ("dir/", 0, 0)]),
                Protected("password-protected ZIP archive"),
            ),
            (
                "aes zip",
                zip(&[("a.csv", 1, 99)]),
                Protected("password-protected ZIP archive"),
            ),
            (
                "mixed zip",
                zip(&[("a.csv", 1, 8), ("b.csv", 0, 8)]),
                PartlyProtected("ZIP archive with some entries password-protected"),
            ),
            (
                "docx is a plain zip",
                zip(&[("[Content_Types].xml", 0, 8), ("word/document.xml", 8, 8)]),
                NotProtected,
            ),
            (
                "rar5 encrypted headers",
                b"Rar!\x1A\x07\x01\x00\x00\x00\x00\x00\x0C\x04".to_vec(),
                Protected("password-protected RAR archive"),
            ),
            (
                "rar5 plain",
                b"Rar!\x1A\x07\x01\x00\x00\x00\x00\x00\x0C\x01".to_vec(),
                NotProtected,
            ),
            (
                "rar4 encrypted file",
                b"Rar!\x1A\x07\x00\x00\x00\x73\x00\x00\x0D\x00\x00\x00\x00\x00\x00\x00\x00\x00\x74\x04\x00".to_vec(),
                Protected("password-protected RAR archive"),
            ),
            (
                "7z encrypted headers",
                [
                    &[0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C][..],
                    &[0, 4, 0, 0, 0x06, 0xF1, 0x07, 0x01][..],
                ]
                .concat(),
                Protected("password-protected 7z archive"),
            ),
            (
                "encrypted ooxml",
                [
                    &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1][..],
                    &"EncryptedPackage"
                        .encode_utf16()
                        .flat_map(u16::to_le_bytes)
                        .collect::<Vec<u8>>(),
                ]
                .concat(),
                Protected("password-protected Office document"),
            ),
            ("pdf", b"%PDF-1.7\n".to_vec(), Unknown),
        ];
        for (name, bytes, expected) in cases {
            assert_eq!(attachment_protection(&bytes), expected, "{name}");
        }
        // Truncated or hostile input never panics.
        let whole = zip(&[("a.csv", 1, 8)]);
        for cut in 0..whole.len() {
            let _ = attachment_protection(&whole[..cut]);
        }
    }
}
