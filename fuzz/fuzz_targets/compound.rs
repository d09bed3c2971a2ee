//! OLE compound files (cfb): legacy .doc/.xls/.ppt through office_oxide, .msg, encrypted OOXML.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let data = schoolgate_fuzz::with_magic(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1], data);
    schoolgate_fuzz::read_as("f.doc", &data);
});
