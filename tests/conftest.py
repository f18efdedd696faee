"""Shared test setup. Fixtures live in tests/fixtures/, one module per stage, and chain
the real pipeline on the committed sample: sample_delivery -> ingested_run -> linked_run
-> estimated_run -> published_run (session-scoped: each stage runs once per session;
tests that change a run folder copy it first)."""

import os

# A fixed test key: pseudonyms in tests are repeatable. Never a production key.
os.environ.setdefault("REGMIG_PSEUDONYM_KEY", "test-key-not-for-production-0123456789abcdef")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

pytest_plugins = [
    "fixtures.synth",
    "fixtures.ingest",
    "fixtures.linkage",
    "fixtures.estimate",
    "fixtures.publish",
    "fixtures.prefect",
]
