// SPDX-License-Identifier: GPL-2.0
/*
 * What a thread's syscall entry leaves for its exit: the entry time, and for
 * the few calls that replace their own arguments (execve) a copy of those
 * arguments taken before they are gone.
 *
 * A thread is inside at most one syscall, so the state is a slot indexed by
 * thread id (my_sysdig.h has the inline claim/find/release the probes use):
 * preallocated, claimed with one cmpxchg, and only touched by its owner
 * afterwards. The copies taken at entry go to a small pool of buffers, each
 * claimed with a cmpxchg too. Nothing is allocated or locked in the probe
 * path; when a slot or a buffer is taken, the record goes out without a
 * latency or without its arguments (counted in stats).
 */
#include <linux/atomic.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <linux/compat.h>
#include <asm/syscall.h>
#include "my_sysdig.h"
#include "syscalls/handlers.h"

#define ENTRY_BUFS 64

struct sc_slot *sc_slots;
struct sc_entry_buf *sc_entry_bufs;

int sc_inflight_init(void)
{
	sc_slots = vzalloc(sizeof(*sc_slots) << SC_SLOT_BITS);
	sc_entry_bufs = vzalloc(sizeof(*sc_entry_bufs) * ENTRY_BUFS);
	if (!sc_slots || !sc_entry_bufs) {
		vfree(sc_slots);
		vfree(sc_entry_bufs);
		return -ENOMEM;
	}
	return 0;
}

void sc_inflight_exit(void)
{
	vfree(sc_slots);
	vfree(sc_entry_bufs);
}

/*
 * Hands what @from's entry left to the slot of @tid, the thread's id from
 * now on, and frees @from. Only the owning thread calls it; the new slot
 * is claimed as an entry would claim it.
 */
void sc_slot_move(struct sc_slot *from, pid_t tid)
{
	struct sc_slot *to = sc_slot_of(tid);

	if (sc_slot_claim(to, tid)) {
		to->nr = from->nr;
		to->enter_ns = from->enter_ns;
		to->compat = from->compat;
		to->exit_path = from->exit_path;
		to->nargs = from->nargs;
		to->entry_buf = from->entry_buf;
		from->entry_buf = -1;
	} else {
		atomic64_inc(&sc_stats.entry_missed);
	}
	sc_slot_release(from);
}

/*
 * The slots and entry buffers held right now. Each belongs to a thread
 * inside a call, so both are 0 whenever no traced thread is: a number that
 * stays above that is state the module failed to give back.
 */
void sc_inflight_held(u32 *slots, u32 *bufs)
{
	int i;

	*slots = 0;
	*bufs = 0;
	for (i = 0; i < 1 << SC_SLOT_BITS; i++)
		*slots += READ_ONCE(sc_slots[i].tid) != 0;
	for (i = 0; i < ENTRY_BUFS; i++)
		*bufs += atomic_read(&sc_entry_bufs[i].busy);
}

static int claim_entry_buf(void)
{
	int i;

	for (i = 0; i < ENTRY_BUFS; i++)
		if (!atomic_read(&sc_entry_bufs[i].busy) &&
		    !atomic_cmpxchg(&sc_entry_bufs[i].busy, 0, 1))
			return i;
	return -1;
}

/*
 * copy_from_user_nofault() for the probes' copies, which snaplen keeps to
 * tens of bytes: eight bytes a load under one user_access_begin(). The
 * kernel's copy runs rep movsb, whose startup outweighs a copy this short
 * (QEMU's TCG counts it as one instruction per byte), and checks the
 * destination (hardened usercopy), which here is always a ring or an
 * entry buffer: 28 instructions per nginx record in raw, 11 this way.
 * Returns 0, or -EFAULT for a bad or missing page (faults are off: the
 * copy fails instead of sleeping).
 */
int sc_copy_user(void *dst, unsigned long uptr, u32 n)
{
	const char __user *src = (const char __user *)uptr;
	char *to = dst;
	u64 w;
	u32 v;
	u16 h;
	u8 b;

	if (!n)
		return 0;
	pagefault_disable();
	if (!user_access_begin(src, n)) {
		pagefault_enable();
		return -EFAULT;
	}
	for (; n >= 8; n -= 8, src += 8, to += 8) {
		unsafe_get_user(w, (const u64 __user *)src, fault);
		put_unaligned(w, (u64 *)to);
	}
	if (n & 4) {
		unsafe_get_user(v, (const u32 __user *)src, fault);
		put_unaligned(v, (u32 *)to);
		src += 4;
		to += 4;
	}
	if (n & 2) {
		unsafe_get_user(h, (const u16 __user *)src, fault);
		put_unaligned(h, (u16 *)to);
		src += 2;
		to += 2;
	}
	if (n & 1) {
		unsafe_get_user(b, (const u8 __user *)src, fault);
		*to = b;
	}
	user_access_end();
	pagefault_enable();
	return 0;
fault:
	user_access_end();
	pagefault_enable();
	return -EFAULT;
}

/*
 * The word path takes the lowest flagged byte as the first NUL. x86 has no
 * CONFIG_CPU_LITTLE_ENDIAN (only arches that can be either do), so the
 * byte order comes from the one the kernel's headers define.
 */
#ifdef __LITTLE_ENDIAN
#define SC_LITTLE_ENDIAN true
#else
#define SC_LITTLE_ENDIAN false
#endif

