"""The test package. Imported before any test module, conftest included."""

import os
import sys

# Some machines (CI's among them) set PYTHONDONTWRITEBYTECODE=1: every pytest worker then recompiles and
# re-rewrites the asserts of every test module (~6 s of CPU each), and every bot subprocess a test starts
# recompiles the bot. Caching bytecode in __pycache__ (git-ignored) changes nothing a test checks.
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
