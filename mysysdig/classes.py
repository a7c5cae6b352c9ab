"""strace-style syscall classes (`%file`, `%network`, ...) for `--syscall` filters.

The classes mean what they mean in strace(1) `-e trace=%class`, so users can carry their habits over:
%file takes a file name, %desc works on a file descriptor, %network is sockets, %process is process life
cycle, %signal is signals, %ipc is System V IPC, %memory maps memory. Names are given for every ABI the
module records (x86_64, arm64 and their 32-bit ABIs), hence the `*32`, `*64` and `socketcall` variants.
"""

from __future__ import annotations

from collections.abc import Iterable

_FILE = """
open openat openat2 creat access faccessat faccessat2 stat lstat stat64 lstat64 oldstat oldlstat
newfstatat fstatat64 statx statfs statfs64 truncate truncate64 getcwd chdir chroot rename renameat
renameat2 mkdir mkdirat rmdir link linkat unlink unlinkat symlink symlinkat readlink readlinkat chmod
fchmodat fchmodat2 chown chown32 lchown lchown32 fchownat utime utimes utimensat utimensat_time64
futimesat mknod mknodat uselib acct mount umount umount2 swapon swapoff quotactl pivot_root setxattr
lsetxattr getxattr lgetxattr listxattr llistxattr removexattr lremovexattr execve execveat
inotify_add_watch fanotify_mark name_to_handle_at open_tree move_mount mount_setattr
"""
_DESC = """
read write open openat openat2 creat close close_range fstat fstat64 oldfstat newfstatat fstatat64
statx poll ppoll ppoll_time64 select _newselect pselect6 pselect6_time64 lseek _llseek ioctl pread64
pwrite64 readv writev preadv pwritev preadv2 pwritev2 pipe pipe2 dup dup2 dup3 sendfile sendfile64
fcntl fcntl64 flock fsync fdatasync syncfs ftruncate ftruncate64 getdents getdents64 readdir fchdir
fchmod fchmodat fchmodat2 fchown fchown32 fchownat fstatfs fstatfs64 readahead fadvise64 fadvise64_64
arm_fadvise64_64 fallocate fsetxattr fgetxattr flistxattr fremovexattr epoll_create epoll_create1
epoll_ctl epoll_wait epoll_pwait epoll_pwait2 mq_open mq_timedsend mq_timedreceive mq_notify
mq_getsetattr inotify_init inotify_init1 inotify_add_watch inotify_rm_watch faccessat faccessat2
mkdirat mknodat unlinkat renameat renameat2 linkat symlinkat readlinkat futimesat utimensat splice tee
vmsplice sync_file_range sync_file_range2 signalfd signalfd4 timerfd_create timerfd_settime
timerfd_gettime eventfd eventfd2 perf_event_open fanotify_init fanotify_mark name_to_handle_at
open_by_handle_at setns finit_module memfd_create memfd_secret bpf copy_file_range io_uring_setup
io_uring_enter io_uring_register pidfd_open pidfd_getfd pidfd_send_signal fsopen fsconfig fsmount
fspick open_tree move_mount mmap mmap2 old_mmap execveat
"""
_NETWORK = """
socket socketpair bind listen connect accept accept4 getsockname getpeername setsockopt getsockopt
sendto recvfrom sendmsg recvmsg sendmmsg recvmmsg recvmmsg_time64 send recv shutdown socketcall
sendfile sendfile64 getpmsg putpmsg
"""
_PROCESS = """
clone clone3 fork vfork execve execveat exit exit_group wait4 waitid waitpid kill tkill tgkill
rt_sigqueueinfo rt_tgsigqueueinfo pidfd_send_signal
"""
_SIGNAL = """
rt_sigaction rt_sigprocmask rt_sigreturn rt_sigpending rt_sigtimedwait rt_sigtimedwait_time64
rt_sigqueueinfo rt_tgsigqueueinfo rt_sigsuspend sigaltstack sigaction sigprocmask sigreturn sigpending
sigsuspend signal sgetmask ssetmask pause kill tkill tgkill signalfd signalfd4 pidfd_send_signal
"""
_IPC = """
shmget shmat shmctl shmdt semget semop semctl semtimedop semtimedop_time64 msgget msgsnd msgrcv msgctl
ipc
"""
_MEMORY = """
mmap mmap2 old_mmap mprotect pkey_mprotect munmap brk mremap msync mincore madvise process_madvise
shmat shmdt mlock mlock2 munlock mlockall munlockall io_setup io_destroy remap_file_pages mbind
set_mempolicy get_mempolicy set_mempolicy_home_node migrate_pages move_pages
"""

#: Class name (without the %) -> syscall names.
CLASSES: dict[str, frozenset[str]] = {
    "file": frozenset(_FILE.split()),
    "desc": frozenset(_DESC.split()),
    "network": frozenset(_NETWORK.split()),
    "process": frozenset(_PROCESS.split()),
    "signal": frozenset(_SIGNAL.split()),
    "ipc": frozenset(_IPC.split()),
    "memory": frozenset(_MEMORY.split()),
}

#: Other spellings strace accepts.
ALIASES = {"net": "network"}


def expand(specs: Iterable[str]) -> frozenset[str]:
    """Syscall names from names and `%class`es, each spec possibly comma-separated.

    Raises ValueError naming an unknown class, so a typo does not silently select nothing.
    """
    names: set[str] = set()
    for spec in specs:
        for item in spec.split(","):
            item = item.strip()
            if not item:
                continue
            if item.startswith("%"):
                cls = ALIASES.get(item[1:], item[1:])
                if cls not in CLASSES:
                    known = " ".join(f"%{c}" for c in CLASSES)
                    raise ValueError(f"unknown syscall class {item} (known: {known})")
                names |= CLASSES[cls]
            else:
                names.add(item)
    return frozenset(names)
