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
#include "my_sysdig.h"

static struct sc_ring __percpu *rings;

int sc_rings_init(unsigned int bytes_per_cpu)
{
	u32 size = roundup_pow_of_two(max(bytes_per_cpu, 64U * 1024));
	int cpu;

	rings = alloc_percpu(struct sc_ring);
	if (!rings)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		struct sc_ring *r = per_cpu_ptr(rings, cpu);

		r->buf = vzalloc_node(size, cpu_to_node(cpu));
		if (!r->buf) {
			sc_rings_exit();
			return -ENOMEM;
		}
		r->size = size;
		r->mask = size - 1;
	}
	return 0;
}

void sc_rings_exit(void)
{
	int cpu;

	if (!rings)
		return;
	for_each_possible_cpu(cpu)
		vfree(per_cpu_ptr(rings, cpu)->buf);
	free_percpu(rings);
	rings = NULL;
}

struct sc_ring *sc_ring_of(int cpu)
{
	return per_cpu_ptr(rings, cpu);
}

/*
 * Reserves @len contiguous bytes (a multiple of 8). When the end of the
 * buffer is nearer than @len, the rest of it becomes a pad event and the
 * reservation starts again at offset 0.
 */
void *sc_ring_reserve(struct sc_ring *r, u32 len)
{
	u64 head = r->head;
	u64 tail = smp_load_acquire(&r->tail);
	u32 off = head & r->mask;
	u32 to_end = r->size - off;
	u32 need = to_end < len ? to_end + len : len;

	if (len > r->size / 2 || head + need - tail > r->size) {
		r->dropped++;
		return NULL;
	}
	if (to_end < len) {
		struct sc_event *pad = (struct sc_event *)(r->buf + off);

		pad->len = to_end;
		pad->type = SC_EV_PAD;
		head += to_end;
		off = 0;
	}
	r->resv = head;
	return r->buf + off;
}

/* Publishes the event reserved last, now known to be @len bytes long. */
void sc_ring_commit(struct sc_ring *r, u32 len)
{
	smp_store_release(&r->head, r->resv + len);
}

/* The next event before @limit_head, skipping pads; NULL when none. */
struct sc_event *sc_ring_peek(struct sc_ring *r, u64 limit_head)
{
	while (r->cursor < limit_head) {
		struct sc_event *ev =
			(struct sc_event *)(r->buf + (r->cursor & r->mask));

		if (ev->type != SC_EV_PAD)
			return ev;
		r->cursor += ev->len;
	}
	return NULL;
}

void sc_ring_consume(struct sc_ring *r, struct sc_event *ev)
{
	r->cursor += ev->len;
}

/* Hands the consumed bytes back to the producer. */
void sc_ring_release(struct sc_ring *r)
{
	smp_store_release(&r->tail, r->cursor);
}
