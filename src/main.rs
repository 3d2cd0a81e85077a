//! The entry point. `no_main` keeps Rust's runtime start-up out of the way: it would set
//! SIGPIPE to ignored before `main`, and an exec'd program would inherit that (SPEC §6.1).
//! Under `cargo test` the test harness needs its own `main`, so both are left out there.
#![cfg_attr(not(test), no_main)]

// SAFETY: this is the one C `main` of the binary (`no_main` removes Rust's); it only calls
// safe Rust and does not touch the raw arguments, which std reads on its own.
#[cfg(not(test))]
#[unsafe(no_mangle)]
extern "C" fn main(
    _argc: std::ffi::c_int,
    _argv: *const *const std::ffi::c_char,
) -> std::ffi::c_int {
    inject::main()
}
