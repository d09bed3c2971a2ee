//! Microsoft Office files: OOXML (docx, xlsx, pptx and their macro and
//! template variants) and the legacy binary formats (doc, xls, ppt), read
//! with `office_oxide` under our limits — in the worker process, since it is
//! a young crate meeting hostile files.
//!
//! Protection is judged from the container before any text is read:
//! - OOXML with a password is not a zip but an OLE compound file holding
//!   `EncryptionInfo` and `EncryptedPackage`. Excel's built-in
//!   "VelvetSweatshop" password is not protection: `office_oxide` opens those
//!   (feature `default-password`), so a package that opens is read and one
//!   that does not is protected.
//! - Legacy Word sets `fEncrypted` (bit 0x0100 of the u16 at 0x0A of the
//!   `WordDocument` stream); legacy Excel has a FILEPASS record (0x002F)
//!   after the first BOF of its `Workbook` stream. XOR-obfuscated and
//!   default-password files carry the same marks, so as for OOXML: what
//!   opens is read, and only what does not open and carries a mark is
//!   protected.
//!
//! Spreadsheets come out as tab-separated rows, each sheet after a line with
//! its name, and are scanned as TSV: a column header is context for its
//! cells. Documents and slides come out with table cells tab-separated.

use std::io::{Cursor, Read};

use office_oxide::{Document, DocumentFormat};
use zip::ZipArchive;

use crate::finding::Location;

use super::{Note, TextFormat, Walker};

