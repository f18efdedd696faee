"""Stage 2, link: cases to persons (profiles, Splink model, clusters) -> core.*."""
