/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The decoded syscalls: one line each, listing every argument in order.
 *   A(kind, field)   a plain kind (handlers.h)
 *   F(table, field)  a flag word named by a symbol table (symbols.c)
 *   E(table, field)  one value named by a symbol table
 * Field names are those of the kernel's own tracepoint
 * (/sys/kernel/tracing/events/syscalls/sys_enter_<name>/format), so a
 * record reads like what bpftrace shows. A BUF_IN argument's length is the
 * argument after it; a SOCKADDR's length too (the value for SOCKADDR, a
 * pointer to it for SOCKADDR_OUT). Numbers come from the kernel headers: a
 * syscall the architecture lacks is fenced with #ifdef __NR_<name>.
 *
 * Every syscall not listed here still gets a record with its real name and
 * result, without arguments.
 */

/* --- files: open, read, write, close --- */
SC(read,	A(FD, fd), A(BUF_RET, buf), A(ULONG, count))
SC(write,	A(FD, fd), A(BUF_IN, buf), A(ULONG, count))
SC(readv,	A(FD, fd), A(PTR, vec), A(ULONG, vlen))
SC(writev,	A(FD, fd), A(PTR, vec), A(ULONG, vlen))
SC(preadv,	A(FD, fd), A(PTR, vec), A(ULONG, vlen), A(ULONG, pos_l),
		A(ULONG, pos_h))
SC(pwritev,	A(FD, fd), A(PTR, vec), A(ULONG, vlen), A(ULONG, pos_l),
		A(ULONG, pos_h))
SC(close,	A(FD, fd))
SC(openat,	A(DIRFD, dfd), A(STR, filename), F(open, flags), A(OCT, mode))
SC(openat2,	A(DIRFD, dfd), A(STR, filename), A(OPEN_HOW, how),
		A(ULONG, usize))
SC(open_by_handle_at, A(FD, mountdirfd), A(PTR, handle), F(open, flags))
#ifdef __NR_open
SC(open,	A(STR, filename), F(open, flags), A(OCT, mode))
#endif
#ifdef __NR_creat
SC(creat,	A(STR, pathname), A(OCT, mode))
#endif
SC(lseek,	A(FD, fd), A(LONG, offset), E(seek, whence))
SC(dup,		A(FD, fildes))
#ifdef __NR_dup2
SC(dup2,	A(FD, oldfd), A(FD, newfd))
#endif
SC(dup3,	A(FD, oldfd), A(FD, newfd), F(fdflags, flags))
#ifdef __NR_pipe
SC(pipe,	A(FDPAIR, fildes))
#endif
SC(pipe2,	A(FDPAIR, fildes), F(fdflags, flags))
SC(fcntl,	A(FD, fd), E(fcntl, cmd), A(HEX, arg))
SC(flock,	A(FD, fd), F(flock, cmd))
SC(ioctl,	A(FD, fd), A(HEX, cmd), A(HEX, arg))
SC(sendfile,	A(FD, out_fd), A(FD, in_fd), A(PTR, offset), A(ULONG, count))
SC(splice,	A(FD, fd_in), A(PTR, off_in), A(FD, fd_out), A(PTR, off_out),
		A(ULONG, len), F(splice, flags))
SC(copy_file_range, A(FD, fd_in), A(PTR, off_in), A(FD, fd_out),
		A(PTR, off_out), A(ULONG, len), A(UINT, flags))

/* --- files: metadata and the namespace --- */
SC(fstat,	A(FD, fd), A(PTR, statbuf))
#ifdef __NR_newfstatat
SC(newfstatat,	A(DIRFD, dfd), A(STR, filename), A(PTR, statbuf), F(at, flag))
#endif
SC(statx,	A(DIRFD, dfd), A(STR, filename), F(at, flags), A(HEX, mask),
		A(PTR, buffer))
