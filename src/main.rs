//! The entry point. `no_main` keeps Rust's runtime start-up out of the way: it would set
//! SIGPIPE to ignored before `main`, and an exec'd program would inherit that (SPEC §6.1).
#![no_main]

use std::ffi::{c_char, c_int};

// SAFETY: this is the one C `main` of the binary (`no_main` removes Rust's); it only calls
// safe Rust and does not touch the raw arguments, which std reads on its own.
#[unsafe(no_mangle)]
extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    inject::main()
}
