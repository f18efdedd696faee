"""Blocking rules chosen by a comparison budget, not by habit.

Scoring costs time in proportion to the number of compared pairs (about 230,000 a second
on two cores), so the rules that generate predictions are picked from the candidates in
model_settings.py, most specific first, for as long as the cumulative number of pairs
they generate stays within `LinkageConfig.comparison_budget`. The counts are logged to
meta.quality so a reader can see what the run could and could not find.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from splink.blocking_analysis import count_comparisons_from_blocking_rules
from splink.internals.splink_dataframe import SplinkDataFrame

from regmig.config import LinkageConfig
from regmig.linkage.model_settings import CANDIDATE_BLOCKING_RULES


@dataclass(frozen=True)
class BlockingChoice:
    name: str
    rule: Any
    marginal_comparisons: int
    cumulative_comparisons: int
    kept: bool


def choose_blocking_rules(
    profiles: SplinkDataFrame, config: LinkageConfig
) -> list[BlockingChoice]:
    """Each candidate with its estimated extra pairs, kept while within the budget."""
    choices: list[BlockingChoice] = []
    kept_rules: list[Any] = []
    cumulative = 0
    for name, rule in CANDIDATE_BLOCKING_RULES:
        records = count_comparisons_from_blocking_rules(
            profiles,
            blocking_rules=[*kept_rules, rule],
            link_type="dedupe_only",
            unique_id_column_name="unique_id",
            record_sample_proportion=config.blocking_count_sample,
        )
        total = int(records[-1]["cumulative_comparison_count"])
        marginal = total - cumulative
        kept = total <= config.comparison_budget
        if kept:
            kept_rules.append(rule)
            cumulative = total
        choices.append(BlockingChoice(name, rule, marginal, total if kept else cumulative,
                                      kept))
    return choices
