//! OpenDocument (odt, ods, odp) from LibreOffice and Google Docs exports:
//! `content.xml` streamed with quick-xml, which never expands entities
//! (a billion-laughs document yields its literal text and nothing more).
//!
//! A password-protected ODF file is still a plain zip: the protection is an
//! `<manifest:encryption-data>` element in `META-INF/manifest.xml`, and its
//! parts are ciphertext.
//!
//! Spreadsheets (ods) come out as TSV, each sheet after a line with its name;
//! documents and slides as text with table cells tab-separated. Repeated
//! rows and cells (`number-rows-repeated`, LibreOffice's way of saying "the
//! rest of the sheet is empty") are written at most a few times, and the
//! cells counted against `max_cells`, so a sheet declaring a million rows
//! costs nothing.

use std::io::{Cursor, Read};

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use zip::ZipArchive;

use crate::finding::Location;

use super::{Note, TextFormat, Walker};

/// Repeats of a non-empty row or cell written out; more are counted, not written.
const MAX_REPEAT: usize = 64;

/// Whether a zip is an OpenDocument package.
pub fn is_odf(archive: &mut ZipArchive<Cursor<&[u8]>>) -> bool {
    if let Ok(entry) = archive.by_name("mimetype") {
        let mut head = Vec::new();
        if entry.take(100).read_to_end(&mut head).is_ok() && head.starts_with(b"application/vnd.oasis.opendocument") {
            return true;
        }
    }
    archive.index_for_name("content.xml").is_some() && archive.index_for_name("META-INF/manifest.xml").is_some()
}

/// The text of an ODF `content.xml`, and whether a limit cut it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct OdfText {
    pub text: String,
    pub spreadsheet: bool,
    /// Why the text is not complete, if it is not.
    pub cut: Option<String>,
}

impl Walker<'_> {
    pub(super) fn odf(
        &mut self,
        location: &Location,
        ctype: &str,
        size: usize,
        archive: &mut ZipArchive<Cursor<&[u8]>>,
    ) {
        let manifest = read_part(archive, "META-INF/manifest.xml", 4 * 1024 * 1024).unwrap_or_default();
        let encrypted = memchr::memmem::find(&manifest, b"encryption-data").is_some();
        self.attachment_seen(location, ctype, size, encrypted);
        if encrypted {
            return;
        }
        let content = match archive.by_name("content.xml") {
            Ok(mut entry) => {
                let stored = entry.compressed_size();
                self.unpack(&mut entry, stored)
            }
            Err(error) => Err(format!("it has no readable content.xml ({error})")),
        };
        let content = match content.and_then(|xml| super::xml::check(&xml, self.limits.max_xml_depth).map(|()| xml)) {
            Ok(content) => content,
            Err(reason) => {
                self.note(
                    location,
                    Note::Unscannable(format!("the document could not be read: {reason}")),
                );
                return;
            }
        };
        let read = odf_text(
            &content,
            self.limits.max_xml_depth,
            self.limits.max_cells,
            self.limits.max_part_chars,
        );
        if let Some(reason) = &read.cut {
            self.note(location, Note::Unscannable(reason.clone()));
        }
        let format = if read.spreadsheet {
            TextFormat::Tsv
        } else {
            TextFormat::Html
        };
        self.text(location, &read.text, format);
    }
}

/// A part's bytes, at most `limit` of them.
fn read_part(archive: &mut ZipArchive<Cursor<&[u8]>>, name: &str, limit: usize) -> Result<Vec<u8>, String> {
    let entry = archive
        .by_name(name)
        .map_err(|e| format!("the document's {name} could not be read ({e})"))?;
    let mut bytes = Vec::new();
    entry
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("the document's {name} could not be unpacked ({e})"))?;
    if bytes.len() > limit {
        return Err(format!(
            "the document's text is larger than {} MB and was not read",
            limit / (1024 * 1024)
        ));
    }
    Ok(bytes)
}

