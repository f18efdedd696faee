"""regmig: international-migration statistics from linked administrative registers."""

__version__ = "0.1.0"
