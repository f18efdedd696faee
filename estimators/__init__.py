"""Stage 3, estimate: crossing histories, residence rule, flows and stocks -> derived.*."""