/// Text out of `content.xml`.
pub fn odf_text(xml: &[u8], max_depth: usize, max_cells: usize, max_chars: usize) -> OdfText {
    let xml = String::from_utf8_lossy(xml);
    let mut reader = Reader::from_str(&xml);
    let mut out = OdfText::default();
    let mut state = State::default();
    loop {
        if out.text.len() > max_chars {
            out.cut = Some(format!("only the first {max_chars} characters were read"));
            break;
        }
        let event = match reader.read_event() {
            Ok(Event::Eof) => break,
            Ok(event) => event,
            Err(error) => {
                out.cut = Some(format!("the document's XML is damaged ({error})"));
                break;
            }
        };
        match event {
            Event::Start(element) => {
                state.depth += 1;
                if state.depth > max_depth {
                    out.cut = Some(format!("the document's XML is nested more than {max_depth} deep"));
                    break;
                }
                state.start(&element, &mut out);
                if state.cell_count > max_cells {
                    out.cut = Some(format!("only the first {max_cells} cells were read"));
                    break;
                }
            }
            Event::Empty(element) => {
                state.empty(&element, &mut out);
                if state.cell_count > max_cells {
                    out.cut = Some(format!("only the first {max_cells} cells were read"));
                    break;
                }
            }
            Event::End(element) => {
                state.depth = state.depth.saturating_sub(1);
                state.end(element.local_name().as_ref(), &mut out);
            }
            // Text outside paragraphs is the file's own indentation.
            Event::Text(text) if state.in_paragraph > 0 => state.push(&text, &mut out),
            Event::CData(data) if state.in_paragraph > 0 => state.push(data.as_ref(), &mut out),
            Event::GeneralRef(reference) if state.in_paragraph > 0 => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(c)) => Some(c),
                    _ => match reference.as_ref() {
                        "amp" => Some('&'),
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "apos" => Some('\''),
                        "quot" => Some('"'),
                        // Declared entities are never expanded.
                        _ => None,
                    },
                };
                if let Some(c) = resolved {
                    state.push(c.encode_utf8(&mut [0; 4]), &mut out);
                }
            }
            _ => {}
        }
    }
    out
}

#[derive(Default)]
struct State {
    depth: usize,
    /// Inside elements whose text is not content (deleted changes, notes' citations).
    skip: usize,
    /// Inside a table cell: paragraphs there end with a space, not a line.
    in_cell: usize,
    /// Inside a paragraph or heading, where text is content.
    in_paragraph: usize,
    /// Where the current row and cell began in the output, to repeat them.
    row_start: usize,
    row_repeat: usize,
    cell_start: usize,
    cell_repeat: usize,
    cell_count: usize,
}

impl State {
    fn start(&mut self, element: &BytesStart, out: &mut OdfText) {
        match element.local_name().as_ref() {
            "spreadsheet" => out.spreadsheet = true,
            "table" => {
                if let Some(name) = attribute(element, "name") {
                    out.text.push_str(&name);
                    out.text.push('\n');
                }
            }
            "table-row" => {
                self.row_start = out.text.len();
                self.row_repeat = repeat(element, "number-rows-repeated");
            }
            "table-cell" | "covered-table-cell" => {
                self.in_cell += 1;
                self.cell_start = out.text.len();
                self.cell_repeat = repeat(element, "number-columns-repeated");
            }
            "p" | "h" => self.in_paragraph += 1,
            "deletion" | "note-citation" | "tracked-changes" => self.skip += 1,
            _ => {}
        }
    }

    fn empty(&mut self, element: &BytesStart, out: &mut OdfText) {
        match element.local_name().as_ref() {
            "tab" => self.push("\t", out),
            "line-break" => self.push(if self.in_cell > 0 { " " } else { "\n" }, out),
            "s" => {
                let count = attribute(element, "c")
                    .and_then(|c| c.parse::<usize>().ok())
                    .unwrap_or(1);
                self.push(&" ".repeat(count.min(8)), out);
            }
            // An empty cell still holds its column's place.
            "table-cell" | "covered-table-cell" => {
                let count = repeat(element, "number-columns-repeated");
                self.cell_count = self.cell_count.saturating_add(count);
                out.text.push_str(&"\t".repeat(count.min(MAX_REPEAT)));
            }
            _ => {}
        }
    }

