# mysysdig: `make` builds my_sysdig.ko for the running kernel,
# `make KDIR=<kernel headers>` for another one.
KDIR ?= /lib/modules/$(shell uname -r)/build

.PHONY: all modules clean demo test lint setup

all: modules

modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean
