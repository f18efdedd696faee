"""The warehouse layer, below every stage: the run folder and its databases, transactions,
table writes, run records (meta.runs), quality indicators (meta.quality), content hashes
and timers.

Stages import `regmig.schemas` (what the tables are) and this layer (how they are opened,
written and recorded); `regmig.flows` imports the stages; nothing here imports a stage or
`flows`.
"""
