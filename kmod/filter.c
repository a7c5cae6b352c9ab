// SPDX-License-Identifier: GPL-2.0
/*
 * Module parameters. The ones that select what is recorded (pid, proc_name,
 * exclude_pid, syscalls) may change at run time through
 * /sys/module/my_sysdig/parameters/: each change builds a new struct
 * sc_filter and publishes it with RCU, so the probe always sees one
 * consistent filter and never waits for a writer.
 *
 * An invalid value fails insmod (or the sysfs write) with -EINVAL and a
 * dmesg line that names the value and the reason.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/bitmap.h>
#include <linux/mutex.h>
#include "my_sysdig.h"

struct sc_filter __rcu *sc_active_filter;
static DEFINE_MUTEX(filter_lock);

DEFINE_STATIC_KEY_FALSE(sc_one_name_key);
char sc_one_name[TASK_COMM_LEN] __aligned(8);

/* The values as given, kept to print them back through sysfs. */
static int param_pid;
static int param_exclude_pid;
static char param_names[SC_MAX_NAMES * TASK_COMM_LEN + 1];
static char param_syscalls[4096];

static void filter_free(struct sc_filter *f)
{
	if (!f)
		return;
	bitmap_free(f->native_nrs);
	bitmap_free(f->compat_nrs);
	kfree(f);
}

static void filter_free_rcu(struct rcu_head *head)
{
	filter_free(container_of(head, struct sc_filter, rcu));
}

static int parse_names(struct sc_filter *f, const char *val)
{
	char *buf = kstrdup(val, GFP_KERNEL), *s, *tok;

	if (!buf)
		return -ENOMEM;
	s = strim(buf);
	f->nnames = 0;
	while ((tok = strsep(&s, ",")) != NULL) {
		tok = strim(tok);
		if (!*tok)
			continue;
		if (strlen(tok) >= TASK_COMM_LEN) {
			pr_err(MY_SYSDIG ": proc_name '%s' is longer than %d characters, the kernel's comm length; give its first %d\n",
			       tok, TASK_COMM_LEN - 1, TASK_COMM_LEN - 1);
			goto invalid;
		}
		if (f->nnames == SC_MAX_NAMES) {
			pr_err(MY_SYSDIG ": proc_name lists more than %d names\n",
			       SC_MAX_NAMES);
			goto invalid;
		}
		memset(f->names[f->nnames], 0, TASK_COMM_LEN);
		strscpy(f->names[f->nnames], tok, TASK_COMM_LEN);
		f->nnames++;
	}
	kfree(buf);
	return 0;
invalid:
	kfree(buf);
	return -EINVAL;
}

static int parse_syscalls(struct sc_filter *f, const char *val)
{
	char *buf = kstrdup(val, GFP_KERNEL), *s, *tok;
	int err = 0;

	if (!buf)
		return -ENOMEM;
	bitmap_zero(f->native_nrs, sc_table_size(false));
	bitmap_zero(f->compat_nrs, sc_table_size(true));
	f->by_syscall = false;
	s = strim(buf);
	while ((tok = strsep(&s, ",")) != NULL) {
		long native, compat;

		tok = strim(tok);
		if (!*tok)
			continue;
		native = sc_nr_by_name(false, tok);
		compat = IS_ENABLED(CONFIG_COMPAT) ? sc_nr_by_name(true, tok) : -1;
		if (native < 0 && compat < 0) {
			pr_err(MY_SYSDIG ": syscalls: '%s' is not a syscall of this kernel\n",
			       tok);
			err = -EINVAL;
			break;
		}
		if (native >= 0)
			set_bit(native, f->native_nrs);
		if (compat >= 0)
			set_bit(compat, f->compat_nrs);
		f->by_syscall = true;
	}
	kfree(buf);
	return err;
}

/* A new filter from the current parameter values, or an ERR_PTR. */
static struct sc_filter *filter_build(void)
{
	struct sc_filter *f = kzalloc(sizeof(*f), GFP_KERNEL);
	int err;

