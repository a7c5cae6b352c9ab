// SPDX-License-Identifier: GPL-2.0
/*
 * The writer thread: drains every CPU's ring, merges the events by
 * completion time, renders them and appends them to the record file.
 *
 * Why merging by time keeps each thread's records in order: a drain first
 * reads the clock (`limit`), then the rings' heads, and takes only events
 * that completed before `limit`. If a thread's later event (on CPU B) is
 * taken, it completed before `limit`; its earlier event (on CPU A) was
 * committed before the thread moved to B, so before `limit` too, and so
 * before A's head was read. Both are in the same drain and sorted.
 *
 * Kernel threads make no syscalls, so the file writes are never recorded.
 */
#include <linux/kthread.h>
#include <linux/fs.h>
#include <linux/file.h>
#include <linux/vmalloc.h>
#include <linux/delay.h>
#include <linux/timekeeping.h>
#include "my_sysdig.h"

#define OUT_SIZE (1024 * 1024)

static struct task_struct *writer_task;
static struct file *record_file;
static struct sc_out out;
static u64 *ring_heads;		/* per CPU, snapshot of one drain */
static loff_t cap_hit_at = -1;	/* file_end() when the cap refused, -1: not */
static struct sc_clock_conv clock_conv;	/* the probes' stamps to ns */

/* Bytes the file may still take, or U64_MAX without a cap. */
static u64 room_left(void)
{
	unsigned long cap = READ_ONCE(sc_max_size);
	loff_t size;

	if (!cap)
		return U64_MAX;
	size = i_size_read(file_inode(record_file)) + out.len;
	return size >= cap ? 0 : cap - size;
}

static u64 count_lines(const char *p, size_t len)
{
	u64 n = 0;

	while (len--)
		n += *p++ == '\n';
	return n;
}

static void flush_out(void)
{
	loff_t pos = 0;
	size_t done = 0;

	while (done < out.len) {
		ssize_t n = kernel_write(record_file, out.buf + done,
					 out.len - done, &pos);

		if (n <= 0) {
			/* disk full or I/O error: the lines not written are lost */
			atomic64_inc(&sc_stats.write_errors);
			atomic64_add(count_lines(out.buf + done, out.len - done),
				     &sc_stats.dropped_write);
			break;
		}
		done += n;
	}
	atomic64_add(done, &sc_stats.bytes);
	out.len = 0;
}

static void ensure_room(void)
{
	if (out.size - out.len < sc_render_bound())
		flush_out();
}

static s64 real_offset(void)
{
	return ktime_get_real_ns() - ktime_get_ns();
}

/* Room kept for the cap marker line. */
#define CAP_MARKER_ROOM 64

/* Bytes in the file and waiting to be written to it. */
static loff_t file_end(void)
{
	return i_size_read(file_inode(record_file)) + out.len;
}

/*
 * Whether @bytes more may be appended. The size cap latches: once records
 * did not fit, nothing more is appended (not even a smaller record that
 * would) until the reader truncates the file below where the cap hit.
 */
static bool cap_allows(size_t bytes)
{
	u64 room;

	if (cap_hit_at >= 0 && file_end() >= cap_hit_at)
		return false;
	cap_hit_at = -1;
	room = room_left();
	return room == U64_MAX || bytes + CAP_MARKER_ROOM <= room;
}

/* Counts @n records the cap refused; the first refusal is marked in the file. */
static void cap_refuse(u64 n)
{
	atomic64_add(n, &sc_stats.dropped_cap);
	if (cap_hit_at >= 0)
		return;
	cap_hit_at = file_end();
	if (room_left() < CAP_MARKER_ROOM)
		return;
	if (sc_format_binary) {
		sc_bin_add_drop(2, U32_MAX, 1, ktime_get_real_ns());
		sc_bin_emit_block(&out);
	} else {
		sc_out_printf(&out, "drop=1, reason=cap, ts=%lld\n",
			      ktime_get_real_ns());
	}
}

/* Writes the binary block built so far, unless the size cap refuses it. */
static void bin_flush_block(void)
{
	u32 size = sc_bin_block_size();

	if (!size)
		return;
	if (out.size - out.len < size)
		flush_out();
	if (!cap_allows(size)) {
		cap_refuse(sc_bin_discard());
		return;
	}
	atomic64_add(sc_bin_block_syscalls(), &sc_stats.written);
	sc_bin_emit_block(&out);
}

