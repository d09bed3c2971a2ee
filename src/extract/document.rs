//! Which reader a file needs, decided by its first bytes: names lie (a
//! `.doc` that is really RTF, a `.xls` that is HTML, a zip renamed `.dat`),
//! magic numbers rarely do. The name only decides between formats that share
//! a container (a zip is a docx, an odt or an archive) and names what a
//! damaged file claimed to be.

use crate::finding::Location;

use super::pdf::{self, PdfReading};
use super::{Note, TextFormat, Walker, rtf, tnef};

/// A format that needs a parser of its own (and so, in the daemon, the worker process).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    /// Zip container: OOXML, OpenDocument or a plain archive.
    Zip,
    /// OLE compound file: legacy Office, or password-protected OOXML.
    Compound,
    Pdf,
    SevenZip,
    Rar,
    Rtf,
    Tnef,
}

/// The parser `bytes` need, if any.
pub fn kind_of(name: Option<&str>, bytes: &[u8]) -> Option<DocumentKind> {
    let kind = if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        DocumentKind::Zip
    } else if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        DocumentKind::Compound
    } else if bytes.starts_with(&[0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C]) {
        DocumentKind::SevenZip
    } else if bytes.starts_with(b"Rar!\x1A\x07") {
        DocumentKind::Rar
    } else if bytes.starts_with(b"{\\rtf") {
        DocumentKind::Rtf
    } else if bytes.starts_with(&[0x78, 0x9F, 0x3E, 0x22]) {
        DocumentKind::Tnef
    } else if memchr::memmem::find(&bytes[..bytes.len().min(1024)], b"%PDF-").is_some() {
        // Readers accept the header anywhere in the first KB (mail gateways prepend junk).
        DocumentKind::Pdf
    } else {
        // A zip with a self-extractor or junk in front still ends in a central directory.
        let tail = &bytes[bytes.len().saturating_sub(65_557)..];
        let zip_named = crate::message::has_extension(name, &["zip", "docx", "xlsx", "pptx", "odt", "ods", "odp"]);
        if zip_named && memchr::memmem::rfind(tail, b"PK\x05\x06").is_some() {
            DocumentKind::Zip
        } else {
            return None;
        }
    };
    Some(kind)
}

/// What a file's extension says it is, for files whose content is not that.
pub fn named_format(name: Option<&str>) -> Option<&'static str> {
    let ext = name?.rsplit_once('.')?.1.to_ascii_lowercase();
    let what = match ext.as_str() {
        "pdf" => "a PDF document",
        "doc" | "docx" | "docm" | "dot" | "dotx" => "a Word document",
        "xls" | "xlsx" | "xlsm" | "xlsb" => "an Excel spreadsheet",
        "ppt" | "pptx" | "pptm" => "a PowerPoint presentation",
        "odt" | "ods" | "odp" => "an OpenDocument file",
        "rtf" => "an RTF document",
        "zip" => "a ZIP archive",
        "7z" => "a 7z archive",
        "rar" => "a RAR archive",
        "dat" => "an Outlook winmail.dat",
        _ => return None,
    };
    Some(what)
}

