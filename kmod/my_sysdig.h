/* SPDX-License-Identifier: GPL-2.0 */
/* Declarations shared by the capture, transport and rendering parts. */
#ifndef MY_SYSDIG_H
#define MY_SYSDIG_H

#include <linux/types.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/atomic.h>
#include <linux/jump_label.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#if defined(CONFIG_X86)
#include <asm/tsc.h>
#elif defined(CONFIG_ARM64)
#include <asm/arch_timer.h>
#endif
#if __has_include(<linux/unaligned.h>)	/* 6.12 moved it */
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif
#include "event.h"

#define MY_SYSDIG "my_sysdig"
#define SC_MAX_NAMES 64
#define SC_MAX_SNAPLEN 4096
#define SC_MIN_MAX_SIZE (64 * 1024)

/* --- clock.c: the events' timestamps --- */
DECLARE_STATIC_KEY_FALSE(sc_clock_is_counter);

/* The counter the clocksource reads, in program order. */
static __always_inline u64 sc_counter_read(void)
{
#if defined(CONFIG_X86)
	return rdtsc_ordered();
#elif defined(CONFIG_ARM64)
	return arch_timer_read_counter();
#else
	return 0;
#endif
}

/* A probe's timestamp: counter ticks or ns, see clock.c; the writer converts. */
static __always_inline u64 sc_clock_read(bool counter)
{
	return counter ? sc_counter_read() : ktime_get_ns();
}

/* The same, with the clock chosen at load; for the slow paths. */
static __always_inline u64 sc_clock(void)
{
	return sc_clock_read(static_branch_likely(&sc_clock_is_counter));
}

/* The writer's conversion of stamps: ns = ns + (stamp' - stamp) * mult / 2^32 */
struct sc_clock_conv {
	u64 stamp;
	u64 ns;
	u64 mult;
};

void sc_clock_init(void);
void sc_clock_conv_init(struct sc_clock_conv *c);
u64 sc_clock_sync(struct sc_clock_conv *c);

/* A stamp in ns; inline, the writer converts two per record. */
static inline u64 sc_clock_ns(const struct sc_clock_conv *c, u64 stamp)
{
	if (!static_branch_likely(&sc_clock_is_counter))
		return stamp;
	if (stamp >= c->stamp)
		return c->ns + mul_u64_u64_shr(stamp - c->stamp, c->mult, 32);
	return c->ns - mul_u64_u64_shr(c->stamp - stamp, c->mult, 32);
}

/* --- filter.c: module parameters that select what is recorded --- */
struct sc_filter {
	pid_t pid;			/* 0: any */
	pid_t exclude_pid;		/* 0: none */
	bool everyone;			/* neither pid nor names given */
	bool names_only;		/* names given, no pid, no exclude_pid */
	bool one_name;			/* names_only with one name, names[0] */
	bool by_syscall;		/* only the syscalls below */
	unsigned int nnames;
	char names[SC_MAX_NAMES][TASK_COMM_LEN] __aligned(8);	/* zero padded */
	unsigned long *native_nrs;	/* bitmap over native numbers */
	unsigned long *compat_nrs;	/* bitmap over compat numbers */
	struct rcu_head rcu;
};

extern struct sc_filter __rcu *sc_active_filter;

/*
 * proc_name with one name, the common filter, also keeps its name outside
 * the RCU-published filter: a miss (almost every call of every other task)
 * then compares two words without first loading the filter and testing
 * its mode. The key is on only while sc_one_name is the active filter's
 * name: filter.c turns it off and waits for the probes before it changes
 * the name.
 */
DECLARE_STATIC_KEY_FALSE(sc_one_name_key);
extern char sc_one_name[TASK_COMM_LEN] __aligned(8);

extern unsigned int sc_snaplen;
extern unsigned int sc_flush_ms;
extern unsigned long sc_max_size;
extern unsigned int sc_ring_kb;
extern char *sc_path;
extern bool sc_direct_io;
enum sc_format { SC_FORMAT_TEXT, SC_FORMAT_BINARY, SC_FORMAT_RAW };
extern enum sc_format sc_format;