static void report_ring_drops(int cpu)
{
	struct sc_ring *r = sc_ring_of(cpu);
	u64 dropped = READ_ONCE(r->dropped);
	u64 n = dropped - r->dropped_seen;

	if (!n)
		return;
	r->dropped_seen = dropped;
	atomic64_add(n, &sc_stats.dropped_ring);
	if (sc_format_binary) {
		if (!sc_bin_has_room(0))
			bin_flush_block();
		sc_bin_add_drop(1, cpu, n, ktime_get_real_ns());
		return;
	}
	ensure_room();
	sc_out_printf(&out, "drop=%llu, reason=ring, cpu=%d, ts=%lld\n", n, cpu,
		      ktime_get_real_ns());
}

/* Appends one event as a text line, unless the size cap refuses it. */
static void emit(const struct sc_event *ev, s64 offset)
{
	size_t start;

	ensure_room();
	start = out.len;
	sc_render_event(&out, ev, offset);
	if (!cap_allows(0)) {	/* the line is already counted in out.len */
		out.len = start;
		cap_refuse(1);
		return;
	}
	atomic64_inc(&sc_stats.written);
}

/* One pass over all rings; @final takes everything, whatever its time. */
static void drain(bool final)
{
	u64 now = sc_clock_sync(&clock_conv);
	u64 limit = final ? U64_MAX : now;
	s64 offset = real_offset();
	int cpu;

	/* a new file, or one its reader truncated, starts with the header */
	if (!i_size_read(file_inode(record_file)) && !out.len) {
		if (sc_format_binary)
			sc_bin_file_header(&out);
		else
			sc_render_header(&out);
	}

	for_each_possible_cpu(cpu)
		ring_heads[cpu] = smp_load_acquire(&sc_ring_of(cpu)->head);

	for (;;) {
		struct sc_event *best = NULL, *ev;
		int best_cpu = -1;

		for_each_possible_cpu(cpu) {
			ev = sc_ring_peek(sc_ring_of(cpu), ring_heads[cpu]);
			if (ev && ev->exit_ns < limit &&
			    (!best || ev->exit_ns < best->exit_ns)) {
				best = ev;
				best_cpu = cpu;
			}
		}
		if (!best)
			break;
		/* the event is the writer's now: its stamps become ns in place */
		best->enter_ns = sc_clock_ns(&clock_conv, best->enter_ns);
		best->exit_ns = sc_clock_ns(&clock_conv, best->exit_ns);
		if (sc_format_binary) {
			/*
			 * End the block before it outgrows its buffers or the
			 * room the size cap leaves, so the cap is filled up
			 * rather than one oversized block refused whole.
			 */
			if (!sc_bin_has_room(best->len) ||
			    sc_bin_block_size() + best->len + CAP_MARKER_ROOM >
			    room_left())
				bin_flush_block();
			sc_bin_add_event(best, offset);
		} else {
			emit(best, offset);
		}
		sc_ring_consume(sc_ring_of(best_cpu), best);
	}
	for_each_possible_cpu(cpu) {
		sc_ring_release(sc_ring_of(cpu));
		report_ring_drops(cpu);
	}
	bin_flush_block();
	if (out.len)
		flush_out();
}

static int writer_fn(void *unused)
{
	while (!kthread_should_stop()) {
		drain(false);
		schedule_timeout_interruptible(
			msecs_to_jiffies(READ_ONCE(sc_flush_ms)));
	}
	return 0;
}

int sc_writer_start(void)
{
	int err;

	ring_heads = kcalloc(nr_cpu_ids, sizeof(*ring_heads), GFP_KERNEL);
	out.size = OUT_SIZE;
	out.len = 0;
	out.buf = vmalloc(out.size);
	if (!ring_heads || !out.buf) {
		err = -ENOMEM;
		goto fail;
	}
	sc_clock_conv_init(&clock_conv);
	err = sc_format_binary ? sc_bin_init() : sc_render_init();
	if (err)
		goto fail;
	record_file = filp_open(sc_path, O_WRONLY | O_CREAT | O_TRUNC |
				O_APPEND | O_LARGEFILE, 0600);
	if (IS_ERR(record_file)) {
		err = PTR_ERR(record_file);
		pr_err(MY_SYSDIG ": cannot open record file %s: error %d%s\n",
		       sc_path, err,
		       err == -ENOENT ? " (does its directory exist?)" : "");
		goto fail;
	}
	writer_task = kthread_run(writer_fn, NULL, MY_SYSDIG "_writer");
	if (IS_ERR(writer_task)) {
		err = PTR_ERR(writer_task);
		filp_close(record_file, NULL);
		goto fail;
	}
	return 0;
fail:
	sc_bin_exit();
	sc_render_exit();
	vfree(out.buf);
	kfree(ring_heads);
	return err;
}

/* Call once the probes are gone: whatever they left in the rings is kept. */
void sc_writer_stop(void)
{
	kthread_stop(writer_task);
	drain(true);
	filp_close(record_file, NULL);
	sc_bin_exit();
	sc_render_exit();
	vfree(out.buf);
	kfree(ring_heads);
}
