"""The commands that run flows: demo, run, serve."""
