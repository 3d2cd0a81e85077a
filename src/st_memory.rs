//! EFFECT, Linux: where `--st-secrets` puts the secrets file (SPEC §14). The text lives in
//! anonymous memory (a `memfd`), never on a filesystem; the program reaches it by a path
//! ending in `.toml`, since Streamlit reads nothing else:
//!
//! ```text
//! $XDG_RUNTIME_DIR/inject-UID/secrets-fdN.toml -> /proc/self/fd/N
//! ```
//!
//! (`/dev/shm` when `XDG_RUNTIME_DIR` is unset). The link holds no value and resolves in the
//! process that opens it, to that process's own descriptor N: in the program, which inherits
//! the memfd as N, to the secrets; in any other process, to whatever its N is, or nothing.
//! Links for the same N are the same, so the private 0700 folder never needs cleaning up; the
//! memory itself goes when the program and its children, the last holders of N, end.
#![cfg(target_os = "linux")]

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, FdFlag, fcntl};
use nix::sys::memfd::{MFdFlags, memfd_create};

/// The secrets file in memory, and the path the program reads it by.
pub struct Memory {
    file: std::fs::File,
    path: PathBuf,
}

impl Memory {
    /// Anonymous memory (close-on-exec until handed over) and its link.
    pub fn create() -> Result<Memory, String> {
        let cannot = |what: &str, errno: Errno| {
            format!(
                "`--st-secrets`: cannot {what}: {}: run without `--st-secrets`",
                errno.desc()
            )
        };
        let fd = memfd_create(c"inject-st-secrets", MFdFlags::MFD_CLOEXEC)
            .map_err(|e| cannot("create anonymous memory", e))?;
        // Never 0, 1 or 2, should the caller have closed one: the program's standard streams.
        let fd = if fd.as_raw_fd() < 3 {
            let raw = fcntl(&fd, FcntlArg::F_DUPFD_CLOEXEC(3))
                .map_err(|e| cannot("move the anonymous memory", e))?;
            // SAFETY: `F_DUPFD_CLOEXEC` returned a new descriptor that nothing else owns.
            unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw) }
        } else {
            fd
        };
        nix::sys::stat::fchmod(
            &fd,
            nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR,
        )
        .map_err(|e| cannot("make the anonymous memory private", e))?;
        let path = link(fd.as_raw_fd())?;
        Ok(Memory {
            file: fd.into(),
            path,
        })
    }

    /// The path the program reads: the value of `STREAMLIT_SECRETS_FILES`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The descriptor the program inherits (the one exception to "no descriptor leaks").
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }

    /// Replace the text: the running program's next read sees the new one (Streamlit's
    /// watcher polls the file's modification time and contents).
    pub fn write(&self, text: &str) -> Result<(), String> {
        use std::os::unix::fs::FileExt;
        self.file
            .set_len(0)
            .and_then(|()| self.file.write_all_at(text.as_bytes(), 0))
            .map_err(|e| format!("`--st-secrets`: cannot write the secrets into memory: {e}"))
    }

    /// exec mode: keep the memory open across exec, for the program that replaces inject.
    pub fn hand_over(self) -> Result<(), String> {
        keep_open(self.file.as_fd())
            .map_err(|e| format!("`--st-secrets`: cannot hand the memory over: {}", e.desc()))?;
        // The program owns it from exec on.
        let _ = self.file.into_raw_fd();
        Ok(())
    }
}

/// Clear close-on-exec: in inject before exec, or in a forked child before exec.
pub fn keep_open(fd: BorrowedFd<'_>) -> Result<(), Errno> {
    fcntl(fd, FcntlArg::F_SETFD(FdFlag::empty())).map(drop)
}

/// `BASE/inject-UID/secrets-fdN.toml -> /proc/self/fd/N`, made or checked.
fn link(fd: i32) -> Result<PathBuf, String> {
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute() && dir.is_dir())
        .unwrap_or_else(|| PathBuf::from("/dev/shm"));
    let uid = nix::unistd::getuid().as_raw();
    let dir = base.join(format!("inject-{uid}"));
    private_dir(&dir, uid)?;
    let path = dir.join(format!("secrets-fd{fd}.toml"));
    let target = PathBuf::from(format!("/proc/self/fd/{fd}"));
    if std::fs::read_link(&path).is_ok_and(|now| now == target) {
        return Ok(path);
    }
    // A link of our own under a temporary name, renamed over whatever is there.
    let temporary = dir.join(format!(".secrets-fd{fd}.{}", std::process::id()));
    let _ = std::fs::remove_file(&temporary);
    std::os::unix::fs::symlink(&target, &temporary)
        .and_then(|()| std::fs::rename(&temporary, &path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&temporary);
            format!(
                "`--st-secrets`: cannot make the link `{}`: {e}: run without `--st-secrets`",
                path.display()
            )
        })?;
    Ok(path)
}

/// `dir` exists as a real directory of `uid`'s that no one else may enter, or is made so.
fn private_dir(dir: &Path, uid: u32) -> Result<(), String> {
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(format!(
                "`--st-secrets`: cannot make the folder `{}`: {e}: set XDG_RUNTIME_DIR to a folder of yours",
                dir.display()
            ));
        }
    }
    let meta = std::fs::symlink_metadata(dir).map_err(|e| format!("`{}`: {e}", dir.display()))?;
    if !meta.is_dir() || meta.uid() != uid || meta.permissions().mode() & 0o077 != 0 {
        return Err(format!(
            "`--st-secrets`: `{}` is not a private folder of yours (a directory owned by you, mode 0700): remove it, or set XDG_RUNTIME_DIR to a folder of yours",
            dir.display()
        ));
    }
    Ok(())
}
