//! Third-party decoders run on untrusted bytes; should one panic, that is a corrupt image to
//! the caller ([`guarded`] catches it), not a dead worker, and not a panic message with a
//! backtrace on stderr for every hostile upload. [`quiet_decoder_panics`] installs, once, a
//! panic hook that says nothing for a panic inside [`guarded`] and hands every other panic
//! to the hook that was there before.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// Whether this thread runs inside [`guarded`] now.
    static GUARDED: Cell<bool> = const { Cell::new(false) };
}

/// Installs the quiet hook (the process's binaries call it at start; a second call does
/// nothing).
pub fn quiet_decoder_panics() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let earlier = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !GUARDED.with(Cell::get) {
                earlier(info);
            }
        }));
    });
}

/// Runs `work`, catching a panic in it as `Err`.
pub(crate) fn guarded<T>(work: impl FnOnce() -> T) -> std::thread::Result<T> {
    let outer = GUARDED.with(|flag| flag.replace(true));
    let outcome = catch_unwind(AssertUnwindSafe(work));
    GUARDED.with(|flag| flag.set(outer));
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_inside_is_an_error_and_the_flag_is_restored() {
        quiet_decoder_panics();
        let outcome = guarded(|| -> u8 { panic!("a decoder bug") });
        assert!(outcome.is_err());
        assert!(!GUARDED.with(Cell::get));
        let nested = guarded(|| {
            let inner = guarded(|| 1);
            (inner.ok(), GUARDED.with(Cell::get))
        });
        assert_eq!(nested.ok(), Some((Some(1), true)));
        assert!(!GUARDED.with(Cell::get));
    }
}
