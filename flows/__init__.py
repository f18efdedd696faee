"""Prefect flows over the four stages, and the regmig command line."""
