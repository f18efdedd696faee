"""Step 5 of the estimate chain: the resident population on each reference date,
residence spells, and register coverage (`stocks`)."""
