//! RTF, chosen by a `{\rtf` header.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let data = schoolgate_fuzz::with_magic(b"{\\rtf1", data);
    schoolgate_fuzz::read_as("f.rtf", &data);
});