/*
 * A task's comm is zero padded to TASK_COMM_LEN (__set_task_comm), so two
 * comms are equal when their two words are: compared without memcmp, in
 * the probes' filter and in the writer's per-thread caches.
 */
static __always_inline u64 sc_comm_word(const char *comm, int i)
{
	return get_unaligned((const u64 *)comm + i);
}

/* Whether two zero-padded comms are the same name: the first word decides most. */
static __always_inline bool sc_comm_same(const char *a, const char *b)
{
	return sc_comm_word(a, 0) == sc_comm_word(b, 0) &&
	       sc_comm_word(a, 1) == sc_comm_word(b, 1);
}

/* The filter runs in both probes of every syscall of every task: inline. */
static __always_inline bool sc_comm_listed(const struct sc_filter *f,
					   const char *comm)
{
	unsigned int i;

	for (i = 0; i < f->nnames; i++)
		if (sc_comm_same(comm, f->names[i]))
			return true;
	return false;
}

static __always_inline bool sc_task_selected(const struct sc_filter *f,
					     struct task_struct *t)
{
	/* proc_name=nginx, the common filter: two word compares */
	if (likely(f->one_name))
		return sc_comm_same(t->comm, f->names[0]);
	if (f->names_only)
		return sc_comm_listed(f, t->comm);
	if (t->tgid == f->exclude_pid)
		return false;
	if (f->everyone || t->tgid == f->pid)
		return true;
	return sc_comm_listed(f, t->comm);
}

unsigned int sc_table_size(bool compat);

static __always_inline bool sc_syscall_selected(const struct sc_filter *f,
						bool compat, long nr)
{
	unsigned long *bits = compat ? f->compat_nrs : f->native_nrs;

	if (likely(!f->by_syscall))
		return true;
	return nr >= 0 && nr < sc_table_size(compat) && test_bit(nr, bits);
}

void sc_filter_free_all(void);
int sc_filter_publish(void);

/* --- syscalls/table.c: names and argument descriptions --- */
enum sc_arg_kind {
	SK_NONE = 0,
	SK_INT,		/* int, decimal */
	SK_UINT,	/* unsigned int, decimal */
	SK_LONG,	/* long, decimal */
	SK_ULONG,	/* size_t and friends, decimal */
	SK_HEX,		/* flag words, hex */
	SK_PTR,		/* user pointer: hex or NULL */
	SK_OCT,		/* file mode */
	SK_FD,		/* int file descriptor */
	SK_DIRFD,	/* like SK_FD, AT_FDCWD by name */
	SK_STR,		/* NUL-terminated user string, read at exit */
	SK_STR_OUT,	/* string the kernel wrote, read at exit on success */
	SK_STR_ENTRY,	/* string read at entry (the call replaces memory) */
	SK_ARGV,	/* NULL-terminated array of strings, read at entry */
	SK_BUF_IN,	/* bytes the caller passed, length in arg len_arg */
	SK_BUF_RET,	/* bytes the kernel wrote, length = result */
	SK_TIMESPEC,	/* struct __kernel_timespec in */
	SK_TIMESPEC_INOUT, /* the same, updated by the call: read at entry */
	SK_FLAGS,	/* flag word, named by the arg's symbol table */
	SK_ENUM,	/* one value, named by the arg's symbol table */
	SK_CLONE_FLAGS,	/* clone(): CLONE_* bits and the exit signal */
	SK_UID,		/* uid_t/gid_t: -1 means "unchanged" */
	SK_SOCKADDR,	/* struct sockaddr in, length in the next argument */
	SK_SOCKADDR_OUT, /* struct sockaddr out, length at *next argument */
	SK_FDPAIR,	/* int[2] out (pipe, socketpair) */
	SK_ID_OUT,	/* one uid/gid out (getresuid) */
	SK_RLIMIT,	/* struct rlimit in */
	SK_RLIMIT_OUT,	/* struct rlimit out */
	SK_CLONE_ARGS,	/* struct clone_args in */
	SK_OPEN_HOW,	/* struct open_how in */
	SK_CAP_HEADER,	/* struct __user_cap_header_struct in */
	SK_CAP_DATA,	/* struct __user_cap_data_struct[2] in */
	SK_URING_PARAMS, /* struct io_uring_params, filled by the call */
};

