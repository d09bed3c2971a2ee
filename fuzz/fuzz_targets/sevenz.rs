//! A 7z archive (sevenz-rust2), chosen by its magic bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let data = schoolgate_fuzz::with_magic(&[0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C], data);
    schoolgate_fuzz::read_as("f.7z", &data);
});
