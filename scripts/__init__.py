"""Developer and CI tooling; a package so tests can import scripts.testbed."""
