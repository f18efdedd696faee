"""Stage 1, ingest: validate deliveries, quarantine bad rows, pseudonymise, load raw.*."""