	if (!f)
		return ERR_PTR(-ENOMEM);
	f->native_nrs = bitmap_zalloc(sc_table_size(false), GFP_KERNEL);
	f->compat_nrs = bitmap_zalloc(sc_table_size(true), GFP_KERNEL);
	if (!f->native_nrs || !f->compat_nrs) {
		err = -ENOMEM;
		goto fail;
	}
	f->pid = param_pid;
	f->exclude_pid = param_exclude_pid;
	err = parse_names(f, param_names);
	if (!err)
		err = parse_syscalls(f, param_syscalls);
	f->everyone = !f->pid && !f->nnames;
	f->names_only = !f->pid && f->nnames && !f->exclude_pid;
	f->one_name = f->names_only && f->nnames == 1;
	if (!err)
		return f;
fail:
	filter_free(f);
	return ERR_PTR(err);
}

/*
 * Rebuilds the filter after one parameter changed; on error the caller
 * restores the old value. Before module init has run there is no table to
 * check syscall names against yet: sc_filter_publish() does it then.
 */
static bool module_ready;

/*
 * Takes the probes off sc_one_name: once the key is off, no probe can
 * start reading the name, and after the grace period none still is (they
 * run with preemption disabled). Only then may the name change.
 */
static void one_name_off(void)
{
	if (!static_key_enabled(&sc_one_name_key))
		return;
	static_branch_disable(&sc_one_name_key);
	synchronize_rcu();
}

/*
 * Publishes @f, with sc_one_name its name when it has one name, and
 * returns the filter it replaces. The name changes only with the key off;
 * an unchanged name keeps it on, and a probe may then pass the new filter
 * on after matching the name, as any probe may see either filter while it
 * changes.
 */
static struct sc_filter *filter_swap(struct sc_filter *f)
{
	struct sc_filter *old;

	if (!f || !f->one_name || memcmp(sc_one_name, f->names[0], TASK_COMM_LEN))
		one_name_off();
	old = rcu_replace_pointer(sc_active_filter, f,
				  lockdep_is_held(&filter_lock));
	if (f && f->one_name && !static_key_enabled(&sc_one_name_key)) {
		memcpy(sc_one_name, f->names[0], TASK_COMM_LEN);
		static_branch_enable(&sc_one_name_key);
	}
	return old;
}

static int filter_rebuild(void)
{
	struct sc_filter *f, *old;

	if (!module_ready)
		return 0;
	f = filter_build();
	if (IS_ERR(f))
		return PTR_ERR(f);
	old = filter_swap(f);
	if (old)
		call_rcu(&old->rcu, filter_free_rcu);
	return 0;
}

int sc_filter_publish(void)
{
	int err;

	mutex_lock(&filter_lock);
	module_ready = true;
	err = filter_rebuild();
	if (err)
		module_ready = false;
	mutex_unlock(&filter_lock);
	return err;
}

void sc_filter_free_all(void)
{
	struct sc_filter *old;

	mutex_lock(&filter_lock);
	module_ready = false;
	old = filter_swap(NULL);
	mutex_unlock(&filter_lock);
	synchronize_rcu();
	filter_free(old);
	rcu_barrier();	/* filters freed by call_rcu, before the module text goes */
}

/* Sets an int parameter that selects processes: a pid, 0 for none. */
static int set_pid_param(const char *val, const struct kernel_param *kp)
{
	int *target = kp->arg, old, v, err;

	err = kstrtoint(val, 0, &v);
	if (err || v < 0) {
		pr_err(MY_SYSDIG ": %s='%s' is not a process id (a number >= 0; 0 for none)\n",
		       kp->name, val);
		return -EINVAL;
	}
	mutex_lock(&filter_lock);
	old = *target;
	*target = v;
	err = filter_rebuild();
	if (err)
		*target = old;
	mutex_unlock(&filter_lock);
	return err;
}

