//! STUB
pub struct RtfText {
    pub text: String,
    pub truncated: bool,
}
pub fn rtf_to_text(_bytes: &[u8], _max_chars: usize) -> RtfText {
    RtfText {
        text: String::new(),
        truncated: false,
    }
}
