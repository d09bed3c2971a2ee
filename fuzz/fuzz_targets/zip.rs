//! A zip archive: entries judged one by one, read as files of their own.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    schoolgate_fuzz::read_as("f.zip", data);
});