    fn end(&mut self, name: &str, out: &mut OdfText) {
        match name {
            "p" | "h" => {
                self.in_paragraph = self.in_paragraph.saturating_sub(1);
                self.push(if self.in_cell > 0 { " " } else { "\n" }, out);
            }
            "table-cell" | "covered-table-cell" => {
                self.in_cell = self.in_cell.saturating_sub(1);
                let cell = out.text[self.cell_start..].trim_end().replace(['\t', '\n'], " ");
                out.text.truncate(self.cell_start);
                let copies = self.cell_repeat.min(MAX_REPEAT);
                for _ in 0..copies {
                    out.text.push_str(&cell);
                    out.text.push('\t');
                }
                self.cell_count = self.cell_count.saturating_add(self.cell_repeat);
            }
            "table-row" => {
                // Trailing empty cells say nothing; a row of nothing is dropped.
                let trimmed = out.text[self.row_start..].trim_end_matches(['\t', ' ']).len();
                out.text.truncate(self.row_start + trimmed);
                if out.text.len() > self.row_start {
                    let row = out.text[self.row_start..].to_string();
                    out.text.push('\n');
                    for _ in 1..self.row_repeat.min(MAX_REPEAT) {
                        out.text.push_str(&row);
                        out.text.push('\n');
                    }
                }
            }
            "table" => out.text.push('\n'),
            "deletion" | "note-citation" | "tracked-changes" => self.skip = self.skip.saturating_sub(1),
            _ => {}
        }
    }

    fn push(&self, text: &str, out: &mut OdfText) {
        if self.skip == 0 {
            out.text.push_str(text);
        }
    }
}

fn attribute(element: &BytesStart, local: &str) -> Option<String> {
    element.attributes().flatten().find_map(|a| {
        let key = a.key.local_name();
        (key.as_ref() == local).then(|| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map(|v| v.into_owned())
                .unwrap_or_default()
        })
    })
}

fn repeat(element: &BytesStart, name: &str) -> usize {
    attribute(element, name)
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHEET: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:spreadsheet>
<table:table table:name="Year 6"><table:table-row><table:table-cell><text:p>Surname</text:p></table:table-cell><table:table-cell><text:p>Date of birth</text:p></table:table-cell><table:table-cell table:number-columns-repeated="1020"/></table:table-row>
<table:table-row><table:table-cell><text:p>O&apos;Neill &amp; Co</text:p></table:table-cell><table:table-cell office:value-type="date" office:date-value="2015-03-12"><text:p>12/03/2015</text:p></table:table-cell></table:table-row>
<table:table-row table:number-rows-repeated="1048570"><table:table-cell table:number-columns-repeated="1024"/></table:table-row>
</table:table></office:spreadsheet></office:body></office:document-content>"#;

    #[test]
    fn sheets_come_out_as_rows_with_their_headers() {
        let read = odf_text(SHEET.as_bytes(), 100, 5_000_000, 1_000_000);
        assert!(read.spreadsheet);
        assert_eq!(read.cut, None);
        assert_eq!(
            read.text,
            "Year 6\nSurname\tDate of birth\nO'Neill & Co\t12/03/2015\n\n"
        );
    }

    #[test]
    fn declared_entities_are_never_expanded() {
        let xml = r#"<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]><d xmlns:text="t"><text:p>x &b; y</text:p></d>"#;
        let read = odf_text(xml.as_bytes(), 100, 100, 1000);
        assert_eq!(read.text, "x  y\n");
    }

    #[test]
    fn deep_nesting_stops_at_the_limit() {
        let xml = format!("{}{}", "<a>".repeat(10_000), "</a>".repeat(10_000));
        let read = odf_text(xml.as_bytes(), 100, 100, 1000);
        assert!(read.cut.unwrap().contains("nested"));
    }

    #[test]
    fn cell_limit_stops_a_huge_sheet() {
        let row = "<table:table-row><table:table-cell><text:p>x</text:p></table:table-cell></table:table-row>";
        let xml = format!("<t xmlns:table=\"t\" xmlns:text=\"x\">{}</t>", row.repeat(200));
        let read = odf_text(xml.as_bytes(), 100, 100, 1_000_000);
        assert!(read.cut.unwrap().contains("cells"));
    }
}