/* Sets a string parameter after checking it parses. */
static int set_list_param(const char *val, const struct kernel_param *kp)
{
	char *target = kp->arg, *old;
	size_t size = kp->arg == param_names ? sizeof(param_names) :
					      sizeof(param_syscalls);
	struct sc_filter *check;
	int err;

	if (strlen(val) >= size) {
		pr_err(MY_SYSDIG ": %s is longer than %zu bytes\n", kp->name,
		       size - 1);
		return -EINVAL;
	}
	if (target == param_names) {	/* names can be checked right away */
		check = kzalloc(sizeof(*check), GFP_KERNEL);
		if (!check)
			return -ENOMEM;
		err = parse_names(check, val);
		kfree(check);
		if (err)
			return err;
	}
	old = kstrdup(target, GFP_KERNEL);
	if (!old)
		return -ENOMEM;
	mutex_lock(&filter_lock);
	strscpy(target, val, size);
	strim(target);
	err = filter_rebuild();
	if (err)
		strscpy(target, old, size);
	mutex_unlock(&filter_lock);
	kfree(old);
	return err;
}

static int get_list_param(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n", (char *)kp->arg);
}

static const struct kernel_param_ops pid_ops = {
	.set = set_pid_param,
	.get = param_get_int,
};

static const struct kernel_param_ops list_ops = {
	.set = set_list_param,
	.get = get_list_param,
};

module_param_cb(pid, &pid_ops, &param_pid, 0644);
MODULE_PARM_DESC(pid, "record only this process (all its threads); 0: any");
module_param_cb(proc_name, &list_ops, param_names, 0644);
MODULE_PARM_DESC(proc_name, "record only tasks with these comms: up to 64 comma-separated names of at most 15 characters");
module_param_cb(exclude_pid, &pid_ops, &param_exclude_pid, 0644);
MODULE_PARM_DESC(exclude_pid, "never record this process (e.g. the reader of the record file)");
module_param_cb(syscalls, &list_ops, param_syscalls, 0644);
MODULE_PARM_DESC(syscalls, "record only these syscalls: comma-separated names; empty: all");

/* Capture and transport settings. */
unsigned int sc_snaplen = 64;
/*
 * flush_ms: 100, not 20: each drain and each write costs the traced CPU.
 * make bench's nginx recorded in raw ran 1.1 % faster with naps of 100 ms
 * than of 20, and no faster with 200 (one-case boots). LTTng's kernel
 * channels are read every 200 ms by default.
 */
unsigned int sc_flush_ms = 100;
unsigned long sc_max_size;
unsigned int sc_ring_kb = 1024;
char *sc_path = "/etc/syscall-record/record";
bool sc_direct_io = true;

static int set_snaplen(const char *val, const struct kernel_param *kp)
{
	unsigned int v;

	if (kstrtouint(val, 0, &v) || v > SC_MAX_SNAPLEN) {
		pr_err(MY_SYSDIG ": snaplen='%s' must be a number of bytes from 0 to %d\n",
		       val, SC_MAX_SNAPLEN);
		return -EINVAL;
	}
	WRITE_ONCE(sc_snaplen, v);
	return 0;
}

static int set_max_size(const char *val, const struct kernel_param *kp)
{
	char *end;
	unsigned long long v = memparse(val, &end);

	if (end == val || (*end && *end != '\n')) {
		pr_err(MY_SYSDIG ": max_size='%s' is not a size (bytes, or with K, M, G)\n",
		       val);
		return -EINVAL;
	}
	/* the file's header alone takes about 12 KiB */
	if (v && v < SC_MIN_MAX_SIZE) {
		pr_err(MY_SYSDIG ": max_size='%s' is below the minimum of %u bytes (0: no cap)\n",
		       val, SC_MIN_MAX_SIZE);
		return -EINVAL;
	}
	WRITE_ONCE(sc_max_size, v);
	return 0;
}

