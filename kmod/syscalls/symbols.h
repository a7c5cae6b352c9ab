/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Named constants for flag and enum arguments, from the kernel's own
 * macros (see symbols.c). A flag word is split into named fields: an entry
 * matches when (value & mask) == entry value, so multi-bit fields such as
 * the access mode (O_RDONLY is 0 within O_ACCMODE) or the socket type
 * work the same way as single bits.
 */
#ifndef MY_SYSDIG_SYMBOLS_H
#define MY_SYSDIG_SYMBOLS_H

#include <linux/types.h>

/* names carry their lengths: the text writer copies them on most lines */
struct sc_sym {
	u64 value;
	u64 mask;
	const char *name;
	u32 len;
};

struct sc_symtab {
	const char *name;	/* for the record file's header */
	const char *zero;	/* name of the value 0, or NULL */
	u32 zero_len;
	unsigned int count;
	const struct sc_sym *syms;
};

#define SC_SYMTABS(X) \
	X(open) X(fdflags) X(at) X(access) X(prot) X(mmap) X(clone) X(signal) X(af) \
	X(socktype) X(ipproto) X(msg) X(shut) X(sol) X(fcntl) X(flock) \
	X(seek) X(futex) X(prctl) X(ptrace) X(bpf) X(seccomp_op) \
	X(seccomp_flags) X(mount) X(umount) X(rlimit) X(rlim) X(uring_setup) \
	X(uring_enter) X(uring_register) X(epoll) X(efd) X(inotify) X(sfd) \
	X(tfd) X(clockid) X(uffd) X(mlock) X(mcl) X(splice) X(rename) \
	X(semctl) X(ipcflags) X(fsconfig) X(capver) X(resolve)

#define SC_DECLARE_SYMTAB(t) extern const struct sc_symtab sym_##t;
SC_SYMTABS(SC_DECLARE_SYMTAB)

extern const struct sc_symtab *const sc_all_symtabs[];
extern const unsigned int sc_nr_symtabs;

#endif