/*
 * Copies a user string of at most @max bytes into @dst (room for @max + 1);
 * SC_CAPF_CUT tells a string that did not fit. Returns the bytes kept or a
 * negative error. strncpy_from_user_nofault() is not exported to modules,
 * and strncpy_from_user() checks the destination as a hardened-usercopy
 * one on every call (always a ring or an entry buffer here): 75
 * instructions of the 8-byte and empty paths nginx stats with, this way
 * about 20. Words are read while they stay in one page (a string that ends
 * before a page that is not mapped must not fail): the page's end is
 * worked out once per page, not tested for every word. Page faults are
 * disabled: a missing page makes the copy fail instead of sleeping. The
 * bytes after the terminating NUL are stored as zeros, as the kernel's
 * copy does, so nothing past the string reaches the record.
 */
int sc_capture_string(char *dst, unsigned long uptr, u32 max, u8 *flags)
{
	const char __user *src = (const char __user *)uptr;
	unsigned long limit = max + 1;
	/* where the page under src + n ends: no word is read across it */
	unsigned long page_end = PAGE_SIZE - (uptr & ~PAGE_MASK);
	unsigned long n = 0, stop;
	u64 w, zero;
	u8 b;

	if (uptr >= TASK_SIZE_MAX)
		return -EFAULT;
	limit = min(limit, TASK_SIZE_MAX - uptr);
	pagefault_disable();
	if (!user_access_begin(src, limit)) {
		pagefault_enable();
		return -EFAULT;
	}
	while (n < limit) {
		stop = min(limit, page_end);
		while (SC_LITTLE_ENDIAN && n + 8 <= stop) {
			unsafe_get_user(w, (const u64 __user *)(src + n), fault);
			zero = sc_zero_byte(w);
			if (zero) {
				/* the lowest flagged byte is the first NUL */
				zero = __ffs64(zero) / 8;
				put_unaligned(w & ((1ULL << (8 * zero)) - 1),
					      (u64 *)(dst + n));
				n += zero;
				goto done;
			}
			put_unaligned(w, (u64 *)(dst + n));
			n += 8;
		}
		for (; n < stop; n++) {
			unsafe_get_user(b, (const u8 __user *)(src + n), fault);
			dst[n] = b;
			if (!b)
				goto done;
		}
		page_end += PAGE_SIZE;
	}
done:
	user_access_end();
	pagefault_enable();
	if (n > max) {
		*flags |= SC_CAPF_CUT;
		n = max;
	}
	return n;
fault:
	user_access_end();
	pagefault_enable();
	return -EFAULT;
}

/* Copies argv into @dst as struct sc_argv_item records, at most @max bytes. */
int sc_capture_argv(char *dst, unsigned long uptr, u32 max, u32 snaplen,
		    bool compat, u8 *flags)
{
	size_t psize = compat ? sizeof(u32) : sizeof(u64);
	struct sc_argv_item item;
	u32 used = 0;
	int i, n;

	for (i = 0;; i++) {
		u64 p = 0;

		if (sc_copy_user(&p, uptr + i * psize, psize))
			return i ? used : -EFAULT;
		if (!p)
			break;
		if (used + sizeof(item) + snaplen + 1 > max) {
			*flags |= SC_CAPF_CUT;
			break;
		}
		item.flags = 0;
		item.reserved = 0;
		n = sc_capture_string(dst + used + sizeof(item), p, snaplen,
				      &item.flags);
		if (n < 0)
			return i ? used : n;
		item.len = n;
		memcpy(dst + used, &item, sizeof(item));
		used += sizeof(item) + n;
	}
	return used;
}

static void capture_entry_args(struct sc_entry_buf *eb, const struct sc_desc *desc,
			       bool compat)
{
	u32 snaplen = READ_ONCE(sc_snaplen);
	int i;

	eb->len = 0;
	eb->ncap = 0;
	for (i = 0; i < desc->nargs; i++) {
		struct sc_capture *cap = (void *)(eb->data + eb->len);
		u32 room = SC_ENTRY_BUF_SIZE - eb->len - sizeof(*cap);
		int n;

		if (!sc_kind_at_entry(desc->kinds[i]) || !eb->args[i] ||
		    room < snaplen + 8)
			continue;
		cap->arg = i;
		cap->flags = 0;
		cap->reserved = 0;
		if (desc->kinds[i] == SK_ARGV)
			n = sc_capture_argv(cap->data, eb->args[i], room, snaplen,
					    compat, &cap->flags);
		else if (desc->kinds[i] == SK_TIMESPEC_INOUT)
			n = sc_copy_user(cap->data, eb->args[i],
					 sc_kind_struct_size(SK_TIMESPEC, compat)) ?
				-EFAULT : sc_kind_struct_size(SK_TIMESPEC, compat);
		else
			n = sc_capture_string(cap->data, eb->args[i], snaplen,
					      &cap->flags);
		if (n < 0)
			continue;
		cap->len = n;
		eb->len += sc_capture_size(n);
		eb->ncap++;
	}
}

/* Copies the arguments and what the call will replace, into an entry buffer. */
void sc_entry_capture(struct sc_slot *s, struct pt_regs *regs,
		      const struct sc_desc *desc, bool compat)
{
	unsigned long args[SC_MAX_ARGS];
	struct sc_entry_buf *eb;
	int i;

	s->entry_buf = claim_entry_buf();
	if (s->entry_buf < 0)
		return;
	eb = &sc_entry_bufs[s->entry_buf];
	syscall_get_arguments(current, regs, args);
	for (i = 0; i < SC_MAX_ARGS; i++)
		eb->args[i] = args[i];
	capture_entry_args(eb, desc, compat);
}
