"""flowtui: a terminal control room for automation flows on SaaS platforms."""

__version__ = "0.1.0"
