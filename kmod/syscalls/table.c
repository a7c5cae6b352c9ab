// SPDX-License-Identifier: GPL-2.0
/*
 * Syscall names and argument descriptions, indexed by syscall number.
 * Both tables are filled by designated initializers from kernel macros
 * (`[__NR_read] = ...`), so the compiler, not a person, places each entry.
 */
#include <linux/kernel.h>
#include <linux/string.h>
#include <asm/unistd.h>
#include "my_sysdig.h"

static const char *const native_names[] = {
#define NATIVE_NAME(name) [__NR_##name] = #name,
#define COMPAT_NAME(name, nr)
#include "syscall-names.h"
#undef NATIVE_NAME
#undef COMPAT_NAME
};

#ifdef CONFIG_COMPAT
static const char *const compat_names[] = {
#define NATIVE_NAME(name)
#define COMPAT_NAME(name, nr) [nr] = #name,
#include "syscall-names.h"
#undef NATIVE_NAME
#undef COMPAT_NAME
};
#else
static const char *const compat_names[1];
#endif

#define A(kind, field) { SK_##kind, #field }
struct sc_arg_spec {
	u8 kind;
	const char *name;
};

struct sc_spec {
	struct sc_arg_spec args[SC_MAX_ARGS];
};

static const struct sc_spec native_specs[ARRAY_SIZE(native_names)] = {
#define SC(name, ...) [__NR_##name] = { { __VA_ARGS__ } },
#include "handlers-table.h"
#undef SC
};

static struct sc_desc native_descs[ARRAY_SIZE(native_names)];
static bool native_decoded[ARRAY_SIZE(native_names)] = {
#define SC(name, ...) [__NR_##name] = true,
#include "handlers-table.h"
#undef SC
};

static int __init sc_table_init_descs(void)
{
	unsigned int nr, i;

	for (nr = 0; nr < ARRAY_SIZE(native_specs); nr++) {
		struct sc_desc *d = &native_descs[nr];

		for (i = 0; i < SC_MAX_ARGS; i++) {
			if (native_specs[nr].args[i].kind == SK_NONE)
				break;
			d->kinds[i] = native_specs[nr].args[i].kind;
			d->names[i] = native_specs[nr].args[i].name;
		}
		d->nargs = i;
	}
	return 0;
}

const char *sc_name(bool compat, long nr)
{
	const char *const *t = compat ? compat_names : native_names;
	unsigned long n = compat ? ARRAY_SIZE(compat_names) :
				   ARRAY_SIZE(native_names);

	if (nr < 0 || nr >= n || !t[nr])
		return NULL;
	return t[nr];
}

unsigned int sc_table_size(bool compat)
{
	return compat ? ARRAY_SIZE(compat_names) : ARRAY_SIZE(native_names);
}

long sc_nr_by_name(bool compat, const char *name)
{
	unsigned int nr, n = sc_table_size(compat);

	for (nr = 0; nr < n; nr++)
		if (sc_name(compat, nr) && !strcmp(sc_name(compat, nr), name))
			return nr;
	return -1;
}

const struct sc_desc *sc_desc_of(bool compat, long nr)
{
	/* 32-bit layouts differ; compat calls are recorded generically. */
	if (compat || nr < 0 || nr >= ARRAY_SIZE(native_descs) ||
	    !native_decoded[nr])
		return NULL;
	return &native_descs[nr];
}

/* Looked up once: the probe asks on every syscall. */
static long exit_nrs[2][2];
static long fork_nrs[2][4];

bool sc_is_fork(bool compat, long nr)
{
	const long *f = fork_nrs[compat];

	return nr == f[0] || nr == f[1] || nr == f[2] || nr == f[3];
}

bool sc_never_returns(bool compat, long nr)
{
	return nr == exit_nrs[compat][0] || nr == exit_nrs[compat][1];
}

int __init sc_table_init(void)
{
	int compat;

	for (compat = 0; compat < 2; compat++) {
		exit_nrs[compat][0] = sc_nr_by_name(compat, "exit");
		exit_nrs[compat][1] = sc_nr_by_name(compat, "exit_group");
		fork_nrs[compat][0] = sc_nr_by_name(compat, "clone");
		fork_nrs[compat][1] = sc_nr_by_name(compat, "clone3");
		fork_nrs[compat][2] = sc_nr_by_name(compat, "fork");
		fork_nrs[compat][3] = sc_nr_by_name(compat, "vfork");
	}
	return sc_table_init_descs();
}