impl Walker<'_> {
    /// An OOXML package (a zip with `[Content_Types].xml`), already opened as `archive`.
    pub(super) fn ooxml(
        &mut self,
        location: &Location,
        name: Option<&str>,
        ctype: &str,
        bytes: &[u8],
        archive: &mut ZipArchive<Cursor<&[u8]>>,
    ) {
        self.attachment_seen(location, ctype, bytes.len(), false);
        let format = ooxml_format(archive).or_else(|| format_by_name(name));
        let Some(format) = format else {
            self.note(
                location,
                Note::Unscannable("an Office package of a kind schoolgate does not read".to_string()),
            );
            return;
        };
        // What this package may still unpack, before the guard spends it on
        // the XML parts `office_oxide` then unpacks again.
        let room = self.unpack_room();
        if let Err(reason) = self.guard_package(archive) {
            self.note(
                location,
                Note::Unscannable(format!("the document could not be read: {reason}")),
            );
            return;
        }
        match self.open_office(bytes, format, room) {
            Ok(document) => self.office_text(location, &document, format),
            Err(reason) => self.note(
                location,
                Note::Unscannable(format!("the document could not be read ({reason})")),
            ),
        }
    }

    /// An OLE compound file: legacy Office, password-protected OOXML, or an Outlook .msg.
    pub(super) fn compound(&mut self, location: &Location, name: Option<&str>, ctype: &str, bytes: &[u8]) {
        let Ok(mut container) = cfb::CompoundFile::open(Cursor::new(bytes)) else {
            self.attachment_seen(location, ctype, bytes.len(), false);
            self.note(
                location,
                Note::Unscannable("the Office file is damaged (its container cannot be read)".to_string()),
            );
            return;
        };
        let held = CompoundKind::of(&mut container);
        let (candidates, marked): (Vec<DocumentFormat>, bool) = match held {
            CompoundKind::EncryptedPackage => {
                let mut formats: Vec<DocumentFormat> = format_by_name(name).into_iter().collect();
                for format in [DocumentFormat::Docx, DocumentFormat::Xlsx, DocumentFormat::Pptx] {
                    if !formats.contains(&format) {
                        formats.push(format);
                    }
                }
                (formats, true)
            }
            CompoundKind::Word { encrypted } => (vec![DocumentFormat::Doc], encrypted),
            CompoundKind::Excel { encrypted } => (vec![DocumentFormat::Xls], encrypted),
            CompoundKind::PowerPoint => (vec![DocumentFormat::Ppt], false),
            CompoundKind::OutlookMessage => {
                self.attachment_seen(location, ctype, bytes.len(), false);
                self.note(
                    location,
                    Note::Unscannable(
                        "Outlook .msg files are not read; forward the message as an attachment (.eml) instead"
                            .to_string(),
                    ),
                );
                return;
            }
            CompoundKind::Other => {
                self.attachment_seen(location, ctype, bytes.len(), false);
                self.note(
                    location,
                    Note::Unscannable(
                        "an OLE compound file that is not a Word, Excel or PowerPoint document".to_string(),
                    ),
                );
                return;
            }
        };
        let mut failure = String::new();
        for format in candidates {
            match self.open_office(bytes, format, self.unpack_room()) {
                Ok(document) => {
                    self.attachment_seen(location, ctype, bytes.len(), false);
                    self.office_text(location, &document, format);
                    return;
                }
                Err(reason) if failure.is_empty() => failure = reason,
                Err(_) => {}
            }
        }
        self.attachment_seen(location, ctype, bytes.len(), marked);
        if !marked {
            self.note(
                location,
                Note::Unscannable(format!("the document could not be read ({failure})")),
            );
        }
    }

    /// Check every XML part of an OOXML package that holds text before
    /// `office_oxide` reads it: it skips what it cannot read without saying so.
    fn guard_package(&mut self, archive: &mut ZipArchive<Cursor<&[u8]>>) -> Result<(), String> {
        for index in 0..archive.len().min(self.limits.max_entries) {
            let mut entry = archive.by_index(index).map_err(|e| e.to_string())?;
            let name = entry.name().map(|n| n.to_ascii_lowercase()).unwrap_or_default();
            let text_part = name.ends_with(".xml")
                && ["word/", "xl/", "ppt/"].iter().any(|p| name.starts_with(p))
                && !name.contains("/theme/");
            if !text_part {
                continue;
            }
            let stored = entry.compressed_size();
            let xml = self
                .unpack(&mut entry, stored)
                .map_err(|reason| format!("its part {name}: {reason}"))?;
            super::xml::check(&xml, self.limits.max_xml_depth).map_err(|reason| format!("{reason} (in {name})"))?;
        }
        Ok(())
    }

    /// Open `bytes` as `format`, letting it unpack `room` bytes at most (what
    /// is left of `max_unpacked_bytes` for this attachment).
    fn open_office(&self, bytes: &[u8], format: DocumentFormat, room: usize) -> Result<Document, String> {
        let mut options = office_oxide::options::ParseOptions::default();
        let limits = &mut options.limits;
        limits.package_entries = self.limits.max_entries;
        limits.package_bytes = room as u64;
        limits.part_bytes = self.limits.max_entry_bytes as u64;
        limits.inflate_ratio = self.limits.max_ratio as u64;
        limits.embedded_depth = self.limits.max_nesting;
        // One more than we keep, so a document cut by this limit is seen to be cut (`Walker::text` notes it).
        limits.text_chars = self.limits.max_part_chars + 1;
        limits.memory_bytes = (self.limits.worker_memory_mb as u64 * 1024 * 1024) / 4;
        let reader = Cursor::new(bytes.to_vec());
        let opened = std::panic::catch_unwind(|| Document::from_reader_with(reader, format, &options));
        match opened {
            Ok(Ok(document)) => Ok(document),
            Ok(Err(error)) => Err(error_kind(&error)),
            Err(_) => Err("the reader failed on it".to_string()),
        }
    }

    fn office_text(&mut self, location: &Location, document: &Document, format: DocumentFormat) {
        let text = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| document.plain_text())) {
            Ok(text) => text,
            Err(_) => {
                self.note(
                    location,
                    Note::Unscannable("the document's text could not be read".to_string()),
                );
                return;
            }
        };
        let lost = lost_parts(document);
        if lost > 0 {
            let parts = if lost == 1 { "part" } else { "parts" };
            self.note(
                location,
                Note::Unscannable(format!("{lost} {parts} of the document could not be read")),
            );
        }
        let text_format = match format {
            DocumentFormat::Xlsx | DocumentFormat::Xls => TextFormat::Tsv,
            _ => TextFormat::Html,
        };
        self.text(location, &text, text_format);
    }
}

/// How many parts of the document could not be read (counted, never named:
/// a sheet is often named after a pupil). OOXML readers list them as they
/// go; for the legacy formats `damage()` converts the document once more,
/// which costs little on files of their size (and 80 ms on a 10,000-row
/// xlsx, so not there).
fn lost_parts(document: &Document) -> usize {
    if let Some(docx) = document.as_docx() {
        docx.unreadable_parts.len()
    } else if let Some(xlsx) = document.as_xlsx() {
        xlsx.unreadable_parts.len() + xlsx.unreadable_sheets.len()
    } else if let Some(pptx) = document.as_pptx() {
        pptx.unreadable_parts.len()
    } else {
        document.damage().iter().filter(|d| d.is_loss()).count()
    }
}

/// What an OLE compound file holds, from its stream names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CompoundKind {
    EncryptedPackage,
    Word { encrypted: bool },
    Excel { encrypted: bool },
    PowerPoint,
    OutlookMessage,
    Other,
}

