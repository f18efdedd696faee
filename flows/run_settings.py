"""A run's configuration: defaults, the config file, then the command line's overrides.

Kept apart from the flows (no Prefect import), so that the command line checks a user's
settings in a fraction of a second, before any Prefect server starts.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from regmig.config import Config, ResidenceRule, load_config
from regmig.errors import RegmigError


def build_config(
    config_file: Path | None = None,
    threshold_days: int | None = None,
    window_days: int | None = None,
    disclosure_threshold: int | None = None,
    pseudonym_key_file: Path | None = None,
    engine: str | None = None,
) -> Config:
    """The run's configuration: defaults, the config file, then command-line overrides."""
    config = load_config(config_file)
    if pseudonym_key_file is not None:
        config = dataclasses.replace(
            config,
            ingest=dataclasses.replace(config.ingest, pseudonym_key_file=Path(pseudonym_key_file)),
        )
    if threshold_days is not None or window_days is not None:
        rule = config.estimate.rule
        config = config.with_rule(ResidenceRule(
            threshold_days if threshold_days is not None else rule.threshold_days,
            window_days if window_days is not None else rule.window_days,
        ))
    if disclosure_threshold is not None:
        config = dataclasses.replace(
            config,
            disclosure=dataclasses.replace(config.disclosure, threshold=disclosure_threshold),
        )
    if engine is not None:
        if engine not in ("duckdb", "spark"):
            raise RegmigError(f"--engine {engine!r}: expected duckdb or spark")
        config = dataclasses.replace(config, engine=engine)
    rule = config.estimate.rule
    if not 0 < rule.threshold_days <= rule.window_days:
        raise RegmigError(
            f"residence rule: V={rule.threshold_days} days must be between 1 and "
            f"W={rule.window_days} days"
        )
    return config
