// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/my_sysdig/stats: totals a user checks to trust a recording (were
 * records dropped, and why), one `name value` pair per line.
 */
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/percpu.h>
#include "my_sysdig.h"

struct sc_stats sc_stats;
static struct proc_dir_entry *proc_dir;

static int stats_show(struct seq_file *m, void *v)
{
	u64 pending_drops = 0;
	u32 slots, bufs;
	int cpu;

	for_each_possible_cpu(cpu) {
		struct sc_ring *r = sc_ring_of(cpu);

		pending_drops += READ_ONCE(r->dropped) - READ_ONCE(r->dropped_seen);
	}
	seq_printf(m, "records_written %lld\n", atomic64_read(&sc_stats.written));
	seq_printf(m, "records_dropped_ring %lld\n",
		   atomic64_read(&sc_stats.dropped_ring) + pending_drops);
	seq_printf(m, "records_dropped_cap %lld\n",
		   atomic64_read(&sc_stats.dropped_cap));
	seq_printf(m, "records_dropped_write %lld\n",
		   atomic64_read(&sc_stats.dropped_write));
	seq_printf(m, "bytes_written %lld\n", atomic64_read(&sc_stats.bytes));
	seq_printf(m, "bytes_written_in_place %lld\n",
		   atomic64_read(&sc_stats.bytes_in_place));
	seq_printf(m, "write_errors %lld\n", atomic64_read(&sc_stats.write_errors));
	seq_printf(m, "direct_io %d\n", sc_recfile_direct());
	seq_printf(m, "entries_missed %lld\n",
		   atomic64_read(&sc_stats.entry_missed));
	sc_inflight_held(&slots, &bufs);
	seq_printf(m, "calls_in_flight %u\n", slots);
	seq_printf(m, "entry_buffers_held %u\n", bufs);
	return 0;
}

int sc_stats_init(void)
{
	proc_dir = proc_mkdir(MY_SYSDIG, NULL);
	if (!proc_dir)
		return -ENOMEM;
	if (!proc_create_single("stats", 0444, proc_dir, stats_show)) {
		proc_remove(proc_dir);
		return -ENOMEM;
	}
	return 0;
}

void sc_stats_exit(void)
{
	proc_remove(proc_dir);
}
