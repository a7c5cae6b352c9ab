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
#include <linux/uio.h>
#include <linux/irq_work.h>
#include "my_sysdig.h"
#include "binfmt.h"

#define OUT_SIZE (1024 * 1024)

static struct task_struct *writer_task;
/*
 * What the writer renders or encodes next: the file header, text lines.
 * Text goes straight into the record file's stage when the file is
 * written directly (out_in_stage), else into out_own, which is appended.
 */
static struct sc_out out;
static char *out_own;
static bool out_in_stage;
static u64 *ring_heads;		/* per CPU, snapshot of one drain */
static loff_t cap_hit_at = -1;	/* file_end() when the cap refused, -1: not */
static struct sc_clock_conv clock_conv;	/* the probes' stamps to ns */
static u64 block_room;		/* bytes the binary block may take: the cap */

/* format=raw: what a drain takes from each CPU's ring */
struct raw_take {
	u64 from;		/* stream position where its bytes start */
	u64 events;
	u64 dropped;		/* the ring's drops since the last chunk */
};
static struct raw_take *raw_takes;	/* per CPU */
/* the header being written, and zeros that pad it to a direct block */
static struct {
	struct sc_raw_chunk ch;
	char zeros[PAGE_SIZE];
} raw_head;
static u64 raw_seq;		/* drains since load */
static u32 raw_part, raw_parts;	/* the chunk's number in its drain, and how many */

/* Bytes the file may still take, or U64_MAX without a cap. */
static u64 room_left(void)
{
	unsigned long cap = READ_ONCE(sc_max_size);
	loff_t size;

	if (!cap)
		return U64_MAX;
	size = sc_recfile_size() + out.len;
	return size >= cap ? 0 : cap - size;
}

/*
 * The records in out from the line holding byte @from to the end: what a
 * write that stopped at @from lost. Records are the lines that start with
 * "pid="; headers and markers are not counted as records anywhere.
 */
static u64 records_from(size_t from)
{
	size_t i = from;
	u64 n = 0;

	while (i > 0 && out.buf[i - 1] != '\n')
		i--;
	while (i < out.len) {
		const char *eol = memchr(out.buf + i, '\n', out.len - i);

		n += out.buf[i] == 'p';
		i = eol ? eol - out.buf + 1 : out.len;
	}
	return n;
}

/* out as the writer's own buffer, empty */
static void out_open_own(void)
{
	out_in_stage = false;
	out.buf = out_own;
	out.size = OUT_SIZE;
	out.len = 0;
}

/*
 * Text lines are rendered into the stage of direct writes, from where the
 * write takes them, when it has room for a whole record: copying them
 * there was 144 instructions a line under QEMU's -icount (one a byte).
 * The stage must stay as it is until flush_out(): nothing else touches
 * the record file meanwhile.
 */
static void out_open(void)
{
	size_t room;
	char *p = NULL;

	if (sc_format == SC_FORMAT_TEXT)
		p = sc_recfile_room(sc_render_bound(), &room);
	out_in_stage = p;
	out.buf = p ?: out_own;
	out.size = p ? room : OUT_SIZE;
	out.len = 0;
}

static void flush_out(void)
{
	struct kvec vec = { out.buf, out.len };
	size_t done;

	if (out_in_stage) {
		sc_recfile_commit(out.len);
		out_open_own();
		return;
	}
	if (!out.len)
		return;
	done = sc_recfile_append(&vec, 1, out.len);

	/* in binary and raw mode out holds only the file header */
	if (done < out.len && sc_format == SC_FORMAT_TEXT) {
		/* the records not written whole are lost, and were counted written */
		u64 lost = records_from(done);

		atomic64_add(lost, &sc_stats.dropped_write);
		atomic64_sub(lost, &sc_stats.written);
	}
	out.len = 0;
}

static void ensure_room(void)
{
	if (out.size - out.len < sc_render_bound()) {
		flush_out();
		out_open();
	}
}

static s64 real_offset(void)
{
	return ktime_get_real_ns() - ktime_get_ns();
}

/* Room kept for the cap marker: a line, a drop record or a raw chunk header. */
#define CAP_MARKER_ROOM 96