impl CompoundKind {
    fn of<F: Read + std::io::Seek>(container: &mut cfb::CompoundFile<F>) -> CompoundKind {
        if container.is_stream("/EncryptedPackage") {
            return CompoundKind::EncryptedPackage;
        }
        if container.is_stream("/WordDocument") {
            let head = stream_head(container, "/WordDocument", 12);
            let flags = head.get(0x0A..0x0C).map(|b| u16::from_le_bytes([b[0], b[1]]));
            return CompoundKind::Word {
                encrypted: flags.is_some_and(|f| f & 0x0100 != 0),
            };
        }
        for stream in ["/Workbook", "/Book"] {
            if container.is_stream(stream) {
                let head = stream_head(container, stream, 64 * 1024);
                return CompoundKind::Excel {
                    encrypted: has_filepass(&head),
                };
            }
        }
        if container.is_stream("/PowerPoint Document") {
            return CompoundKind::PowerPoint;
        }
        let is_message = container
            .read_root_storage()
            .any(|entry| entry.name().starts_with("__substg1.0_"));
        if is_message {
            CompoundKind::OutlookMessage
        } else {
            CompoundKind::Other
        }
    }
}

fn stream_head<F: Read + std::io::Seek>(container: &mut cfb::CompoundFile<F>, path: &str, limit: u64) -> Vec<u8> {
    let mut head = Vec::new();
    if let Ok(stream) = container.open_stream(path) {
        let _ = stream.take(limit).read_to_end(&mut head);
    }
    head
}

/// A FILEPASS record among the records that follow the first BOF of a BIFF
/// workbook stream (it must come before any sheet data).
fn has_filepass(stream: &[u8]) -> bool {
    let mut at = 0;
    for _ in 0..64 {
        let Some(header) = stream.get(at..at + 4) else {
            return false;
        };
        let kind = u16::from_le_bytes([header[0], header[1]]);
        let size = u16::from_le_bytes([header[2], header[3]]) as usize;
        match kind {
            0x002F => return true,
            // BOUNDSHEET, or the end of the globals: no FILEPASS came.
            0x0085 | 0x000A if at > 0 => return false,
            _ => {}
        }
        at += 4 + size;
    }
    false
}

/// The package's kind, from the main part it holds.
fn ooxml_format(archive: &ZipArchive<Cursor<&[u8]>>) -> Option<DocumentFormat> {
    let has = |part: &str| archive.index_for_name(part).is_some();
    if has("word/document.xml") {
        Some(DocumentFormat::Docx)
    } else if has("xl/workbook.xml") {
        Some(DocumentFormat::Xlsx)
    } else if has("ppt/presentation.xml") {
        Some(DocumentFormat::Pptx)
    } else {
        archive.file_names().flatten().find_map(|n| {
            let n = n.to_ascii_lowercase();
            if n.starts_with("word/") {
                Some(DocumentFormat::Docx)
            } else if n.starts_with("xl/") {
                Some(DocumentFormat::Xlsx)
            } else if n.starts_with("ppt/") {
                Some(DocumentFormat::Pptx)
            } else {
                None
            }
        })
    }
}

fn format_by_name(name: Option<&str>) -> Option<DocumentFormat> {
    let ext = name?.rsplit_once('.')?.1.to_ascii_lowercase();
    match ext.as_str() {
        "docx" | "docm" | "dotx" | "dotm" => Some(DocumentFormat::Docx),
        "xlsx" | "xlsm" | "xltx" | "xltm" => Some(DocumentFormat::Xlsx),
        "pptx" | "pptm" | "potx" | "ppsx" => Some(DocumentFormat::Pptx),
        _ => None,
    }
}

/// What kind of error `office_oxide` reported ("ZIP error", "missing
/// required part", "decompression limit exceeded"), without its detail: the
/// detail can quote the file (a sheet's name, a parser's panic message), and
/// this text reaches the sender's notice and the quarantine.
fn error_kind(error: &office_oxide::OfficeError) -> String {
    let text = error.to_string();
    let line = text.lines().next().unwrap_or_default();
    line.split(": ").next().unwrap_or_default().chars().take(160).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filepass_is_found_after_bof_only() {
        let bof = [0x09, 0x08, 0x04, 0x00, 0, 6, 0x10, 0];
        let filepass = [0x2F, 0x00, 0x02, 0x00, 1, 0];
        let boundsheet = [0x85, 0x00, 0x00, 0x00];
        assert!(has_filepass(&[&bof[..], &filepass].concat()));
        assert!(!has_filepass(&[&bof[..], &boundsheet, &filepass].concat()));
        assert!(!has_filepass(&bof));
    }

    #[test]
    fn an_error_is_reported_by_its_kind_never_its_detail() {
        use office_oxide::OfficeError;
        let panicked = OfficeError::Panic("no readable sheet: \"Jamie Carter\"".to_string());
        assert_eq!(error_kind(&panicked), "internal error");
        let incomplete = OfficeError::Incomplete("sheet \"Jamie Carter\": bad cell".to_string());
        assert_eq!(error_kind(&incomplete), "the document is incomplete");
    }
}
