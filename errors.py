"""The one exception type that means "the user's input or options are wrong"."""


class RegmigError(Exception):
    """A user's mistake (missing file, bad option, bad delivery).

    The command line prints its message as one line on stderr and exits non-zero,
    without a traceback. Messages name the file, row and column where there is one.
    """
