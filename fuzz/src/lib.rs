//! What the fuzz targets share: reading bytes as a named attachment, the way
//! the worker process does, and telling a panic our code lets escape from one
//! it catches on purpose.
//!
//! libfuzzer-sys aborts on *every* panic, even one that `catch_unwind`
//! stops (`extract::office` catches `office_oxide`'s panics by design). Here
//! a panic is a crash only when it escapes the call under test; its message
//! and the backtrace from where it was raised are printed before the abort.
//! Set `FUZZ_ALL_PANICS=1` to get libfuzzer-sys's behaviour back (to find
//! the dependency panics we catch, e.g. to report them upstream).

use std::backtrace::Backtrace;
use std::borrow::Cow;
use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use schoolgate::Location;
use schoolgate::config::Limits;
use schoolgate::extract::{self, Extraction, ReadRequest};

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Run `f`; abort (a libFuzzer crash) only if a panic escapes it.
pub fn guarded<R>(f: impl FnOnce() -> R) -> R {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        if std::env::var_os("FUZZ_ALL_PANICS").is_none() {
            panic::set_hook(Box::new(|info| {
                let report = format!("{info}\n{}", Backtrace::force_capture());
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(report));
            }));
        }
    });
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(value) => value,
        Err(_) => {
            let report = LAST_PANIC.with(|p| p.borrow_mut().take()).unwrap_or_default();
            eprintln!("\n==== uncaught panic ====\n{report}");
            std::process::abort();
        }
    }
}

/// `data` read as an attachment named `name`, as `schoolgate serve`'s worker reads it.
pub fn read_as(name: &str, data: &[u8]) -> Extraction {
    let request = ReadRequest {
        location: Location::Attachment("f".into()),
        name: Some(name.into()),
        content_type: "application/octet-stream".into(),
        depth: 0,
        limits: Limits::default(),
    };
    guarded(|| extract::read_document(&request, data))
}

/// `data` starting with `magic`: as it is when it does, else with `magic` in front.
pub fn with_magic<'a>(magic: &[u8], data: &'a [u8]) -> Cow<'a, [u8]> {
    if data.starts_with(magic) {
        Cow::Borrowed(data)
    } else {
        Cow::Owned([magic, data].concat())
    }
}
