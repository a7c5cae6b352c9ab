/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The decoded syscalls: one line each, listing every argument in order as
 * A(kind, field). Field names are those of the kernel's own tracepoint
 * (/sys/kernel/tracing/events/syscalls/sys_enter_<name>/format), so a
 * record reads like what bpftrace shows. Kinds are the handlers in
 * handlers.h. A BUF_IN argument's length is the argument after it.
 * Numbers come from the kernel headers: a syscall the architecture lacks is
 * fenced with #ifdef __NR_<name>.
 *
 * Every syscall not listed here still gets a record with its real name and
 * result, without arguments.
 */

/* files and descriptors */
SC(read,	A(FD, fd), A(BUF_RET, buf), A(ULONG, count))
SC(write,	A(FD, fd), A(BUF_IN, buf), A(ULONG, count))
SC(close,	A(FD, fd))
SC(dup,		A(FD, fildes))
SC(lseek,	A(FD, fd), A(LONG, offset), A(UINT, whence))
SC(openat,	A(DIRFD, dfd), A(STR, filename), A(HEX, flags), A(OCT, mode))
#ifdef __NR_open
SC(open,	A(STR, filename), A(HEX, flags), A(OCT, mode))
#endif
SC(fstat,	A(FD, fd), A(PTR, statbuf))
SC(getcwd,	A(STR_OUT, buf), A(ULONG, size))
SC(ioctl,	A(FD, fd), A(HEX, cmd), A(HEX, arg))
SC(ppoll,	A(PTR, ufds), A(UINT, nfds), A(TIMESPEC_INOUT, tsp), A(PTR, sigmask),
		A(ULONG, sigsetsize))

/* network */
SC(socket,	A(INT, family), A(INT, type), A(INT, protocol))
SC(sendto,	A(FD, fd), A(BUF_IN, buff), A(ULONG, len), A(HEX, flags),
		A(PTR, addr), A(INT, addr_len))
SC(recvfrom,	A(FD, fd), A(BUF_RET, ubuf), A(ULONG, size), A(HEX, flags),
		A(PTR, addr), A(PTR, addr_len))

/* memory */
SC(mmap,	A(PTR, addr), A(ULONG, len), A(HEX, prot), A(HEX, flags),
		A(FD, fd), A(HEX, off))
SC(munmap,	A(PTR, addr), A(ULONG, len))

/* processes, threads, signals, time */
SC(getuid)
SC(execve,	A(STR_ENTRY, filename), A(ARGV, argv), A(PTR, envp))
SC(exit,	A(INT, error_code))
SC(exit_group,	A(INT, error_code))
#ifdef CONFIG_CLONE_BACKWARDS
SC(clone,	A(HEX, clone_flags), A(PTR, newsp), A(PTR, parent_tidptr),
		A(HEX, tls), A(PTR, child_tidptr))
#else
SC(clone,	A(HEX, clone_flags), A(PTR, newsp), A(PTR, parent_tidptr),
		A(PTR, child_tidptr), A(HEX, tls))
#endif
SC(tgkill,	A(INT, tgid), A(INT, pid), A(INT, sig))
SC(futex,	A(PTR, uaddr), A(INT, op), A(UINT, val), A(PTR, utime),
		A(PTR, uaddr2), A(UINT, val3))
SC(nanosleep,	A(TIMESPEC, rqtp), A(PTR, rmtp))