/* Bytes in the file and waiting to be written to it. */
static loff_t file_end(void)
{
	return sc_recfile_size() + out.len;
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

/*
 * Writes the binary block built so far and starts the next one. Returns
 * its syscall records, or 0 when the write fell short: that leaves damage
 * a reader skips, so every record of the block is lost (counted).
 */
static u32 bin_write_block(void)
{
	struct kvec vec[3];
	u32 size = sc_bin_block_vecs(vec);
	bool whole;
	u32 n;

	if (!size)
		return 0;
	if (out.len)	/* the file header goes first */
		flush_out();
	whole = sc_recfile_append(vec, ARRAY_SIZE(vec), size) == size;
	n = sc_bin_discard();
	if (whole)
		return n;
	atomic64_add(n, &sc_stats.dropped_write);
	return 0;
}

/*
 * Appends the chunk @vec (sc_raw_chunk()), whose data is @r's bytes from
 * @from to @to: those between the first and the last multiple of @block in
 * the ring are mapped into the direct write, the rest copied (the header's
 * padding made the first boundary fall on one in the file). Returns
 * whether the file took all of it.
 */
static bool raw_append_mapped(const struct kvec *vec, struct sc_ring *r,
			      u64 from, u64 to, unsigned int block)
{
	u64 at = round_up(from, block), end = round_down(to, block);
	struct kvec copy[2] = { vec[0], { r->buf + (from & r->mask), at - from } };
	size_t n = copy[0].iov_len + copy[1].iov_len;

	if (sc_recfile_append(copy, 2, n) != n)
		return false;
	while (at < end) {
		u32 len = min_t(u64, end - at, r->size - (at & r->mask));

		if (!sc_recfile_map(r->buf + (at & r->mask), len))
			break;
		at += len;
	}
	sc_ring_span(copy, r, at, to);
	n = to - at;
	return sc_recfile_append(copy, 2, n) == n;
}

/*
 * Appends a raw chunk (binfmt.h): @cpu's ring bytes from stream position
 * @from to @to and its @dropped records (SC_RAW_EVENTS), or the cap's
 * marker. With a direct @block (0: none), the ring's whole blocks are
 * written from where they lie. Returns whether the file took all of it.
 */
static bool raw_write(u16 kind, int cpu, u64 dropped, u64 from, u64 to,
		      unsigned int block)
{
	bool counter = static_branch_likely(&sc_clock_is_counter);
	struct sc_ring *r = sc_ring_of(cpu);
	struct kvec vec[3];
	u32 size, pad = 0;

	raw_head.ch = (struct sc_raw_chunk) {
		.kind = kind,
		.flags = counter ? SC_RAWF_COUNTER : 0,
		.cpu = cpu,
		.part = kind == SC_RAW_EVENTS ? raw_part++ : 0,
		.parts = kind == SC_RAW_EVENTS ? raw_parts : 0,
		.seq = raw_seq,
		.dropped = dropped,
		.clock_stamp = clock_conv.stamp,
		.clock_ns = clock_conv.ns,
		.clock_mult = clock_conv.mult,
		.real_offset = real_offset(),
	};
	if (!counter) {	/* stamps are ns: the conversion is the identity */
		raw_head.ch.clock_stamp = ktime_get_ns();
		raw_head.ch.clock_ns = raw_head.ch.clock_stamp;
		raw_head.ch.clock_mult = 1ULL << 32;
	}
	/* a whole block to map: its start in the ring falls on one in the file */
	if (block && round_up(from, block) < round_down(to, block))
		pad = -(file_end() + sizeof(raw_head.ch) +
			round_up(from, block) - from) & (block - 1);
	else
		block = 0;
	size = sc_raw_chunk(&raw_head.ch, pad, vec, r, from, to);
	if (out.len)	/* the file header goes first */
		flush_out();
	if (block)
		return raw_append_mapped(vec, r, from, to, block);
	return sc_recfile_append(vec, ARRAY_SIZE(vec), size) == size;
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
	if (sc_format == SC_FORMAT_BINARY) {
		sc_bin_add_drop(2, U32_MAX, 1, ktime_get_real_ns());
		bin_write_block();
	} else if (sc_format == SC_FORMAT_RAW) {
		raw_write(SC_RAW_CAP, 0, 1, 0, 0, 0);
	} else {
		sc_out_printf(&out, "drop=1, reason=cap, ts=%lld\n",
			      ktime_get_real_ns());
	}
}

/* Bytes the next binary block may take before the size cap refuses it. */
static u64 cap_block_room(void)
{
	u64 room = room_left();

	return room > CAP_MARKER_ROOM ? room - CAP_MARKER_ROOM : 0;
}

/* Writes the binary block built so far, unless the size cap refuses it. */
static void bin_flush_block(void)
{
	u32 size = sc_bin_block_size();

	if (size) {
		if (!cap_allows(size))
			cap_refuse(sc_bin_discard());
		else
			atomic64_add(bin_write_block(), &sc_stats.written);
	}
	block_room = cap_block_room();
}

/* @cpu's ring drops since the last drain, counted. */
static u64 take_ring_drops(int cpu)
{
	struct sc_ring *r = sc_ring_of(cpu);
	u64 dropped = READ_ONCE(r->dropped);
	u64 n = dropped - r->dropped_seen;

	r->dropped_seen = dropped;
	atomic64_add(n, &sc_stats.dropped_ring);
	return n;
}

/* Reports @cpu's ring drops since the last drain; returns how many. */
static u64 report_ring_drops(int cpu)
{
	u64 n = take_ring_drops(cpu);

	if (!n)
		return 0;
	if (sc_format == SC_FORMAT_BINARY) {
		if (!sc_bin_has_room(0))
			bin_flush_block();
		sc_bin_add_drop(1, cpu, n, ktime_get_real_ns());
		return n;
	}
	ensure_room();
	sc_out_printf(&out, "drop=%llu, reason=ring, cpu=%d, ts=%lld\n", n, cpu,
		      ktime_get_real_ns());
	return n;
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

/* Hands one event, whose stamps are ns now, to the file's format. */
static void take(const struct sc_event *ev, s64 offset)
{
	if (sc_format == SC_FORMAT_TEXT) {
		emit(ev, offset);
	} else if (!sc_bin_add_event(ev, offset, block_room)) {
		/*
		 * End the block before it outgrows its buffers or the room
		 * the size cap leaves, so the cap is filled up rather than
		 * one oversized block refused whole.
		 */
		bin_flush_block();
		sc_bin_add_event(ev, offset, U64_MAX);
	}
}

/* Whether some CPU's ring holds events the writer has not taken. */
static bool rings_hold_events(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct sc_ring *r = sc_ring_of(cpu);

		if (smp_load_acquire(&r->head) != r->cursor)
			return true;
	}
	return false;
}

/*
 * The ring position up to which a chunk starting at @from fits in @room;
 * U64_MAX when nothing would (the cap hit: all go, and are refused) or
 * when there is no cap.
 */
static u64 raw_fit_end(u64 from, u64 room)
{
	u64 hdr = sizeof(raw_head.ch);

	if (room <= hdr || room - hdr > U64_MAX - from)
		return U64_MAX;
	return from + room - hdr;
}

/*
 * Moves @r's cursor past the events that completed before @limit, up to
 * @head and to @fit_end (the first event goes whatever its size), and
 * returns how many it passed. This walk is all the per-record work of a
 * raw drain: one pass over each event's head, nothing copied.
 */
static u64 take_until(struct sc_ring *r, u64 head, u64 limit, u64 fit_end)
{
	u64 c = r->cursor, n = 0;

	while (c < head) {
		const struct sc_event *ev = (const void *)(r->buf + (c & r->mask));
		u32 len = ev->len;

		if (likely(ev->type != SC_EV_PAD)) {
			/* once past the room (a first event too big), all go */
			if (ev->exit_ns >= limit ||
			    (unlikely(c + len > fit_end) && n && c <= fit_end))
				break;
			n++;
		}
		c += len;
	}
	r->cursor = c;
	return n;
}

/*
 * format=raw: takes from each CPU's ring the events that completed before
 * @limit, which only counts them, then appends each CPU's bytes as one
 * chunk; a ring that only dropped records gets a chunk too, so that the
 * reader learns of it. Under a size cap the chunks take what room is
 * left, so that the cap is filled up rather than a chunk refused whole:
 * the events that do not fit stay for the next drain, which takes all it
 * finds and refuses them (counted).
 * Returns whether the rings held events or drops.
 */
static bool drain_raw(u64 limit)
{
	u64 room = block_room;
	bool found = false;
	unsigned int block;
	int cpu;

	raw_parts = 0;
	for_each_possible_cpu(cpu) {
		struct sc_ring *r = sc_ring_of(cpu);
		struct raw_take *t = &raw_takes[cpu];

		t->from = r->cursor;
		t->events = take_until(r, ring_heads[cpu], limit,
				       raw_fit_end(t->from, room));
		t->dropped = take_ring_drops(cpu);
		if (t->events || t->dropped) {
			raw_parts++;
			room -= min(room, sizeof(raw_head.ch) + r->cursor - t->from);
		}
	}
	raw_part = 0;
	/* under a size cap every byte is counted against it: copy them */
	block = READ_ONCE(sc_max_size) ? 0 : sc_recfile_map_block();
	for_each_possible_cpu(cpu) {
		struct raw_take *t = &raw_takes[cpu];
		u64 to = sc_ring_of(cpu)->cursor;

		if (!t->events && !t->dropped)
			continue;
		found = true;
		if (!cap_allows(sizeof(raw_head.ch) + to - t->from))
			cap_refuse(t->events);
		else if (raw_write(SC_RAW_EVENTS, cpu, t->dropped, t->from, to,
				   block))
			atomic64_add(t->events, &sc_stats.written);
		else
			atomic64_add(t->events, &sc_stats.dropped_write);
	}
	raw_seq++;
	return found;
}

/*
 * format=text and binary: the merge takes the CPU whose next event
 * completed before @limit and first, then streams from it while its events
 * stay older than every other CPU's next one: on one CPU, or while one CPU
 * does the work, it compares nothing. Returns whether the rings held
 * events or drops.
 */
static bool drain_merged(u64 limit)
{
	s64 offset = real_offset();
	bool found = false;
	int cpu;

	for (;;) {
		struct sc_event *best = NULL, *ev;
		u64 until = limit;	/* the second oldest next event */
		struct sc_ring *r;
		int best_cpu = -1;

		for_each_possible_cpu(cpu) {
			ev = sc_ring_peek(sc_ring_of(cpu), ring_heads[cpu]);
			if (!ev || ev->exit_ns >= until)
				continue;
			if (best && ev->exit_ns >= best->exit_ns) {
				until = ev->exit_ns;
				continue;
			}
			if (best)
				until = best->exit_ns;
			best = ev;
			best_cpu = cpu;
		}
		if (!best)
			break;
		found = true;
		r = sc_ring_of(best_cpu);
		do {
			/* the event is the writer's now: its stamps become ns in place */
			best->enter_ns = sc_clock_ns(&clock_conv, best->enter_ns);
			best->exit_ns = sc_clock_ns(&clock_conv, best->exit_ns);
			take(best, offset);
			sc_ring_consume(r, best);
			best = sc_ring_peek(r, ring_heads[best_cpu]);
		} while (best && best->exit_ns < until);
	}
	for_each_possible_cpu(cpu)
		if (report_ring_drops(cpu))
			found = true;
	bin_flush_block();
	return found;
}

/* Whether some CPU's ring is over a quarter full. */
static bool rings_filling(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct sc_ring *r = sc_ring_of(cpu);

		if (smp_load_acquire(&r->head) - r->tail > r->size / 4)
			return true;
	}
	return false;
}

