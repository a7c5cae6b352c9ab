// SPDX-License-Identifier: GPL-2.0
/*
 * Per-CPU byte rings, one producer (the probe on that CPU, preemption
 * disabled) and one consumer (the writer thread). The producer never waits:
 * an event that does not fit is dropped and counted. head and tail are free
 * running byte counters published with release/acquire pairs, on separate
 * cache lines so the two sides do not bounce one line between CPUs.
 */
#include <linux/percpu.h>
#include <linux/vmalloc.h>
#include <linux/log2.h>
#include <linux/topology.h>
#include <linux/uio.h>
#include "my_sysdig.h"

struct sc_ring __percpu *sc_rings;

int sc_rings_init(unsigned int bytes_per_cpu)
{
	u32 size = roundup_pow_of_two(max(bytes_per_cpu, 64U * 1024));
	int cpu;

	sc_rings = alloc_percpu(struct sc_ring);
	if (!sc_rings)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		struct sc_ring *r = per_cpu_ptr(sc_rings, cpu);

		r->buf = vzalloc_node(size, cpu_to_node(cpu));
		if (!r->buf) {
			sc_rings_exit();
			return -ENOMEM;
		}
		r->size = size;
		r->mask = size - 1;
		r->wake_at = size / 2;
	}
	return 0;
}

void sc_rings_exit(void)
{
	int cpu;

	if (!sc_rings)
		return;
	for_each_possible_cpu(cpu)
		vfree(per_cpu_ptr(sc_rings, cpu)->buf);
	free_percpu(sc_rings);
	sc_rings = NULL;
}

/*
 * What sc_ring_reserve_quiet() leaves: a reservation that does not fit
 * before the end of the buffer (the rest becomes a pad event the consumer
 * skips), one that leaves the ring over half full (the writer may be
 * napping for flush_ms, and a burst can fill the rest in less, so wake it
 * now), and a full ring (a drop, counted). An event longer than half the
 * ring is never kept across the end, so that one record cannot wait for a
 * whole ring.
 */
void *sc_ring_reserve_slow(struct sc_ring *r, u32 len)
{
	u64 head = r->head;
	u32 to_end = r->size - (head & r->mask);
	u32 pad_len = to_end < len ? to_end : 0;
	u64 used = head + pad_len + len - smp_load_acquire(&r->tail);
	struct sc_event *pad;

	if (pad_len && len > r->size / 2) {
		r->dropped++;
		return NULL;
	}
	if (used > r->wake_at)
		sc_writer_wake();
	if (used > r->size) {
		r->dropped++;
		return NULL;
	}
	if (pad_len) {
		pad = (struct sc_event *)(r->buf + (head & r->mask));
		pad->len = pad_len;
		pad->type = SC_EV_PAD;
	}
	r->resv = head + pad_len;
	return r->buf + (r->resv & r->mask);
}

/*
 * Points @vec (two pieces) at ring @r's bytes from stream position @from
 * to @to, which wrap at the buffer's end at most once.
 */
void sc_ring_span(struct kvec *vec, const struct sc_ring *r, u64 from, u64 to)
{
	u32 off = from & r->mask;
	u32 first = min_t(u64, to - from, r->size - off);

	vec[0] = (struct kvec) { r->buf + off, first };
	vec[1] = (struct kvec) { r->buf, to - from - first };
}

/* Hands the consumed bytes back to the producer. */
void sc_ring_release(struct sc_ring *r)
{
	smp_store_release(&r->tail, r->cursor);
}