static int set_ring_kb(const char *val, const struct kernel_param *kp)
{
	unsigned int v;

	if (kstrtouint(val, 0, &v) || v < 64 || v > 256 * 1024) {
		pr_err(MY_SYSDIG ": ring_kb='%s' must be from 64 to 262144 (KiB per CPU)\n",
		       val);
		return -EINVAL;
	}
	sc_ring_kb = v;
	return 0;
}

static int set_flush_ms(const char *val, const struct kernel_param *kp)
{
	unsigned int v;

	if (kstrtouint(val, 0, &v) || v < 1 || v > 10000) {
		pr_err(MY_SYSDIG ": flush_ms='%s' must be from 1 to 10000\n", val);
		return -EINVAL;
	}
	WRITE_ONCE(sc_flush_ms, v);
	return 0;
}

static int set_path(const char *val, const struct kernel_param *kp)
{
	if (val[0] != '/') {
		pr_err(MY_SYSDIG ": path='%s' must be absolute\n", val);
		return -EINVAL;
	}
	return param_set_charp(val, kp);
}

enum sc_format sc_format;

static const char *const format_names[] = {
	[SC_FORMAT_TEXT] = "text",
	[SC_FORMAT_BINARY] = "binary",
	[SC_FORMAT_RAW] = "raw",
};

static int set_format(const char *val, const struct kernel_param *kp)
{
	int i = sysfs_match_string(format_names, val);

	if (i < 0) {
		pr_err(MY_SYSDIG ": format='%s' must be text, binary or raw\n", val);
		return -EINVAL;
	}
	sc_format = i;
	return 0;
}

static int get_format(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n", format_names[sc_format]);
}

static const struct kernel_param_ops format_ops = {
	.set = set_format, .get = get_format,
};

static const struct kernel_param_ops snaplen_ops = {
	.set = set_snaplen, .get = param_get_uint,
};
static const struct kernel_param_ops max_size_ops = {
	.set = set_max_size, .get = param_get_ulong,
};
static const struct kernel_param_ops ring_kb_ops = {
	.set = set_ring_kb, .get = param_get_uint,
};
static const struct kernel_param_ops flush_ms_ops = {
	.set = set_flush_ms, .get = param_get_uint,
};
static const struct kernel_param_ops path_ops = {
	.set = set_path, .get = param_get_charp, .free = param_free_charp,
};

module_param_cb(format, &format_ops, &sc_format, 0444);
MODULE_PARM_DESC(format, "record file format: text (default, one line per call), binary (compact blocks) or raw (the probes' events as they are, the cheapest to write); see docs/binary-format.md");
module_param_cb(snaplen, &snaplen_ops, &sc_snaplen, 0644);
MODULE_PARM_DESC(snaplen, "bytes kept of each captured string or buffer (default 64, max 4096)");
module_param_cb(max_size, &max_size_ops, &sc_max_size, 0644);
MODULE_PARM_DESC(max_size, "stop appending at this file size (K/M/G suffixes; 0: no cap); records past it are dropped and counted until the file is truncated");
module_param_cb(ring_kb, &ring_kb_ops, &sc_ring_kb, 0444);
MODULE_PARM_DESC(ring_kb, "ring buffer size per CPU in KiB (default 1024)");
module_param_cb(flush_ms, &flush_ms_ops, &sc_flush_ms, 0644);
MODULE_PARM_DESC(flush_ms, "how often the writer drains the rings, in ms (default 100)");
module_param_cb(path, &path_ops, &sc_path, 0444);
MODULE_PARM_DESC(path, "record file (default /etc/syscall-record/record); its directory must exist");
module_param_named(direct_io, sc_direct_io, bool, 0444);
MODULE_PARM_DESC(direct_io, "1 (default): on a file system with a block device, write the record file's whole blocks with O_DIRECT, past the page cache, from a kworker; 0: append everything through the page cache");
