/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The binary layout of one completed syscall as it sits in a per-CPU ring.
 * The probe fills it with raw values and copies of user memory; everything
 * that can wait (names, escaping, number formatting) is done later by the
 * writer thread, away from the traced task.
 */
#ifndef MY_SYSDIG_EVENT_H
#define MY_SYSDIG_EVENT_H

#include <linux/types.h>
#include <linux/sched.h>

#define SC_MAX_ARGS 6

enum sc_event_type {
	SC_EV_PAD = 1,		/* filler up to the end of the ring */
	SC_EV_SYSCALL = 2,
};

enum sc_event_flags {
	SC_EVF_COMPAT = 1 << 0,		/* 32-bit ABI call on a 64-bit kernel */
	SC_EVF_NO_ENTRY = 1 << 1,	/* entry not seen: latency unknown */
	SC_EVF_NO_RETURN = 1 << 2,	/* exit/exit_group: recorded at entry */
	SC_EVF_NO_ARGS = 1 << 3,	/* arguments were gone by exit (execve) */
};

struct sc_event {
	u32 len;		/* whole event with captures, multiple of 8 */
	u16 type;
	u16 flags;
	u32 nr;
	u8 nargs;		/* values in args[] */
	u8 ncap;		/* struct sc_capture records after them */
	u16 reserved;
	union {
		struct {
			s32 tid;	/* task->pid and task->tgid, in */
			s32 pid;	/* their order: one copy for both */
		};
		u64 ids;
	};
	u64 enter_ns;		/* sc_clock() at entry, ns once the writer took it */
	u64 exit_ns;		/* sc_clock() at exit: the merge key */
	s64 ret;
	char comm[TASK_COMM_LEN];
	u64 args[];		/* as many as the call has: getppid's event is the head */
};

/*
 * What a probe reserves for an event before its captures: room for six
 * argument values, so that they are stored without a loop over the call's
 * count; the committed length keeps only the call's own.
 */
#define SC_EVENT_ROOM (sizeof(struct sc_event) + SC_MAX_ARGS * sizeof(u64))

enum sc_capture_flags {
	SC_CAPF_CUT = 1 << 0,	/* more bytes (or elements) than were kept */
};

/* A copy of user memory belonging to argument `arg`, padded to 8 bytes. */
struct sc_capture {
	u8 arg;
	u8 flags;
	u16 len;
	u32 reserved;
	char data[];
};

/*
 * An argv capture holds its elements back to back, each as a
 * struct sc_argv_item followed by `len` bytes (no padding).
 */
struct sc_argv_item {
	u8 flags;
	u8 reserved;
	u16 len;
};

static inline u32 sc_capture_size(u32 len)
{
	return ALIGN(sizeof(struct sc_capture) + len, 8);
}

static inline struct sc_capture *sc_first_capture(const struct sc_event *ev)
{
	return (struct sc_capture *)(ev->args + ev->nargs);
}

static inline struct sc_capture *sc_next_capture(const struct sc_capture *cap)
{
	return (struct sc_capture *)((char *)cap + sc_capture_size(cap->len));
}

#endif
