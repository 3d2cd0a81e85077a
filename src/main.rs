//! The entry point. `no_main` keeps Rust's runtime start-up out of the way: it would set
//! SIGPIPE to ignored before `main`, and an exec'd program would inherit that (SPEC §6.1).
#![cfg_attr(not(test), no_main)]

#[cfg(not(test))]
use std::ffi::{c_char, c_int};

// Not in `cargo test`'s build of the binary, which needs libtest's own `main`.
// SAFETY: this is the one C `main` of the binary (`no_main` removes Rust's); it only calls
// safe Rust and does not touch the raw arguments, which std reads on its own.
#[cfg(not(test))]
#[unsafe(no_mangle)]
extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    inject::main()
}
