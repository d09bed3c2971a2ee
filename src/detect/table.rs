//! Tables inside a text: csv/tsv attachments, HTML tables (which the HTML
//! extractor writes as tab-separated lines) and aligned plain-text tables
//! pasted into a body.
//!
//! A table is found from its header row (a line whose cells are column
//! headers from `rules/table-headers.toml`) or, without one, from at least
//! five consecutive lines split into the same number of cells. The header of
//! a column is context for every cell below it; that is what lets a bare
//! `12/03/2015` under "Date of birth" be a date of birth. Positions are byte
//! offsets into the scanned text, so the scanner can ask which column a
//! match fell in.

use std::collections::HashMap;
use std::ops::Range;

use crate::finding::Kind;
use crate::rules::normalise_header;

/// How a text's lines split into cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TextFormat {
    /// Prose or a pasted table: tabs, pipes or runs of two or more spaces.
    Plain,
    /// HTML turned into text: table cells are tab-separated.
    Html,
    Csv,
    Tsv,
}

#[derive(Debug, Clone)]
pub struct Table {
    /// The personal kind each column's header names, if any.
    pub columns: Vec<Option<Kind>>,
    /// Data rows in order.
    pub rows: Vec<Row>,
    pub has_header: bool,
}

#[derive(Debug, Clone)]
pub struct Row {
    pub span: Range<usize>,
    pub cells: Vec<Range<usize>>,
}

/// Header text → the kind of its column.
pub struct HeaderIndex {
    headers: HashMap<String, Kind>,
}

impl HeaderIndex {
    pub fn new(table_headers: &std::collections::BTreeMap<Kind, Vec<String>>) -> HeaderIndex {
        let mut headers = HashMap::new();
        for (kind, list) in table_headers {
            for header in list {
                headers.insert(normalise_header(header), *kind);
            }
        }
        HeaderIndex { headers }
    }

    /// The kind a header cell names; `Some(None)` for a header that names no personal kind.
    fn classify(&self, cell: &str) -> Option<Kind> {
        let normalised = normalise_header(cell);
        if let Some(kind) = self.headers.get(&normalised) {
            return Some(*kind);
        }
        // "Pupil First Name", "Child DOB", "Parent 1 Mobile": try the last words.
        let words: Vec<&str> = normalised.split(' ').collect();
        (1..words.len()).find_map(|skip| self.headers.get(&words[skip..].join(" ")).copied())
    }
}

/// The minimum number of rows for a headerless run of lines to be a table.
const MIN_HEADERLESS_ROWS: usize = 5;

/// Find the tables in `text`.
pub fn find_tables(text: &str, format: TextFormat, headers: &HeaderIndex) -> Vec<Table> {
    let lines = split_lines(text);
    let mut tables = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = &lines[i];
        if !could_be_row(&text[line.clone()], format) {
            i += 1;
            continue;
        }
        let cells = split_cells(text, line.clone(), format);
        if cells.len() < 2 {
            i += 1;
            continue;
        }
        if let Some(columns) = header_columns(text, &cells, headers) {
            let (rows, next) = collect_rows(text, &lines, i + 1, format, cells.len());
            if !rows.is_empty() {
                tables.push(Table {
                    columns,
                    rows,
                    has_header: true,
                });
                i = next;
                continue;
            }
        }
        let (rows, next) = collect_rows(text, &lines, i, format, cells.len());
        if rows.len() >= MIN_HEADERLESS_ROWS {
            let columns = vec![None; cells.len()];
            tables.push(Table {
                columns,
                rows,
                has_header: false,
            });
            i = next;
        } else {
            i += 1;
        }
    }
    tables
}

impl Table {
    /// The row and column holding byte `offset`, if any.
    pub fn cell_at(&self, offset: usize) -> Option<(usize, usize)> {
        let row = self.rows.partition_point(|r| r.span.end < offset);
        let found = self
            .rows
            .get(row)
            .filter(|r| r.span.start <= offset && offset <= r.span.end)?;
        let column = found.cells.iter().position(|c| c.start <= offset && offset <= c.end)?;
        Some((row, column))
    }

    pub fn span(&self) -> Range<usize> {
        match (self.rows.first(), self.rows.last()) {
            (Some(first), Some(last)) => first.span.start..last.span.end,
            _ => 0..0,
        }
    }
}

