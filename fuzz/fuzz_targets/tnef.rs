//! Outlook winmail.dat (TNEF), chosen by its signature 78 9F 3E 22.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let data = schoolgate_fuzz::with_magic(&[0x78, 0x9F, 0x3E, 0x22], data);
    schoolgate_fuzz::read_as("winmail.dat", &data);
});