/*
 * Hands the bytes the writer took back to the probes, unless a direct
 * write still reads some of them where they lie (format=raw).
 */
static void release_rings(void)
{
	int cpu;

	if (sc_recfile_maps_busy())
		return;
	for_each_possible_cpu(cpu)
		sc_ring_release(sc_ring_of(cpu));
}

/*
 * One pass over all rings; @final takes everything, whatever its time.
 * Returns whether the rings held anything: events or drops.
 */
static bool drain(bool final)
{
	u64 now, limit;
	bool found;
	int cpu;

	sc_recfile_sync();
	/*
	 * format=raw: while a direct write reads ring bytes where they lie,
	 * the next drain waits for it, unless it has to go now or a ring
	 * fills up meanwhile.
	 */
	if (sc_recfile_maps_in_flight()) {
		if (!final && !rings_filling())
			return true;
		sc_recfile_wait();
	}
	release_rings();
	now = sc_clock_sync(&clock_conv);
	limit = final ? U64_MAX : now;
	out_open();
	/* a new file, or one its reader truncated, starts with the header */
	if (!sc_recfile_size()) {
		if (sc_format == SC_FORMAT_BINARY)
			sc_bin_file_header(&out);
		else if (sc_format == SC_FORMAT_RAW)
			sc_raw_file_header(&out);
		else
			sc_render_header(&out);
	}
	block_room = cap_block_room();

	for_each_possible_cpu(cpu)
		ring_heads[cpu] = smp_load_acquire(&sc_ring_of(cpu)->head);

	found = sc_format == SC_FORMAT_RAW ? drain_raw(limit) :
					     drain_merged(limit);
	flush_out();
	/* mapped ring bytes may wait for the next drain's while the rings have room */
	sc_recfile_drain_end(final || !found, !rings_filling());
	/* the file has the events' bytes now: the probes may reuse them */
	release_rings();
	return found;
}

