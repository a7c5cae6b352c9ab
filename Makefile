# mysysdig
#   make                    build my_sysdig.ko for the running kernel
#   make KDIR=<headers>     ... for another kernel
#   make demo               boot a VM, trace a web server under load, print the summary
#   make bench              overhead of my_sysdig vs. peer tracers in one VM boot -> bench/results.md
#   make test               the whole test suite (unit + VM tests), installing what it needs
KDIR ?= /lib/modules/$(shell uname -r)/build
PYTHON ?= python3

.PHONY: all modules clean setup demo bench test lint

all: modules

modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

# Not Kbuild's "M=... clean": it deletes every *.ko below M, .cache's kernel modules too.
clean:
	find . -maxdepth 1 -type f \( -name '*.o' -o -name '.*.o' -o -name '.*.cmd' -o -name '*.ko' \
		-o -name '*.mod' -o -name '*.mod.c' \) -delete
	find kmod -type f \( -name '*.o' -o -name '.*.cmd' \) -delete
	rm -f Module.symvers modules.order kmod/syscall-names.h

setup:
	bash scripts/setup.sh

demo: setup
	$(PYTHON) -m scripts.demo

bench: setup
	$(PYTHON) -m scripts.bench

lint:
	$(PYTHON) -m ruff check mysysdig scripts tests
	$(PYTHON) -m ruff format --check mysysdig scripts tests

test: setup lint
	$(PYTHON) -m pytest -q -ra -n 2 --dist loadgroup