#ifdef __NR_stat
SC(stat,	A(STR, filename), A(PTR, statbuf))
SC(lstat,	A(STR, filename), A(PTR, statbuf))
#endif
#ifdef __NR_access
SC(access,	A(STR, filename), F(access, mode))
#endif
SC(getcwd,	A(STR_OUT, buf), A(ULONG, size))
SC(chdir,	A(STR, filename))
SC(fchdir,	A(FD, fd))
SC(chroot,	A(STR, filename))
#ifdef __NR_chmod
SC(chmod,	A(STR, filename), A(OCT, mode))
#endif
SC(fchmod,	A(FD, fd), A(OCT, mode))
SC(fchmodat,	A(DIRFD, dfd), A(STR, filename), A(OCT, mode))
#ifdef __NR_chown
SC(chown,	A(STR, filename), A(UID, user), A(UID, group))
SC(lchown,	A(STR, filename), A(UID, user), A(UID, group))
#endif
SC(fchown,	A(FD, fd), A(UID, user), A(UID, group))
SC(fchownat,	A(DIRFD, dfd), A(STR, filename), A(UID, user), A(UID, group),
		F(at, flag))
#ifdef __NR_getdents
SC(getdents,	A(FD, fd), A(PTR, dirent), A(UINT, count))
#endif
SC(getdents64,	A(FD, fd), A(PTR, dirent), A(UINT, count))
#ifdef __NR_mkdir
SC(mkdir,	A(STR, pathname), A(OCT, mode))
SC(rmdir,	A(STR, pathname))
SC(unlink,	A(STR, pathname))
SC(link,	A(STR, oldname), A(STR, newname))
SC(symlink,	A(STR, oldname), A(STR, newname))
SC(rename,	A(STR_ENTRY, oldname), A(STR_ENTRY, newname))
#endif
SC(mkdirat,	A(DIRFD, dfd), A(STR, pathname), A(OCT, mode))
SC(unlinkat,	A(DIRFD, dfd), A(STR, pathname), F(at, flag))
SC(linkat,	A(DIRFD, olddfd), A(STR, oldname), A(DIRFD, newdfd),
		A(STR, newname), F(at, flags))
SC(symlinkat,	A(STR, oldname), A(DIRFD, newdfd), A(STR, newname))
#ifdef __NR_renameat
SC(renameat,	A(DIRFD, olddfd), A(STR_ENTRY, oldname), A(DIRFD, newdfd),
		A(STR_ENTRY, newname))
#endif
SC(renameat2,	A(DIRFD, olddfd), A(STR_ENTRY, oldname), A(DIRFD, newdfd),
		A(STR_ENTRY, newname), F(rename, flags))
SC(mount,	A(STR, dev_name), A(STR, dir_name), A(STR, type),
		F(mount, flags), A(PTR, data))
SC(umount2,	A(STR, name), F(umount, flags))
SC(fsconfig,	A(FD, fd), E(fsconfig, cmd), A(STR, _key), A(PTR, _value),
		A(INT, aux))
SC(quotactl,	A(UINT, cmd), A(STR, special), A(UINT, id), A(PTR, addr))

/* --- event and notification descriptors --- */
#ifdef __NR_epoll_create
SC(epoll_create, A(INT, size))
SC(epoll_wait,	A(FD, epfd), A(PTR, events), A(INT, maxevents),
		A(INT, timeout))
#endif
SC(epoll_create1, F(epoll, flags))
#ifdef __NR_eventfd
SC(eventfd,	A(UINT, count))
#endif
SC(eventfd2,	A(UINT, count), F(efd, flags))
#ifdef __NR_inotify_init
SC(inotify_init)
#endif
SC(inotify_init1, F(inotify, flags))
#ifdef __NR_signalfd
SC(signalfd,	A(FD, ufd), A(PTR, user_mask), A(ULONG, sizemask))
#endif
SC(signalfd4,	A(FD, ufd), A(PTR, user_mask), A(ULONG, sizemask),
		F(sfd, flags))
