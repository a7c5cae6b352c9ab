// SPDX-License-Identifier: GPL-2.0
/*
 * my_sysdig: records the syscalls of chosen processes, one text line per
 * completed call, to a file (/etc/syscall-record/record by default).
 *
 *   capture    probe.c, inflight.c, syscalls/  (in the traced task)
 *   capture    clock.c                         (timestamps)
 *   transport  ring.c, writer.c                (per-CPU rings -> file)
 *   rendering  render.c, syscalls/handlers.h   (in the writer thread)
 *   selection  filter.c                        (module parameters)
 */
#include <linux/module.h>
#include "my_sysdig.h"

static int __init my_sysdig_init(void)
{
	int err;

	err = sc_table_init();
	if (err)
		return err;
	sc_clock_init();
	err = sc_filter_publish();
	if (err)
		return err;
	err = sc_inflight_init();
	if (err)
		goto fail_filter;
	err = sc_rings_init(sc_ring_kb * 1024);
	if (err)
		goto fail_inflight;
	err = sc_stats_init();
	if (err)
		goto fail_rings;
	err = sc_writer_start();
	if (err)
		goto fail_stats;
	err = sc_probes_register();
	if (err)
		goto fail_writer;
	pr_info(MY_SYSDIG ": recording to %s\n", sc_path);
	return 0;

fail_writer:
	sc_writer_stop();
fail_stats:
	sc_stats_exit();
fail_rings:
	sc_rings_exit();
fail_inflight:
	sc_inflight_exit();
fail_filter:
	sc_filter_free_all();
	return err;
}

/*
 * Probes first (waiting until none runs), then the writer's last drain, so
 * every record a probe committed reaches the file.
 */
static void __exit my_sysdig_exit(void)
{
	sc_probes_unregister();
	sc_writer_stop();
	sc_stats_exit();
	sc_rings_exit();
	sc_inflight_exit();
	sc_filter_free_all();
	pr_info(MY_SYSDIG ": stopped, %lld records written, %lld dropped\n",
		atomic64_read(&sc_stats.written),
		atomic64_read(&sc_stats.dropped_ring) +
		atomic64_read(&sc_stats.dropped_cap) +
		atomic64_read(&sc_stats.dropped_write));
}

module_init(my_sysdig_init);
module_exit(my_sysdig_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Low-overhead syscall recorder");
