"""Stage 4, publish: tabulation, disclosure control, audit and release exports."""
