"""Old import path of :mod:`dvta_live.runtimes` (runtimes are not exports); the same module object, so
patching either name patches both."""

import sys

from dvta_live import runtimes

sys.modules[__name__] = runtimes
