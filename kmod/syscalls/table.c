// SPDX-License-Identifier: GPL-2.0
/*
 * Syscall names and argument descriptions, indexed by syscall number, for
 * the native ABI and the 32-bit one. Names and numbers are generated from
 * the kernel headers (syscall-names.h); native entries are placed by
 * designated initializers (`[__NR_read] = ...`), so the compiler, not a
 * person, puts each one where it belongs.
 */
#include <linux/kernel.h>
#include <linux/string.h>
#include <linux/version.h>
#include <generated/utsrelease.h>
#include <asm/unistd.h>
#include "my_sysdig.h"

static const char *const native_names[] = {
#define NATIVE_NAME(name, decoded) [__NR_##name] = #name,
#define COMPAT_NAME(name, nr, decoded)
#include "syscall-names.h"
#undef NATIVE_NAME
#undef COMPAT_NAME
};

#ifdef CONFIG_COMPAT
static const char *const compat_names[] = {
#define NATIVE_NAME(name, decoded)
#define COMPAT_NAME(name, nr, decoded) [nr] = #name,
#include "syscall-names.h"
#undef NATIVE_NAME
#undef COMPAT_NAME
};
#else
static const char *const compat_names[1];
#endif

/* --- argument descriptions --- */

#include "symbols.h"
#include "handlers.h"

/* A: a plain kind; F: flags and E: enum values named by a symbol table */
#define A(kind, field) { SK_##kind, #field, NULL }
#define F(table, field) { SK_FLAGS, #field, &sym_##table }
#define E(table, field) { SK_ENUM, #field, &sym_##table }
struct sc_arg_spec {
	u8 kind;
	const char *name;
	const struct sc_symtab *sym;
};

struct sc_spec {
	const char *name;
	struct sc_arg_spec args[SC_MAX_ARGS];
};

#define SC(sc, ...) { #sc, { __VA_ARGS__ } },
static const struct sc_spec native_specs[] = {
#include "handlers-table.h"
};

static const struct sc_spec compat_overrides[] = {
#include "handlers-compat.h"
};
#undef SC

static struct sc_desc native_descs[ARRAY_SIZE(native_names)];
static struct sc_desc compat_descs[ARRAY_SIZE(compat_names)];

static void desc_from_spec(struct sc_desc *d, const struct sc_spec *spec)
{
	unsigned int i;

	for (i = 0; i < SC_MAX_ARGS && spec->args[i].kind != SK_NONE; i++) {
		d->kinds[i] = spec->args[i].kind;
		d->names[i] = spec->args[i].name;
		d->syms[i] = spec->args[i].sym;
	}
	d->nargs = i;
	d->decoded = true;
}

static const struct sc_spec *spec_by_name(const struct sc_spec *specs,
					  size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(specs[i].name, name))
			return &specs[i];
	return NULL;
}

static void __init sc_table_init_descs(void)
{
	const struct sc_spec *spec;
	unsigned int nr;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(native_specs); i++) {
		long n = sc_nr_by_name(false, native_specs[i].name);

		if (n >= 0)
			desc_from_spec(&native_descs[n], &native_specs[i]);
	}
	for (nr = 0; IS_ENABLED(CONFIG_COMPAT) && nr < ARRAY_SIZE(compat_names);
	     nr++) {
		if (!compat_names[nr])
			continue;
		spec = spec_by_name(compat_overrides,
				    ARRAY_SIZE(compat_overrides),
				    compat_names[nr]);
		if (!spec)
			spec = spec_by_name(native_specs,
					    ARRAY_SIZE(native_specs),
					    compat_names[nr]);
		if (spec)
			desc_from_spec(&compat_descs[nr], spec);
	}
}

/*
 * AArch32's private calls live above __ARM_NR_COMPAT_BASE, far past the
 * table; they are named here, with the kernel's own numbers.
 */
static const char *arm_private_name(long nr)
{
#ifdef __ARM_NR_COMPAT_BASE
	if (nr == __ARM_NR_compat_cacheflush)
		return "cacheflush";
	if (nr == __ARM_NR_compat_set_tls)
		return "set_tls";
#endif
	return NULL;
}

