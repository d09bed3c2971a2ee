//! PDF, chosen by a %PDF- header in the first KB.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    schoolgate_fuzz::read_as("f.pdf", data);
});
