//! STUB (replaced by the readers branch)
#[derive(Debug, PartialEq, Eq)]
pub enum PdfReading {
    Protected,
    Text { pages: Vec<String>, truncated: bool },
    ImageOnly,
    Unreadable(String),
}
pub fn read_pdf(_bytes: &[u8], _max_pages: usize, _max_chars: usize) -> PdfReading {
    PdfReading::Unreadable("stub".into())
}
