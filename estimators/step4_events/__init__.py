"""Step 4 of the estimate chain: migration events (final and provisional) with the
person's characteristics (`migration_events`), and their totals by period (`totals`)."""