struct sc_symtab;

struct sc_desc {
	u8 nargs;
	bool decoded;
	u8 kinds[SC_MAX_ARGS];
	const char *names[SC_MAX_ARGS];
	const struct sc_symtab *syms[SC_MAX_ARGS];
};

const char *sc_name(bool compat, long nr);
long sc_nr_by_name(bool compat, const char *name);

/*
 * What the probes ask of a syscall number on every call, precomputed at
 * init so that it is one load: the exec check runs even for tasks the
 * filter does not select.
 */
enum sc_nr_flags {
	SC_NR_DECODED = 1 << 0,		/* has an argument description */
	SC_NR_NO_RETURN = 1 << 1,	/* exit, exit_group: recorded at entry */
	SC_NR_EXEC = 1 << 2,		/* execve, execveat */
	SC_NR_FORK = 1 << 3,		/* clone, clone3, fork, vfork */
	SC_NR_ENTRY_CAPTURE = 1 << 4,	/* copies user memory at entry */
	SC_NR_EXIT_CAPTURE = 1 << 5,	/* copies user memory at exit */
	SC_NR_EXIT_ONE_PATH = 1 << 6,	/* ... only one string: a path */
};

struct sc_nr_info {
	u8 flags;
	u8 nargs;		/* arguments the description names */
	u8 exit_snaps;		/* exit captures as long as snaplen allows */
	u8 exit_caps;		/* bit i: argument i is copied at exit */
	u16 exit_fixed;		/* bytes of the fixed-size exit captures */
};

#define SC_NR_INFO_SIZE 1024	/* above every native and compat table */
static_assert(!(SC_NR_INFO_SIZE & (SC_NR_INFO_SIZE - 1)));	/* a mask */
extern struct sc_nr_info sc_nr_infos[2][SC_NR_INFO_SIZE];
/* each number's flags in either ABI: what the probes check before the ABI */
extern u8 sc_nr_any_flags_table[SC_NR_INFO_SIZE];

/*
 * A number's description, NULL when it has none that decodes: a load, for
 * the capturing exits and the text render, which called a function for it
 * on every record.
 */
extern const struct sc_desc *sc_descs[2][SC_NR_INFO_SIZE];

static __always_inline const struct sc_desc *sc_desc_of(bool compat, long nr)
{
	return (unsigned long)nr < SC_NR_INFO_SIZE ? sc_descs[compat][nr] : NULL;
}

static __always_inline u8 sc_nr_any_flags(long nr)
{
	return (unsigned long)nr < SC_NR_INFO_SIZE ? sc_nr_any_flags_table[nr] : 0;
}

/*
 * Whether @nr may be an exec, for the entry of every call of every task
 * the filter does not select: the number is masked instead of checked, so
 * a number past the table reads another's flags. A false yes only sends
 * the call to the slow path, which looks the number up exactly.
 */
static __always_inline bool sc_nr_maybe_exec(long nr)
{
	return sc_nr_any_flags_table[nr & (SC_NR_INFO_SIZE - 1)] & SC_NR_EXEC;
}

static __always_inline struct sc_nr_info sc_nr_info(bool compat, long nr)
{
	struct sc_nr_info none = { 0 };

	if ((unsigned long)nr >= SC_NR_INFO_SIZE)
		return none;
	return sc_nr_infos[compat][nr];
}

int sc_table_init(void);
const char *sc_arch_name(void);
const char *sc_compat_abi_name(void);

/* --- inflight.c: what a thread's entry left for its exit --- */
int sc_inflight_init(void);
void sc_inflight_exit(void);

/*
 * One slot per thread id, direct-mapped: thread ids are handed out in
 * sequence and PID_MAX_DEFAULT is 32768, so two threads inside a syscall
 * at once land on one slot only when their ids are 64 Ki apart. The entry
 * claims its slot with one cmpxchg, the exit finds it with one compare.
 */