SC(timerfd_create, E(clockid, clockid), F(tfd, flags))
SC(userfaultfd,	F(uffd, flags))
#ifdef __NR_poll
SC(poll,	A(PTR, ufds), A(UINT, nfds), A(INT, timeout_msecs))
#endif
#ifdef __NR_select
SC(select,	A(INT, n), A(PTR, inp), A(PTR, outp), A(PTR, exp), A(PTR, tvp))
#endif
SC(ppoll,	A(PTR, ufds), A(UINT, nfds), A(TIMESPEC_INOUT, tsp),
		A(PTR, sigmask), A(ULONG, sigsetsize))

/* --- io_uring --- */
SC(io_uring_setup, A(UINT, entries), A(URING_PARAMS, params))
SC(io_uring_enter, A(FD, fd), A(UINT, to_submit), A(UINT, min_complete),
		F(uring_enter, flags), A(PTR, argp), A(ULONG, argsz))
SC(io_uring_register, A(FD, fd), E(uring_register, opcode), A(PTR, arg),
		A(UINT, nr_args))

/* --- network --- */
SC(socket,	E(af, family), F(socktype, type), E(ipproto, protocol))
SC(socketpair,	E(af, family), F(socktype, type), E(ipproto, protocol),
		A(FDPAIR, usockvec))
SC(bind,	A(FD, fd), A(SOCKADDR, umyaddr), A(INT, addrlen))
SC(connect,	A(FD, fd), A(SOCKADDR, uservaddr), A(INT, addrlen))
SC(listen,	A(FD, fd), A(INT, backlog))
SC(accept,	A(FD, fd), A(SOCKADDR_OUT, upeer_sockaddr),
		A(PTR, upeer_addrlen))
SC(accept4,	A(FD, fd), A(SOCKADDR_OUT, upeer_sockaddr),
		A(PTR, upeer_addrlen), F(socktype, flags))
SC(getsockname,	A(FD, fd), A(SOCKADDR_OUT, usockaddr), A(PTR, usockaddr_len))
SC(getpeername,	A(FD, fd), A(SOCKADDR_OUT, usockaddr), A(PTR, usockaddr_len))
SC(sendto,	A(FD, fd), A(BUF_IN, buff), A(ULONG, len), F(msg, flags),
		A(SOCKADDR, addr), A(INT, addr_len))
SC(recvfrom,	A(FD, fd), A(BUF_RET, ubuf), A(ULONG, size), F(msg, flags),
		A(SOCKADDR_OUT, addr), A(PTR, addr_len))
SC(sendmsg,	A(FD, fd), A(PTR, msg), F(msg, flags))
SC(recvmsg,	A(FD, fd), A(PTR, msg), F(msg, flags))
SC(sendmmsg,	A(FD, fd), A(PTR, mmsg), A(UINT, vlen), F(msg, flags))
SC(recvmmsg,	A(FD, fd), A(PTR, mmsg), A(UINT, vlen), F(msg, flags),
		A(TIMESPEC_INOUT, timeout))
SC(shutdown,	A(FD, fd), E(shut, how))
SC(getsockopt,	A(FD, fd), E(sol, level), A(INT, optname), A(PTR, optval),
		A(PTR, optlen))
SC(setsockopt,	A(FD, fd), E(sol, level), A(INT, optname), A(PTR, optval),
		A(INT, optlen))

/* --- memory --- */
SC(brk,		A(PTR, brk))
SC(mmap,	A(PTR, addr), A(ULONG, len), F(prot, prot), F(mmap, flags),
		A(FD, fd), A(HEX, off))
SC(mprotect,	A(PTR, start), A(ULONG, len), F(prot, prot))
SC(munmap,	A(PTR, addr), A(ULONG, len))
SC(mlock,	A(PTR, start), A(ULONG, len))
SC(mlock2,	A(PTR, start), A(ULONG, len), F(mlock, flags))
SC(munlock,	A(PTR, start), A(ULONG, len))
SC(mlockall,	F(mcl, flags))
SC(munlockall)

