//! The entry point. `no_main` keeps Rust's runtime start-up out of the way: it would set
//! SIGPIPE to ignored before `main`, and an exec'd program would inherit that (SPEC §6.1).
//! Windows has no exec and no SIGPIPE: there a plain `main` does (SPEC §18).
#![cfg_attr(all(unix, not(test)), no_main)]

#[cfg(all(unix, not(test)))]
use std::ffi::{CStr, OsString, c_char, c_int};
#[cfg(all(unix, not(test)))]
use std::os::unix::ffi::OsStringExt;

// Not in `cargo test`'s build of the binary, which needs libtest's own `main`.
// The arguments are taken from here, not from `std::env::args_os()`: with `no_main`, std learns
// them only where the C library hands argc/argv to `.init_array` (glibc does, musl does not), so
// on a static musl build `args_os()` would be empty.
#[cfg(all(unix, not(test)))]
#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char, envp: *const *const c_char) -> c_int {
    let count = usize::try_from(argc).unwrap_or(0);
    let args = (0..count)
        .map(|i| {
            // SAFETY: the C runtime passes `argc` valid pointers in `argv`, each to a
            // NUL-terminated string that lives as long as the process.
            let arg = unsafe { CStr::from_ptr(*argv.add(i)) };
            OsString::from_vec(arg.to_bytes().to_vec())
        })
        .collect();
    // The environment too: the program's is built from these strings instead of copies. A
    // constructor's `clearenv` would leave glibc's `environ` (what it passes here) null.
    let mut len = 0;
    // SAFETY: a non-null `envp` is an array of pointers ending with a null one (glibc passes
    // `environ` as it is when `main` is called, musl the kernel's array).
    while !envp.is_null() && !unsafe { *envp.add(len) }.is_null() {
        len += 1;
    }
    let environ = (0..len)
        .map(|i| {
            // SAFETY: each of the `len` entries points to a NUL-terminated string that lives as
            // long as the process: the kernel's copy on the initial stack, or one a `setenv`
            // before `main` allocated, which the C library never frees (and inject itself
            // never sets or unsets a variable).
            unsafe { CStr::from_ptr(*envp.add(i)) }
        })
        .collect();
    inject::main_with_environ(args, environ)
}

/// Windows: a child's exit code is 32 bits (`0xC000013A` after Ctrl+C) and passes through whole.
#[cfg(all(windows, not(test)))]
fn main() {
    std::process::exit(inject::main(std::env::args_os().collect()))
}
