//! The only place in the kit that needs `unsafe`: Linux process plumbing that
//! std does not expose (parent-death signal, signalling a process group).
#![allow(unsafe_code)]

use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// Arrange for the child spawned from `cmd` to receive `signal` when the
/// thread that spawns it exits (Linux `PR_SET_PDEATHSIG`).
///
/// The death signal is tied to the spawning *thread*, so callers must spawn
/// from a thread that lives as long as the process (see `spawner`). std runs
/// `pre_exec` closures after `setuid`/`setgid`, which matters because a
/// credential change clears the parent-death signal.
pub(crate) fn set_parent_death_signal(cmd: &mut Command, signal: libc::c_int) {
    // SAFETY: the closure runs in the forked child before exec and only calls
    // async-signal-safe functions (`prctl`, `getppid`); it allocates nothing
    // and touches no locks. `parent` is a plain integer copied into it.
    let parent = std::process::id();
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, signal as libc::c_ulong, 0, 0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died between fork and prctl: then the signal
            // will never come, so refuse to start instead of leaking a child.
            if libc::getppid() as u32 != parent {
                return Err(io::Error::other("parent exited before the child started"));
            }
            Ok(())
        });
    }
}

/// Send `signal` to every process in process group `pgid`.
/// Returns false if the group no longer exists.
pub(crate) fn signal_group(pgid: u32, signal: libc::c_int) -> bool {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return false;
    };
    if pgid <= 1 {
        return false;
    }
    // SAFETY: `kill` has no memory-safety preconditions; a negative pid
    // addresses the process group, and we refuse 0/1/negative ids above so we
    // never signal our own group or every process.
    unsafe { libc::kill(-pgid, signal) == 0 }
}

/// Whether a process with this pid exists (signal 0 probe, or EPERM).
pub(crate) fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 performs only the existence/permission check.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Effective uid of this process.
pub(crate) fn euid() -> u32 {
    // SAFETY: `geteuid` cannot fail and has no preconditions.
    unsafe { libc::geteuid() }
}

/// Waits for child `pid` to exit and reaps it: its raw wait status and its
/// peak resident set in KiB (`wait4`'s `ru_maxrss`), which only the reaping
/// parent can read.
pub(crate) fn wait_with_peak_rss(pid: u32) -> io::Result<(i32, u64)> {
    let pid = libc::pid_t::try_from(pid).map_err(io::Error::other)?;
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is plain integers, for which all-zero is valid.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both out-pointers are live, exclusively borrowed locals.
        let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if rc == pid {
            return Ok((status, u64::try_from(usage.ru_maxrss).unwrap_or(0)));
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}