#define SC_SLOT_BITS 16

/*
 * Which exit an entry leaves for its call. The fast entry stores its
 * call's SC_NR_EXIT_CAPTURE flag as is: 0 or SC_EXIT_CAPTURE.
 */
enum sc_exit_path {
	SC_EXIT_PLAIN = 0,	/* native, no user memory: the event's head */
	SC_EXIT_SLOW = 1,	/* the general exit: ABI, entry copies, filter */
	SC_EXIT_CAPTURE = SC_NR_EXIT_CAPTURE,	/* native, copies at exit only */
};

struct sc_slot {
	pid_t tid;		/* 0: free */
	u32 nr;			/* the entry's number: execve replaces registers */
	u64 enter_ns;
	s16 entry_buf;		/* index into sc_entry_bufs, -1: none */
	u8 compat;		/* the entry's ABI: execve may change it */
	u8 exit_path;		/* enum sc_exit_path: what the exit must do */
	u8 nargs;		/* for the fast exit: the call's argument count */
};

/* Arguments and user memory copied at entry, for the few calls that need it. */
#define SC_ENTRY_BUF_SIZE (2 * SC_MAX_SNAPLEN + 256)
struct sc_entry_buf {
	atomic_t busy;
	u32 len;
	u32 ncap;
	u64 args[SC_MAX_ARGS];
	char data[SC_ENTRY_BUF_SIZE];	/* struct sc_capture records */
};

extern struct sc_slot *sc_slots;
extern struct sc_entry_buf *sc_entry_bufs;

static __always_inline struct sc_slot *sc_slot_of(pid_t tid)
{
	return &sc_slots[tid & ((1 << SC_SLOT_BITS) - 1)];
}

static __always_inline void sc_slot_drop_entry_buf(struct sc_slot *s)
{
	if (unlikely(s->entry_buf >= 0)) {
		atomic_set_release(&sc_entry_bufs[s->entry_buf].busy, 0);
		s->entry_buf = -1;
	}
}

/* Claims @s, @tid's slot, for a syscall entry; false when another thread holds it. */
static __always_inline bool sc_slot_claim(struct sc_slot *s, pid_t tid)
{
	pid_t old = READ_ONCE(s->tid);

	if (unlikely(old == tid)) {
		/* left over from an exit that was not recorded */
		sc_slot_drop_entry_buf(s);
		return true;
	}
	if (old || cmpxchg(&s->tid, 0, tid))
		return false;
	s->entry_buf = -1;
	return true;
}

/* The slot the entry of @tid left; NULL when its entry was not seen. */
static __always_inline struct sc_slot *sc_slot_find(pid_t tid)
{
	struct sc_slot *s = sc_slot_of(tid);

	return READ_ONCE(s->tid) == tid ? s : NULL;
}

static __always_inline void sc_slot_release(struct sc_slot *s)
{
	sc_slot_drop_entry_buf(s);
	smp_store_release(&s->tid, 0);
}

void sc_slot_move(struct sc_slot *from, pid_t tid);
void sc_inflight_held(u32 *slots, u32 *bufs);
void sc_entry_capture(struct sc_slot *s, struct pt_regs *regs,
		      const struct sc_desc *desc, bool compat);
int sc_copy_user(void *dst, unsigned long uptr, u32 n);
int sc_capture_string(char *dst, unsigned long uptr, u32 max, u8 *flags);
int sc_capture_argv(char *dst, unsigned long uptr, u32 max, u32 snaplen,
		    bool compat, u8 *flags);

/* --- ring.c: per-CPU single-producer single-consumer byte rings --- */
struct sc_ring {
	char *buf;
	u32 size;		/* power of two */
	u32 mask;
	u64 head;		/* written by the producer (this CPU) */
	u64 resv;		/* producer-private: start of the reserved event */
	u64 dropped;		/* producer: events that did not fit */
	u32 wake_at;		/* size / 2: a fuller ring wakes the writer */
	u64 tail ____cacheline_aligned;	/* written by the consumer */
	u64 cursor;		/* consumer-private read position */
	u64 dropped_seen;	/* consumer: drops already reported */
};

