"""Bench-only settings (bench/filing_bench.py): the production settings plus a
DRF endpoint that does nothing, the framework's floor. Never used in production."""
from config.settings import *

ROOT_URLCONF = "bench.noop_urls"
