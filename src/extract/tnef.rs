//! STUB
pub struct Tnef {
    pub body: Option<String>,
    pub attachments: Vec<TnefAttachment>,
}
pub struct TnefAttachment {
    pub name: String,
    pub data: Vec<u8>,
}
pub fn read_tnef(_bytes: &[u8], _max_attachments: usize) -> Result<Tnef, String> {
    Err("stub".into())
}
