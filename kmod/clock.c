// SPDX-License-Identifier: GPL-2.0
/*
 * The events' timestamps. Where the kernel's clocksource is the CPU's
 * counter (the TSC on x86, the generic timer on arm64, as on every machine
 * this module targets), the probes store the raw counter and the writer
 * turns it into nanoseconds: reading the counter is one instruction, where
 * ktime_get_ns() (seqcount loop, indirect clocksource read, scaling) was
 * measured at 42 guest instructions, two per recorded call. perf hands raw
 * TSC values and a conversion to user space for the same reason.
 *
 * The conversion is linear between the pairs (counter, ktime_get_ns())
 * the writer reads at each drain, so it follows ktime, NTP adjustments
 * included; stamps are never older than a few drains, so the error stays
 * at the pair's read skew (tens of ns). Elsewhere (another clocksource was
 * chosen at load) the probes read ktime_get_ns() and stamps are ns.
 */
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/irqflags.h>
#include "my_sysdig.h"

DEFINE_STATIC_KEY_FALSE(sc_clock_is_counter);

/* Rates are measured over at least this long; shorter, the nominal one stays. */
#define MIN_RATE_SPAN_NS (10 * NSEC_PER_MSEC)

static u64 counter_hz(void)
{
#if defined(CONFIG_X86)
	return (u64)tsc_khz * 1000;
#elif defined(CONFIG_ARM64)
	return arch_timer_get_cntfrq();
#else
	return 0;
#endif
}

/*
 * Whether the clocksource reads the counter: right after a snapshot of the
 * timekeeper's own reading, the counter must be just past it. Any other
 * clocksource (hpet, acpi_pm, jiffies) counts something else entirely, so
 * a pair that agrees cannot be chance; a pair that does not may be a
 * stall between the two reads (a preempted vCPU: once in a CI run on a
 * loaded host the TSC was taken for hpet), so the pair is read up to
 * CHECKS times.
 */
#define CHECKS 8

static bool clocksource_is_counter(u64 hz)
{
	struct system_time_snapshot snap;
	u64 now;
	int i;

	if (!hz)
		return false;
	for (i = 0; i < CHECKS; i++) {
		/*
		 * Newer kernels (7.2, 7.3) only have the clock-id form, older
		 * ones (6.12) only the other: Kbuild looks in the headers.
		 * CLOCK_REALTIME is what ktime_get_snapshot() captured; only
		 * the counter matters.
		 */
#ifdef SC_HAVE_KTIME_GET_SNAPSHOT_ID
		ktime_get_snapshot_id(CLOCK_REALTIME, &snap);
#else
		ktime_get_snapshot(&snap);
#endif
		now = sc_counter_read();
		if (now >= snap.cycles && now - snap.cycles < hz / 1000)
			return true;
	}
	return false;
}

void sc_clock_init(void)
{
	u64 hz = counter_hz();

	if (clocksource_is_counter(hz)) {
		static_branch_enable(&sc_clock_is_counter);
		pr_info(MY_SYSDIG ": timestamps from the CPU counter (%llu Hz)\n",
			hz);
	} else {
		pr_info(MY_SYSDIG ": timestamps from ktime_get_ns() (the clocksource is not the CPU counter)\n");
	}
}

/* One (counter, ns) pair, the counter read on both sides of the clock. */
static void read_pair(u64 *stamp, u64 *ns)
{
	unsigned long flags;
	u64 before, after;

	local_irq_save(flags);
	before = sc_counter_read();
	*ns = ktime_get_ns();
	after = sc_counter_read();
	local_irq_restore(flags);
	*stamp = before + (after - before) / 2;
}

void sc_clock_conv_init(struct sc_clock_conv *c)
{
	u64 hz = counter_hz();

	c->mult = hz ? div64_u64(NSEC_PER_SEC << 32, hz) : 1ULL << 32;
	if (static_branch_likely(&sc_clock_is_counter))
		read_pair(&c->stamp, &c->ns);
}

u64 sc_clock_sync(struct sc_clock_conv *c)
{
	u64 stamp, ns;

	if (!static_branch_likely(&sc_clock_is_counter))
		return ktime_get_ns();
	read_pair(&stamp, &ns);
	if (ns - c->ns >= MIN_RATE_SPAN_NS && stamp > c->stamp) {
		c->mult = mul_u64_u64_div_u64(ns - c->ns, 1ULL << 32,
					      stamp - c->stamp);
		c->stamp = stamp;
		c->ns = ns;
	}
	return sc_counter_read();
}
