//! OpenDocument (odt/ods/odp): a zip with a mimetype entry, its XML streamed with quick-xml.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    schoolgate_fuzz::read_as("f.odt", data);
});
