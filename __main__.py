"""`python -m regmig`: the same command line as `regmig`."""

from regmig.flows.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
