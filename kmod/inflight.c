// SPDX-License-Identifier: GPL-2.0
/*
 * What a thread's syscall entry leaves for its exit: the entry time, and for
 * the few calls that replace their own arguments (execve) a copy of those
 * arguments taken before they are gone.
 *
 * A thread is inside at most one syscall, so the state is keyed by thread id
 * in a fixed, preallocated open-addressing table: a slot is claimed with one
 * cmpxchg and only its owner touches it afterwards. Nothing is allocated or
 * locked in the probe path; when the few slots a thread id may use are all
 * taken, the record just goes out without a latency (counted in stats).
 */
#include <linux/atomic.h>
#include <linux/hash.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <linux/compat.h>
#include <asm/syscall.h>
#include "my_sysdig.h"
#include "syscalls/handlers.h"

#define SLOT_BITS 14
#define SLOT_PROBES 8
#define ENTRY_BUFS 64
#define ENTRY_BUF_SIZE (2 * SC_MAX_SNAPLEN + 256)

struct inflight_slot {
	pid_t tid;		/* 0: free */
	s16 entry_buf;		/* index into entry_bufs, -1: none */
	u8 compat;		/* the ABI at entry: execve may change it */
	u8 reserved;
	long nr;
	u64 enter_ns;
};

struct entry_buf {
	atomic_t busy;
	u32 len;
	u32 ncap;
	u64 args[SC_MAX_ARGS];
	char data[ENTRY_BUF_SIZE];
};

static struct inflight_slot *slots;
static struct entry_buf *entry_bufs;

int sc_inflight_init(void)
{
	slots = vzalloc(sizeof(*slots) << SLOT_BITS);
	entry_bufs = vzalloc(sizeof(*entry_bufs) * ENTRY_BUFS);
	if (!slots || !entry_bufs) {
		vfree(slots);
		vfree(entry_bufs);
		return -ENOMEM;
	}
	return 0;
}

void sc_inflight_exit(void)
{
	vfree(slots);
	vfree(entry_bufs);
}

static struct inflight_slot *slot_at(u32 h, int i)
{
	return &slots[(h + i) & ((1 << SLOT_BITS) - 1)];
}

static struct inflight_slot *find_slot(pid_t tid)
{
	u32 h = hash_32(tid, SLOT_BITS);
	int i;

	for (i = 0; i < SLOT_PROBES; i++)
		if (READ_ONCE(slot_at(h, i)->tid) == tid)
			return slot_at(h, i);
	return NULL;
}

static void free_entry_buf(struct inflight_slot *s)
{
	if (s->entry_buf >= 0)
		atomic_set_release(&entry_bufs[s->entry_buf].busy, 0);
	s->entry_buf = -1;
}

static struct inflight_slot *claim_slot(pid_t tid)
{
	u32 h = hash_32(tid, SLOT_BITS);
	struct inflight_slot *s = find_slot(tid);
	int i;

	if (s) {		/* left over from an exit we did not see */
		free_entry_buf(s);
		return s;
	}
	for (i = 0; i < SLOT_PROBES; i++) {
		s = slot_at(h, i);
		if (!READ_ONCE(s->tid) && !cmpxchg(&s->tid, 0, tid)) {
			s->entry_buf = -1;
			return s;
		}
	}
	return NULL;
}

static int claim_entry_buf(void)
{
	int i;

	for (i = 0; i < ENTRY_BUFS; i++)
		if (!atomic_read(&entry_bufs[i].busy) &&
		    !atomic_cmpxchg(&entry_bufs[i].busy, 0, 1))
			return i;
	return -1;
}

/*
 * Copies a user string of at most @max bytes into @dst (room for @max + 1);
 * SC_CAPF_CUT tells a string that did not fit. Returns the bytes kept or a
 * negative error. strncpy_from_user_nofault() is not exported to modules,
 * so this is what it does: with page faults disabled a missing page makes
 * the copy fail instead of sleeping.
 */
int sc_capture_string(char *dst, unsigned long uptr, u32 max, u8 *flags)
{
	long n;

	pagefault_disable();
	n = strncpy_from_user(dst, (const char __user *)uptr, max + 1);
	pagefault_enable();

	if (n < 0)
		return n;
	if (n > max) {
		*flags |= SC_CAPF_CUT;
		n = max;
	}
	return n;
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

		if (copy_from_user_nofault(&p, (void __user *)(uptr + i * psize),
					   psize))
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

static void capture_entry_args(struct entry_buf *eb, const struct sc_desc *desc,
			       bool compat)
{
	u32 snaplen = READ_ONCE(sc_snaplen);
	int i;

	eb->len = 0;
	eb->ncap = 0;
	for (i = 0; i < desc->nargs; i++) {
		struct sc_capture *cap = (void *)(eb->data + eb->len);
		u32 room = ENTRY_BUF_SIZE - eb->len - sizeof(*cap);
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
			n = copy_from_user_nofault(cap->data,
					(void __user *)eb->args[i],
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

bool sc_desc_needs_entry(const struct sc_desc *desc)
{
	int i;

	for (i = 0; desc && i < desc->nargs; i++)
		if (sc_kind_at_entry(desc->kinds[i]))
			return true;
	return false;
}

void sc_on_enter(struct pt_regs *regs, long nr, bool compat,
		 const struct sc_desc *desc, u64 now)
{
	struct inflight_slot *s = claim_slot(current->pid);
	struct entry_buf *eb;
	unsigned long args[SC_MAX_ARGS];
	int i;

	if (!s) {
		atomic64_inc(&sc_stats.entry_missed);
		return;
	}
	s->nr = nr;
	s->compat = compat;
	s->enter_ns = now;
	if (!sc_desc_needs_entry(desc))
		return;
	s->entry_buf = claim_entry_buf();
	if (s->entry_buf < 0)
		return;
	eb = &entry_bufs[s->entry_buf];
	syscall_get_arguments(current, regs, args);
	for (i = 0; i < SC_MAX_ARGS; i++)
		eb->args[i] = args[i];
	capture_entry_args(eb, desc, compat);
}

bool sc_take_entry(pid_t tid, struct sc_entry_state *st)
{
	struct inflight_slot *s = find_slot(tid);

	memset(st, 0, sizeof(*st));
	if (!s)
		return false;
	st->enter_ns = s->enter_ns;
	st->nr = s->nr;
	st->compat = s->compat;
	if (s->entry_buf >= 0) {
		struct entry_buf *eb = &entry_bufs[s->entry_buf];

		st->captures = eb->data;
		st->caplen = eb->len;
		st->ncap = eb->ncap;
		st->has_args = true;
		memcpy(st->args, eb->args, sizeof(st->args));
	}
	/* The slot is released by sc_release_entry once the copy is done. */
	st->slot = s;
	return true;
}

void sc_release_entry(struct sc_entry_state *st)
{
	struct inflight_slot *s = st->slot;

	if (!s)
		return;
	free_entry_buf(s);
	smp_store_release(&s->tid, 0);
	st->slot = NULL;
}
