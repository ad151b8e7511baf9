"""``python -m hpc.benchmarks``: the benchmark suite (see :mod:`hpc.benchmarks.suite`)."""

import sys

from hpc.benchmarks.suite import main

sys.exit(main())
