"""Data contracts: delivery schemas, warehouse tables, classifications."""