int sc_rings_init(unsigned int bytes_per_cpu);
void sc_rings_exit(void);
extern struct sc_ring __percpu *sc_rings;

static inline struct sc_ring *sc_ring_of(int cpu)
{
	return per_cpu_ptr(sc_rings, cpu);
}

void *sc_ring_reserve_slow(struct sc_ring *r, u32 len);
struct kvec;
void sc_ring_span(struct kvec *vec, const struct sc_ring *r, u64 from, u64 to);

/* writer.c: what wakes the sleeping writer early, see there */
enum { SC_WRITER_AWAKE, SC_WRITER_NAPPING, SC_WRITER_IDLE };
extern int sc_writer_sleep;
void sc_writer_wake(void);

/* Whether @len bytes fit between the head and the end of the buffer. */
static __always_inline bool sc_ring_fits_to_end(struct sc_ring *r, u32 len)
{
	return r->size - (r->head & r->mask) >= len;
}

/*
 * Reserves @len bytes (a multiple of 8) when they fit before the end of
 * the buffer, and in the ring without waking the writer (under half full,
 * or it is awake already); otherwise NULL, having done nothing: the
 * probe's fast path then takes its slow path, sc_ring_reserve() calls
 * sc_ring_reserve_slow(). No call here, so the fast path saves no
 * registers. Preemption is disabled by the caller.
 */
static __always_inline void *sc_ring_reserve_quiet(struct sc_ring *r, u32 len)
{
	u64 head = r->head;
	u64 used;

	if (unlikely(!sc_ring_fits_to_end(r, len)))
		return NULL;
	used = head + len - smp_load_acquire(&r->tail);
	if (unlikely(used > r->wake_at) &&
	    (READ_ONCE(sc_writer_sleep) != SC_WRITER_AWAKE || used > r->size))
		return NULL;
	r->resv = head;
	return r->buf + (head & r->mask);
}

/*
 * Reserves @len contiguous bytes in this CPU's ring; NULL (and a drop
 * counted) when the ring is full. Inline: the probe path calls it on every
 * record; the wrap, the writer's wakeup and the drop are out of line.
 */
static __always_inline void *sc_ring_reserve(struct sc_ring *r, u32 len)
{
	void *ev = sc_ring_reserve_quiet(r, len);

	return likely(ev) ? ev : sc_ring_reserve_slow(r, len);
}

/* Publishes the event reserved last, now known to be @len bytes long. */
static __always_inline void sc_ring_commit(struct sc_ring *r, u32 len)
{
	smp_store_release(&r->head, r->resv + len);
}

/*
 * After a commit: wakes the writer if it sleeps until the next event. One
 * load of a line nobody writes while records flow; call it last, where
 * the call can be a tail call.
 */
static __always_inline void sc_writer_notify(void)
{
	if (unlikely(READ_ONCE(sc_writer_sleep) == SC_WRITER_IDLE))
		sc_writer_wake();
}

/* The next event before @limit_head, skipping pads; NULL when none. */
static inline struct sc_event *sc_ring_peek(struct sc_ring *r, u64 limit_head)
{
	while (r->cursor < limit_head) {
		struct sc_event *ev =
			(struct sc_event *)(r->buf + (r->cursor & r->mask));

		if (likely(ev->type != SC_EV_PAD))
			return ev;
		r->cursor += ev->len;
	}
	return NULL;
}

static inline void sc_ring_consume(struct sc_ring *r, struct sc_event *ev)
{
	r->cursor += ev->len;
}

void sc_ring_release(struct sc_ring *r);

/* --- probe.c --- */
int sc_probes_register(void);
void sc_probes_unregister(void);

/* --- render.c: one text line per event --- */
struct sc_out {
	char *buf;
	size_t len;
	size_t size;
};
void sc_render_event(struct sc_out *o, const struct sc_event *ev,
		     s64 real_offset);
size_t sc_render_bound(void);
int sc_render_init(void);
void sc_render_exit(void);
void sc_render_header(struct sc_out *o);
void sc_render_tables(struct sc_out *o);