/* --- processes, threads, signals, time --- */
SC(execve,	A(STR_ENTRY, filename), A(ARGV, argv), A(PTR, envp))
SC(execveat,	A(DIRFD, fd), A(STR_ENTRY, filename), A(ARGV, argv),
		A(PTR, envp), F(at, flags))
SC(exit,	A(INT, error_code))
SC(exit_group,	A(INT, error_code))
#ifdef CONFIG_CLONE_BACKWARDS
SC(clone,	A(CLONE_FLAGS, clone_flags), A(PTR, newsp),
		A(PTR, parent_tidptr), A(HEX, tls), A(PTR, child_tidptr))
#else
SC(clone,	A(CLONE_FLAGS, clone_flags), A(PTR, newsp),
		A(PTR, parent_tidptr), A(PTR, child_tidptr), A(HEX, tls))
#endif
SC(clone3,	A(CLONE_ARGS, uargs), A(ULONG, size))
#ifdef __NR_fork
SC(fork)
SC(vfork)
#endif
SC(unshare,	F(clone, unshare_flags))
SC(setns,	A(FD, fd), F(clone, flags))
SC(kill,	A(INT, pid), E(signal, sig))
SC(tkill,	A(INT, pid), E(signal, sig))
SC(tgkill,	A(INT, tgid), A(INT, pid), E(signal, sig))
SC(futex,	A(PTR, uaddr), F(futex, op), A(UINT, val), A(PTR, utime),
		A(PTR, uaddr2), A(UINT, val3))
SC(nanosleep,	A(TIMESPEC, rqtp), A(PTR, rmtp))
SC(prctl,	E(prctl, option), A(HEX, arg2), A(HEX, arg3), A(HEX, arg4),
		A(HEX, arg5))
SC(ptrace,	E(ptrace, request), A(INT, pid), A(PTR, addr), A(HEX, data))
SC(seccomp,	E(seccomp_op, op), F(seccomp_flags, flags), A(PTR, uargs))
/* 7.2 and 7.3 pass bpf() common attributes too (6.12 does not). */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(7, 2, 0)
SC(bpf,		E(bpf, cmd), A(PTR, uattr), A(UINT, size),
		A(PTR, uattr_common), A(UINT, size_common))
#else
SC(bpf,		E(bpf, cmd), A(PTR, uattr), A(UINT, size))
#endif
SC(setpgid,	A(INT, pid), A(INT, pgid))
SC(setsid)
#ifdef __NR_getrlimit
SC(getrlimit,	E(rlimit, resource), A(RLIMIT_OUT, rlim))
#endif
SC(setrlimit,	E(rlimit, resource), A(RLIMIT, rlim))

/* --- credentials --- */
SC(getuid)
SC(geteuid)
SC(getgid)
SC(getegid)
SC(setuid,	A(UID, uid))
SC(setgid,	A(UID, gid))
SC(setresuid,	A(UID, ruid), A(UID, euid), A(UID, suid))
SC(setresgid,	A(UID, rgid), A(UID, egid), A(UID, sgid))
SC(getresuid,	A(ID_OUT, ruidp), A(ID_OUT, euidp), A(ID_OUT, suidp))
SC(getresgid,	A(ID_OUT, rgidp), A(ID_OUT, egidp), A(ID_OUT, sgidp))
SC(capset,	A(CAP_HEADER, header), A(CAP_DATA, data))

/* --- System V semaphores --- */
SC(semget,	A(HEX, key), A(INT, nsems), F(ipcflags, semflg))
SC(semop,	A(INT, semid), A(PTR, tsops), A(UINT, nsops))
SC(semctl,	A(INT, semid), A(INT, semnum), F(semctl, cmd), A(HEX, arg))
