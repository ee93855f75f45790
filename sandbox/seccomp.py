"""The seccomp filters every kernel runs under, compiled to BPF with libseccomp (pyseccomp) on the
host only: the main one goes to bubblewrap through a pipe (`bwrap --seccomp FD`), the after-start one
travels as bytes that the kernel loads itself with prctl(2), so nothing inside the jail ever looks a
library up by name (there is no ld.so.cache in there, and libseccomp's headers may not be installed).

Default allow, deny a list: the kernel needs ordinary Python, SymPy and libzmq (AF_UNIX sockets
for ipc, AF_NETLINK for interface discovery), nothing that reaches networks, other processes or
the kernel's attack surface.
"""

from __future__ import annotations

import errno
import os
import socket
import tempfile

# Syscalls no cell has a reason to make.
DENIED = (
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsconfig", "fsmount",
    "fspick", "mount_setattr", "unshare", "setns",
    "bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot", "swapon", "swapoff",
    "acct", "quotactl", "open_by_handle_at", "name_to_handle_at", "lookup_dcookie", "syslog", "vhangup",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "sethostname", "setdomainname",
    "iopl", "ioperm", "uselib", "nfsservctl", "personality",
)
# Denied by a second filter the kernel installs on itself once IPython is set up (IPython's own
# start-up copies files with their modes): the host makes the kernel's socket directory read-only
# after start, and without chmod the kernel cannot make it writable again.
DENIED_AFTER_START = ("chmod", "fchmod", "fchmodat", "fchmodat2")
# Address families that stay allowed: AF_UNIX (libzmq ipc, signalers) and AF_NETLINK (libzmq and
# glibc enumerate interfaces through it). Everything else (inet, inet6, packet, raw...) is EPERM.
ALLOWED_FAMILIES = (socket.AF_UNIX, socket.AF_NETLINK)
_MAX_FAMILY = 64
# clone() flags that create namespaces; CLONE_NEWUSER is the one that matters (nested user
# namespaces are a classic kernel attack surface), the rest need capabilities anyway.
CLONE_NS_FLAGS = 0x10000000 | 0x20000000 | 0x40000000 | 0x04000000 | 0x08000000 | 0x02000000 | 0x00020000
TIOCSTI, TIOCLINUX = 0x5412, 0x541C


def _deny_names(f, deny, names) -> None:
    for name in names:
        try:
            f.add_rule(deny, name)
        except (ValueError, RuntimeError, OSError):
            pass   # a syscall this libseccomp/arch does not know cannot be called by name either


def _export(f) -> bytes:
    with tempfile.TemporaryFile() as tmp:
        f.export_bpf(tmp)
        tmp.seek(0)
        return tmp.read()


def build_bpf() -> bytes:
    """Compile the main filter; raises ImportError/OSError/RuntimeError when libseccomp is unusable."""
    import pyseccomp as sc

    f = sc.SyscallFilter(sc.ALLOW)
    deny = sc.ERRNO(errno.EPERM)
    _deny_names(f, deny, DENIED)
    for family in range(_MAX_FAMILY):
        if family not in ALLOWED_FAMILIES:
            f.add_rule(deny, "socket", sc.Arg(0, sc.EQ, family))
            f.add_rule(deny, "socketpair", sc.Arg(0, sc.EQ, family))
    f.add_rule(deny, "socket", sc.Arg(0, sc.GE, _MAX_FAMILY))
    f.add_rule(deny, "clone", sc.Arg(0, sc.MASKED_EQ, 0x10000000, 0x10000000))
    for flag in (0x20000000, 0x40000000, 0x04000000, 0x08000000, 0x02000000, 0x00020000):
        f.add_rule(deny, "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    # clone3 passes flags in memory seccomp cannot read: ENOSYS makes glibc fall back to clone().
    f.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    for req in (TIOCSTI, TIOCLINUX):
        f.add_rule(deny, "ioctl", sc.Arg(1, sc.EQ, req))
    return _export(f)


def build_after_start_bpf() -> bytes:
    """The second program (DENIED_AFTER_START), loaded by the kernel's bootstrap once IPython is up."""
    import pyseccomp as sc

    f = sc.SyscallFilter(sc.ALLOW)
    _deny_names(f, sc.ERRNO(errno.EPERM), DENIED_AFTER_START)
    return _export(f)


def bpf_pipe(bpf: bytes) -> int:
    """A readable fd holding the program, for `bwrap --seccomp FD` (it reads to EOF)."""
    r, w = os.pipe()
    try:
        os.write(w, bpf)   # a few KiB, well under the pipe buffer
    finally:
        os.close(w)
    return r