/* --- crc.c: the CRC-32C of binary blocks and raw chunks --- */
struct kvec;
void sc_crc_init(void);
void sc_crc_exit(void);
u32 sc_crc(const struct kvec *vec, int n);

/* --- raw.c: the raw format's chunks (binfmt.h) --- */
struct sc_raw_chunk;
u32 sc_raw_chunk(struct sc_raw_chunk *ch, u32 pad, struct kvec *vec,
		 const struct sc_ring *r, u64 from, u64 to);
void sc_raw_file_header(struct sc_out *o);

/* --- binary.c: the binary format's encoder (binfmt.h) --- */
int sc_bin_init(void);
void sc_bin_exit(void);
bool sc_bin_has_room(u32 ev_len);
bool sc_bin_add_event(const struct sc_event *ev, s64 real_offset, u64 room);
void sc_bin_add_drop(u16 reason, u32 cpu, u64 count, s64 ts);
u32 sc_bin_block_size(void);
u32 sc_bin_discard(void);
u32 sc_bin_block_vecs(struct kvec *vec);	/* fills three */
void sc_file_header(struct sc_out *o, const char *magic, u32 version);
void sc_bin_file_header(struct sc_out *o);
void sc_out_printf(struct sc_out *o, const char *fmt, ...) __printf(2, 3);
void sc_out_str(struct sc_out *o, const char *s);
/* a string literal: its length is known at compile time */
#define sc_out_lit(o, lit)						\
	do {								\
		memcpy((o)->buf + (o)->len, lit, sizeof(lit) - 1);	\
		(o)->len += sizeof(lit) - 1;				\
	} while (0)
void sc_out_digits(struct sc_out *o, u64 v);

/*
 * Decimal. Values under 100 (descriptors, most results, flags shown as
 * numbers) are half of a line's numbers: inline, they cost no call and no
 * digit count, which were 25 of the 42 instructions a number took.
 */
static __always_inline void sc_out_u64(struct sc_out *o, u64 v)
{
	char *p = o->buf + o->len;

	if (v < 10) {
		p[0] = '0' + v;
		o->len += 1;
	} else if (v < 100) {
		p[0] = '0' + v / 10;
		p[1] = '0' + v % 10;
		o->len += 2;
	} else {
		sc_out_digits(o, v);
	}
}

static __always_inline void sc_out_s64(struct sc_out *o, s64 v)
{
	u64 u = v;

	if (v < 0) {
		o->buf[o->len++] = '-';
		u = -(u64)v;
	}
	sc_out_u64(o, u);
}
void sc_out_hex(struct sc_out *o, u64 v);
void sc_out_oct(struct sc_out *o, u64 v);

/* --- recfile.c: appends to the record file, past the page cache if it can --- */
int sc_recfile_open(void);
void sc_recfile_close(void);
size_t sc_recfile_append(struct kvec *vec, int n, size_t bytes);
char *sc_recfile_room(size_t want, size_t *room);
void sc_recfile_commit(size_t len);
loff_t sc_recfile_size(void);
void sc_recfile_sync(void);
void sc_recfile_drain_end(bool now, bool may_hold);
bool sc_recfile_direct(void);
unsigned int sc_recfile_map_block(void);
bool sc_recfile_map(const char *p, size_t len);
bool sc_recfile_maps_busy(void);
bool sc_recfile_maps_in_flight(void);
void sc_recfile_wait(void);

/* --- writer.c: the kernel thread that drains rings to the file --- */
int sc_writer_start(void);
void sc_writer_stop(void);

/* --- stats.c --- */
struct sc_stats {
	atomic64_t written;
	atomic64_t dropped_ring;
	atomic64_t dropped_cap;
	atomic64_t dropped_write;	/* lost to write errors (disk full) */
	atomic64_t bytes;
	atomic64_t bytes_in_place;	/* of those, ring bytes not copied (raw) */
	atomic64_t write_errors;
	atomic64_t entry_missed;	/* no free in-flight slot */
};
extern struct sc_stats sc_stats;
int sc_stats_init(void);
void sc_stats_exit(void);

#endif
