import sys

from bench.harness.main import entry

sys.exit(entry())
