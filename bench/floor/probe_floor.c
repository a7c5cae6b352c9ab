// SPDX-License-Identifier: GPL-2.0
/*
 * probe_floor: the cheapest possible syscall tracer, for the overhead
 * benchmark. It attaches empty probes to the raw sys_enter and sys_exit
 * tracepoints, the same attachment my_sysdig.ko, LTTng and the Falco driver
 * use, so its cost is the floor that any of them pays before doing any work.
 */
#include <linux/module.h>
#include <linux/tracepoint.h>
#include <linux/string.h>

static struct tracepoint *tp_enter;
static struct tracepoint *tp_exit;

static void probe_enter(void *data, struct pt_regs *regs, long id)
{
}

static void probe_exit(void *data, struct pt_regs *regs, long ret)
{
}

static void find_tp(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "sys_enter"))
		tp_enter = tp;
	else if (!strcmp(tp->name, "sys_exit"))
		tp_exit = tp;
}

static int __init floor_init(void)
{
	int err;

	for_each_kernel_tracepoint(find_tp, NULL);
	if (!tp_enter || !tp_exit)
		return -ENOENT;
	err = tracepoint_probe_register(tp_enter, probe_enter, NULL);
	if (err)
		return err;
	err = tracepoint_probe_register(tp_exit, probe_exit, NULL);
	if (err) {
		tracepoint_probe_unregister(tp_enter, probe_enter, NULL);
		tracepoint_synchronize_unregister();
	}
	return err;
}

static void __exit floor_exit(void)
{
	tracepoint_probe_unregister(tp_enter, probe_enter, NULL);
	tracepoint_probe_unregister(tp_exit, probe_exit, NULL);
	tracepoint_synchronize_unregister();
}

module_init(floor_init);
module_exit(floor_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Empty sys_enter/sys_exit probes: the floor cost of a tracepoint tracer");