impl Walker<'_> {
    /// Read a file whose bytes say it is a `kind` document.
    pub(super) fn document(
        &mut self,
        kind: DocumentKind,
        location: &Location,
        name: Option<&str>,
        ctype: &str,
        bytes: &[u8],
        depth: usize,
    ) {
        match kind {
            DocumentKind::Zip => self.zip(location, name, ctype, bytes, depth),
            DocumentKind::Compound => self.compound(location, name, ctype, bytes),
            DocumentKind::Pdf => self.pdf(location, ctype, bytes),
            DocumentKind::SevenZip => self.seven_zip(location, ctype, bytes, depth),
            DocumentKind::Rar => self.rar(location, ctype, bytes),
            DocumentKind::Rtf => {
                self.attachment_seen(location, ctype, bytes.len(), false);
                let read = rtf::rtf_to_text(bytes, self.limits.max_part_chars);
                if read.truncated {
                    self.note(location, super::truncated_note(self.limits.max_part_chars));
                }
                if read.too_deep {
                    self.note(location, rtf_too_deep_note());
                }
                self.text(location, &read.text, TextFormat::Html);
            }
            DocumentKind::Tnef => self.tnef(location, ctype, bytes, depth),
        }
    }

    fn pdf(&mut self, location: &Location, ctype: &str, bytes: &[u8]) {
        let read = pdf::read_pdf(bytes, self.limits.max_pdf_pages, self.limits.max_part_chars);
        self.attachment_seen(location, ctype, bytes.len(), read == PdfReading::Protected);
        match read {
            PdfReading::Protected => {}
            PdfReading::Text { pages, truncated } => {
                if truncated {
                    self.note(
                        location,
                        Note::Unscannable(format!(
                            "only the first {} pages or {} characters were read",
                            self.limits.max_pdf_pages, self.limits.max_part_chars
                        )),
                    );
                }
                self.text(location, &pages.join("\n\n"), TextFormat::Html);
            }
            PdfReading::ImageOnly => self.note(location, Note::ImageOnly),
            PdfReading::Unreadable(reason) => self.note(location, Note::Unscannable(reason)),
        }
    }

    /// Outlook's winmail.dat: its body text and the files inside, each read as an attachment of its own.
    fn tnef(&mut self, location: &Location, ctype: &str, bytes: &[u8], depth: usize) {
        self.attachment_seen(location, ctype, bytes.len(), false);
        if !self.may_open(location, depth) {
            return;
        }
        match tnef::read_tnef(bytes, self.limits.max_entries) {
            Ok(read) => {
                if let Some(body) = &read.body {
                    self.text(location, body, TextFormat::Html);
                }
                // The body is converted inside the reader; what it lost is said here.
                if read.body_truncated {
                    self.note(location, super::truncated_note(tnef::MAX_BODY_CHARS));
                }
                if read.body_too_deep {
                    self.note(location, rtf_too_deep_note());
                }
                for attachment in &read.attachments {
                    let member = location.member(&super::clean_name(&attachment.name));
                    let ctype = super::archive::content_type_for(&attachment.name);
                    self.file(&member, Some(&attachment.name), ctype, &attachment.data, depth + 1);
                }
            }
            Err(reason) => self.note(
                location,
                Note::Unscannable(format!("the winmail.dat could not be read: {reason}")),
            ),
        }
    }

    /// RAR archives: their headers say whether they are encrypted; their
    /// content cannot be read (the only unpacker's licence is not free).
    fn rar(&mut self, location: &Location, ctype: &str, bytes: &[u8]) {
        use crate::protect::AttachmentProtection;
        let protection = crate::protect::attachment_protection(bytes);
        let protected = matches!(protection, AttachmentProtection::Protected(_));
        self.attachment_seen(location, ctype, bytes.len(), protected);
        if !protected {
            let reason = if protection.any_protected() {
                "the RAR archive has unencrypted files, and RAR archives cannot be read"
            } else {
                "RAR archives cannot be read; send a ZIP instead"
            };
            self.note(location, Note::Unscannable(reason.to_string()));
        }
    }

    /// Whether a container at `depth` may be opened; notes it when not.
    pub(super) fn may_open(&mut self, location: &Location, depth: usize) -> bool {
        if depth + 1 > self.limits.max_nesting {
            self.note(
                location,
                Note::Unscannable(format!(
                    "files nested more than {} deep were not read",
                    self.limits.max_nesting
                )),
            );
            return false;
        }
        true
    }
}

/// RTF whose groups nested past the reader's depth: what was not read.
fn rtf_too_deep_note() -> Note {
    Note::Unscannable("its groups nest too deep; the text inside them was not read".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_decides_over_the_name() {
        assert_eq!(
            kind_of(Some("report.doc"), b"{\\rtf1\\ansi hello}"),
            Some(DocumentKind::Rtf)
        );
        assert_eq!(kind_of(Some("x.dat"), b"PK\x03\x04rest"), Some(DocumentKind::Zip));
        assert_eq!(kind_of(None, b"junk\r\n%PDF-1.7\n"), Some(DocumentKind::Pdf));
        assert_eq!(kind_of(Some("notes.txt"), b"plain words"), None);
        assert_eq!(named_format(Some("Pupils.XLSX")), Some("an Excel spreadsheet"));
        assert_eq!(named_format(Some("notes.txt")), None);
    }
}
