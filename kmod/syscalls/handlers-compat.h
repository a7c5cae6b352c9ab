/* SPDX-License-Identifier: GPL-2.0 */
/*
 * 32-bit ABIs (ia32 on x86_64, AArch32 on arm64): every decoded syscall
 * takes its 64-bit entry from handlers-table.h, with pointers, longs and
 * structures read at their 32-bit sizes. Listed here are only the calls
 * whose argument list itself differs.
 */

/* Both 32-bit ABIs pass clone's arguments in the CLONE_BACKWARDS order. */
SC(clone,	A(CLONE_FLAGS, clone_flags), A(PTR, newsp),
		A(PTR, parent_tidptr), A(HEX, tls), A(PTR, child_tidptr))
/* ia32's mmap is old_mmap(struct mmap_arg_struct *); AArch32 has only mmap2. */
SC(mmap,	A(PTR, arg))
/* mmap2 exists only in 32-bit ABIs: its offset is in pages. */
SC(mmap2,	A(PTR, addr), A(ULONG, len), F(prot, prot), F(mmap, flags),
		A(FD, fd), A(ULONG, pgoff))
/* newfstatat's 32-bit form: the same arguments, a struct stat64 */
SC(fstatat64,	A(DIRFD, dfd), A(STR, filename), A(PTR, statbuf), F(at, flag))