/// The header row's column kinds, when `cells` look like a header: at least
/// two cells name a known column, one of them personal, and none is a number.
fn header_columns(text: &str, cells: &[Range<usize>], headers: &HeaderIndex) -> Option<Vec<Option<Kind>>> {
    let mut known = 0;
    let mut columns = Vec::with_capacity(cells.len());
    for cell in cells {
        let value = text[cell.clone()].trim();
        // A header is words ("KS1 reading", "Address 2"), never data ("12/03/2015", "4B").
        let digits = value.chars().filter(char::is_ascii_digit).count();
        let letters = value.chars().filter(|c| c.is_alphabetic()).count();
        if value.len() > 40 || digits > 2 || digits > 0 && letters < 3 {
            return None;
        }
        let kind = headers.classify(value);
        known += usize::from(kind.is_some());
        columns.push(kind);
    }
    (known >= 1 && cells.len() >= 2 && columns.iter().flatten().count() >= 1 && known * 3 >= cells.len())
        .then_some(columns)
}

/// Consecutive lines from `from` that split into about `width` cells; blank lines end nothing in CSV/TSV.
fn collect_rows(
    text: &str,
    lines: &[Range<usize>],
    from: usize,
    format: TextFormat,
    width: usize,
) -> (Vec<Row>, usize) {
    let mut rows = Vec::new();
    let mut i = from;
    while i < lines.len() {
        let line = lines[i].clone();
        if text[line.clone()].trim().is_empty() {
            if matches!(format, TextFormat::Csv | TextFormat::Tsv) || rows.is_empty() {
                i += 1;
                continue;
            }
            break;
        }
        if !could_be_row(&text[line.clone()], format) {
            break;
        }
        let cells = split_cells(text, line.clone(), format);
        let fits = cells.len() >= 2 && cells.len() + 1 >= width && cells.len() <= width + 1;
        if !fits {
            break;
        }
        rows.push(Row { span: line, cells });
        i += 1;
    }
    (rows, i)
}

fn split_lines(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut lines = Vec::new();
    let mut start = 0;
    for i in memchr::memchr_iter(b'\n', bytes) {
        let end = if i > start && bytes[i - 1] == b'\r' { i - 1 } else { i };
        lines.push(start..end);
        start = i + 1;
    }
    if start < text.len() {
        lines.push(start..text.len());
    }
    lines
}

/// A cheap test that a line can split into two or more cells, so prose costs no allocation.
fn could_be_row(line: &str, format: TextFormat) -> bool {
    let bytes = line.as_bytes();
    match format {
        TextFormat::Csv => memchr::memchr2(b',', b';', bytes).is_some(),
        TextFormat::Tsv | TextFormat::Html => memchr::memchr(b'\t', bytes).is_some(),
        TextFormat::Plain => {
            memchr::memchr(b'\t', bytes).is_some()
                || memchr::memmem::find(bytes, b"  ").is_some()
                || memchr::memchr_iter(b'|', bytes).nth(1).is_some()
        }
    }
}

/// The cells of one line, as trimmed byte ranges.
pub fn split_cells(text: &str, line: Range<usize>, format: TextFormat) -> Vec<Range<usize>> {
    let s = &text[line.clone()];
    let base = line.start;
    let raw: Vec<Range<usize>> = match format {
        TextFormat::Csv => split_csv(s),
        TextFormat::Tsv | TextFormat::Html => split_on(s, '\t'),
        TextFormat::Plain => {
            if s.contains('\t') {
                split_on(s, '\t')
            } else if s.matches('|').count() >= 2 {
                split_on(s, '|')
            } else {
                split_on_wide_spaces(s)
            }
        }
    };
    raw.into_iter()
        .map(|r| {
            let cell = &s[r.clone()];
            let lead = cell.len() - cell.trim_start().len();
            let trail = cell.len() - cell.trim_end().len();
            base + r.start + lead..base + r.end - trail
        })
        .filter(|r| r.start < r.end || matches!(format, TextFormat::Csv | TextFormat::Tsv))
        .collect()
}