const char *sc_name(bool compat, long nr)
{
	const char *const *t = compat ? compat_names : native_names;

	if (compat && nr >= (long)sc_table_size(true))
		return arm_private_name(nr);
	if (nr < 0 || nr >= sc_table_size(compat) || !t[nr])
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

static const struct sc_desc *decoded_desc(bool compat, long nr)
{
	const struct sc_desc *d;

	if (nr < 0 || nr >= sc_table_size(compat))
		return NULL;
	d = compat ? &compat_descs[nr] : &native_descs[nr];
	return d->decoded ? d : NULL;
}

const struct sc_desc *sc_descs[2][SC_NR_INFO_SIZE];
struct sc_nr_info sc_nr_infos[2][SC_NR_INFO_SIZE];
u8 sc_nr_any_flags_table[SC_NR_INFO_SIZE];

static_assert(ARRAY_SIZE(native_names) <= SC_NR_INFO_SIZE);
static_assert(ARRAY_SIZE(compat_names) <= SC_NR_INFO_SIZE);

static void __init flag_nr(bool compat, const char *name, u8 flag)
{
	long nr = sc_nr_by_name(compat, name);

	if (nr >= 0)
		sc_nr_infos[compat][nr].flags |= flag;
}

/* What a description says the probes will copy, summed once per number. */
static void __init info_from_desc(struct sc_nr_info *info,
				  const struct sc_desc *d)
{
	unsigned int i;

	info->flags |= SC_NR_DECODED;
	info->nargs = d->nargs;
	for (i = 0; i < d->nargs; i++) {
		u8 kind = d->kinds[i];
		u32 size = sc_kind_struct_size(kind, false);

		if (!sc_kind_captures(kind))
			continue;
		if (sc_kind_at_entry(kind)) {
			info->flags |= SC_NR_ENTRY_CAPTURE;
			continue;
		}
		info->flags |= SC_NR_EXIT_CAPTURE;
		info->exit_caps |= BIT(i);
		if (size)
			info->exit_fixed += sc_capture_size(size);
		else
			info->exit_snaps++;
	}
	if (hweight8(info->exit_caps) == 1 &&
	    d->kinds[__ffs(info->exit_caps)] == SK_STR)
		info->flags |= SC_NR_EXIT_ONE_PATH;
}

int __init sc_table_init(void)
{
	int compat;
	long nr;

	sc_table_init_descs();
	for (compat = 0; compat < 2; compat++) {
		for (nr = 0; nr < sc_table_size(compat); nr++) {
			sc_descs[compat][nr] = decoded_desc(compat, nr);
			if (sc_descs[compat][nr])
				info_from_desc(&sc_nr_infos[compat][nr],
					       sc_descs[compat][nr]);
		}
		flag_nr(compat, "exit", SC_NR_NO_RETURN);
		flag_nr(compat, "exit_group", SC_NR_NO_RETURN);
		flag_nr(compat, "clone", SC_NR_FORK);
		flag_nr(compat, "clone3", SC_NR_FORK);
		flag_nr(compat, "fork", SC_NR_FORK);
		flag_nr(compat, "vfork", SC_NR_FORK);
		flag_nr(compat, "execve", SC_NR_EXEC);
		flag_nr(compat, "execveat", SC_NR_EXEC);
		for (nr = 0; nr < SC_NR_INFO_SIZE; nr++)
			sc_nr_any_flags_table[nr] |= sc_nr_infos[compat][nr].flags;
	}
	return 0;
}

/*
 * The same tables, in the .ko file itself, for `mysysdig syscalls`: which
 * syscalls this build knows and decodes, readable without loading it.
 * Layout (little or big endian as the target, see the ELF header):
 *   struct sc_elf_header, then `count` struct sc_elf_entry.
 */
#define SC_ELF_MAGIC "MYSCTAB1"

#if defined(CONFIG_X86_64)
#define SC_ARCH "x86_64"
#define SC_COMPAT_ABI "ia32"
#elif defined(CONFIG_ARM64)
#define SC_ARCH "aarch64"
#define SC_COMPAT_ABI "aarch32"
#else
#define SC_ARCH "unknown"
#define SC_COMPAT_ABI "compat"
#endif

const char *sc_arch_name(void)
{
	return SC_ARCH;
}

const char *sc_compat_abi_name(void)
{
	return SC_COMPAT_ABI;
}

struct sc_elf_header {
	char magic[8];
	u32 version;
	u32 entry_size;
	u32 count;
	u32 reserved;
	char arch[16];
	char compat_abi[16];
	char release[64];
} __packed;

struct sc_elf_entry {
	u32 nr;
	u8 abi;		/* 64 or 32 */
	u8 decoded;
	u16 reserved;
	char name[32];
} __packed;

#define NATIVE_NAME(name, decoded) + 1
#define COMPAT_NAME(name, nr, decoded) + IS_ENABLED(CONFIG_COMPAT)
enum { SC_ELF_COUNT = 0
#include "syscall-names.h"
};
#undef NATIVE_NAME
#undef COMPAT_NAME

static const struct {
	struct sc_elf_header header;
	struct sc_elf_entry entries[SC_ELF_COUNT];
} __packed sc_elf_table __used __section(".mysysdig_syscalls") = {
	.header = {
		.magic = SC_ELF_MAGIC,
		.version = 1,
		.entry_size = sizeof(struct sc_elf_entry),
		.count = SC_ELF_COUNT,
		.arch = SC_ARCH,
		.compat_abi = SC_COMPAT_ABI,
		.release = UTS_RELEASE,
	},
	.entries = {
#define NATIVE_NAME(name, dec) { __NR_##name, 64, dec, 0, #name },
#ifdef CONFIG_COMPAT
#define COMPAT_NAME(name, nr, dec) { nr, 32, dec, 0, #name },
#else
#define COMPAT_NAME(name, nr, dec)
#endif
#include "syscall-names.h"
#undef NATIVE_NAME
#undef COMPAT_NAME
	},
};
