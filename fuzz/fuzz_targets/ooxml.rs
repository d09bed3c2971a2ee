//! OOXML (docx/xlsx/pptx) through office_oxide; the zip has a [Content_Types].xml.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    schoolgate_fuzz::read_as("f.docx", data);
});