/*
 * While records flow, the writer drains every flush_ms (napping). Once a
 * drain finds the rings empty (a filter that matches nothing yet, traced
 * processes that sleep), it sleeps until a probe commits the next event
 * (idle): timer wakeups every 20 ms (flush_ms then) cost a CPU that runs
 * nothing else two context switches each, a third of a point of nginx's
 * throughput in make bench. A napping writer is also woken by a
 * reservation that leaves a ring over half full, so a burst does not
 * outrun the nap.
 *
 * Waking a task takes the scheduler's locks, which a probe must not, so
 * the first probe that sees sc_writer_sleep set queues an irq_work, the
 * way ftrace and perf wake their readers. An idle writer sets the flag
 * before it looks at the rings one last time, with a full barrier
 * between; a commit that raced that look without a barrier of its own
 * waits for the next commit, or IDLE_MAX_MS at most.
 */
#define IDLE_MAX_MS 1000

int sc_writer_sleep __cacheline_aligned_in_smp;

static void wake_writer(struct irq_work *work)
{
	wake_up_process(writer_task);
}

static DEFINE_IRQ_WORK(writer_wakeup, wake_writer);

void sc_writer_wake(void)
{
	if (READ_ONCE(sc_writer_sleep) && xchg(&sc_writer_sleep, SC_WRITER_AWAKE))
		irq_work_queue(&writer_wakeup);
}

