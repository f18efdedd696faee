"""Warehouse table specs, one module per schema, in the order the stages write them."""

from regmig.schemas.tables import core, derived, meta, raw

WAREHOUSE_TABLES = meta.TABLES + raw.TABLES + core.TABLES + derived.TABLES
