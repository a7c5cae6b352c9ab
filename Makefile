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

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean

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