/*
 * Naps for flush_ms, or sleeps until the next event when @idle and the
 * rings are still empty (events the drain left for being newer than its
 * clock reading make it a nap).
 */
static void writer_sleep(bool idle)
{
	/* the state first: a wakeup from here on cuts schedule() short */
	set_current_state(TASK_INTERRUPTIBLE);
	WRITE_ONCE(sc_writer_sleep, idle ? SC_WRITER_IDLE : SC_WRITER_NAPPING);
	smp_mb();	/* the flag before the rings, see sc_writer_notify() */
	if (idle && rings_hold_events()) {
		idle = false;
		WRITE_ONCE(sc_writer_sleep, SC_WRITER_NAPPING);
	}
	if (!kthread_should_stop())
		schedule_timeout(msecs_to_jiffies(idle ? IDLE_MAX_MS :
						  READ_ONCE(sc_flush_ms)));
	__set_current_state(TASK_RUNNING);
	WRITE_ONCE(sc_writer_sleep, SC_WRITER_AWAKE);
}

static int writer_fn(void *unused)
{
	while (!kthread_should_stop())
		writer_sleep(!drain(false));
	return 0;
}

int sc_writer_start(void)
{
	int err = 0;

	ring_heads = kcalloc(nr_cpu_ids, sizeof(*ring_heads), GFP_KERNEL);
	raw_takes = kcalloc(nr_cpu_ids, sizeof(*raw_takes), GFP_KERNEL);
	out_own = vmalloc(OUT_SIZE);
	out_open_own();
	if (!ring_heads || !raw_takes || !out_own) {
		err = -ENOMEM;
		goto fail;
	}
	sc_clock_conv_init(&clock_conv);
	raw_seq = 0;
	if (sc_format != SC_FORMAT_TEXT)
		sc_crc_init();
	if (sc_format == SC_FORMAT_BINARY)
		err = sc_bin_init();
	else if (sc_format == SC_FORMAT_TEXT)
		err = sc_render_init();
	if (err)
		goto fail;
	err = sc_recfile_open();
	if (err)
		goto fail;
	writer_task = kthread_run(writer_fn, NULL, MY_SYSDIG "_writer");
	if (IS_ERR(writer_task)) {
		err = PTR_ERR(writer_task);
		sc_recfile_close();
		goto fail;
	}
	return 0;
fail:
	sc_bin_exit();
	sc_render_exit();
	sc_crc_exit();
	vfree(out_own);
	kfree(raw_takes);
	kfree(ring_heads);
	return err;
}

/* Call once the probes are gone: whatever they left in the rings is kept. */
void sc_writer_stop(void)
{
	irq_work_sync(&writer_wakeup);	/* the probes are gone: none is queued after */
	kthread_stop(writer_task);
	drain(true);
	sc_recfile_close();
	sc_bin_exit();
	sc_render_exit();
	sc_crc_exit();
	vfree(out_own);
	kfree(raw_takes);
	kfree(ring_heads);
}