fn split_on(s: &str, separator: char) -> Vec<Range<usize>> {
    let mut cells = Vec::new();
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if c == separator {
            cells.push(start..i);
            start = i + c.len_utf8();
        }
    }
    cells.push(start..s.len());
    if separator == '|' {
        // "| a | b |" has empty edge cells.
        cells.retain(|r| !s[r.clone()].trim().is_empty());
    }
    cells
}

/// Cells separated by two or more spaces, as in a table aligned by hand.
fn split_on_wide_spaces(s: &str) -> Vec<Range<usize>> {
    let mut cells = Vec::new();
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b' ' && bytes.get(i + 1) == Some(&b' ') {
            let gap_start = i;
            while i < bytes.len() && bytes[i] == b' ' {
                i += 1;
            }
            if gap_start > start {
                cells.push(start..gap_start);
            }
            start = i;
        } else {
            i += 1;
        }
    }
    if start < bytes.len() {
        cells.push(start..bytes.len());
    }
    cells
}

/// One CSV line: commas outside double quotes (RFC 4180; a quoted newline is rare in school exports).
fn split_csv(s: &str) -> Vec<Range<usize>> {
    let mut cells = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, b) in s.bytes().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b',' | b';' if !quoted => {
                cells.push(start..i);
                start = i + 1;
            }
            _ => {}
        }
    }
    cells.push(start..s.len());
    // Drop the quotes from quoted cells.
    cells
        .into_iter()
        .map(|r| {
            let cell = s[r.clone()].trim();
            let offset = r.start + (s[r.clone()].len() - s[r.clone()].trim_start().len());
            if cell.len() >= 2 && cell.starts_with('"') && cell.ends_with('"') {
                offset + 1..offset + cell.len() - 1
            } else {
                r
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RulePack;

    fn index() -> HeaderIndex {
        HeaderIndex::new(&RulePack::builtin().table_headers)
    }

    fn cell<'a>(text: &'a str, table: &Table, row: usize, column: usize) -> &'a str {
        &text[table.rows[row].cells[column].clone()]
    }

    #[test]
    fn csv_with_header_maps_columns() {
        let text = "Surname,Forename,DOB,Class,UPN\r\nCarter,Jamie,12/03/2015,4B,B801200005001\r\n\"O'Neil, Jr\",Sam,01/02/2016,4B,P207000016049\r\n";
        let tables = find_tables(text, TextFormat::Csv, &index());
        assert_eq!(tables.len(), 1);
        let table = &tables[0];
        assert_eq!(
            table.columns,
            vec![
                Some(Kind::PersonName),
                Some(Kind::PersonName),
                Some(Kind::DateOfBirth),
                None,
                Some(Kind::Upn)
            ]
        );
        assert_eq!(table.rows.len(), 2);
        assert_eq!(cell(text, table, 1, 0), "O'Neil, Jr");
        let dob = text.find("01/02/2016").expect("present");
        assert_eq!(table.cell_at(dob), Some((1, 2)));
    }

    #[test]
    fn aligned_plain_text_table() {
        let text = "Hi all,\n\nName            Date of birth   Postcode\nJamie Carter    12/03/2015      OX4 1AA\nSam Patel       01/02/2016      OX4 2BB\n\nThanks\n";
        let tables = find_tables(text, TextFormat::Plain, &index());
        assert_eq!(tables.len(), 1);
        assert_eq!(
            tables[0].columns,
            vec![Some(Kind::PersonName), Some(Kind::DateOfBirth), Some(Kind::PostcodeUk)]
        );
        assert_eq!(tables[0].rows.len(), 2);
        assert_eq!(cell(text, &tables[0], 1, 0), "Sam Patel");
    }

    #[test]
    fn prose_is_not_a_table() {
        let text = "Dear parents,\nThe trip is on Friday.  Please bring a coat.\nThanks\n";
        assert!(find_tables(text, TextFormat::Plain, &index()).is_empty());
    }

    #[test]
    fn html_rows_are_tab_separated() {
        let text = "Pupil\tYear\tParent email\nJamie Carter\t4\tjc@example.com\n";
        let tables = find_tables(text, TextFormat::Html, &index());
        assert_eq!(tables.len(), 1);
        assert_eq!(
            tables[0].columns,
            vec![Some(Kind::PersonName), None, Some(Kind::EmailAddress)]
        );
    }
}
