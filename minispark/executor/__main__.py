"""``python -m minispark.executor``: the command line a worker starts an executor with."""

import sys

from .process import main

sys.exit(main())
