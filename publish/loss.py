"""Information loss of the disclosure control, per table.

Under suppression: cells suppressed (primary, complementary) and the units they count
("persons suppressed", or cases for a cases table). Under rounding: cells whose shown
value differs from the true one and the total absolute change. Restricted: the split
between primary and complementary cells tells where the small cells are, so these
figures go to stats.information_loss, and the release carries only the cell counts.
"""

from __future__ import annotations

import polars as pl


def information_loss(protected_cells: dict[str, pl.DataFrame], units: dict[str, str]
                     ) -> pl.DataFrame:
    """One row per table from its cells (value, released, primary, suppressed, shown)."""
    rows = []
    for table_id, cells in protected_cells.items():
        shown = cells.filter(pl.col("released"))
        suppressed = shown.filter(pl.col("suppressed"))
        changed = shown.filter(~pl.col("suppressed") & (pl.col("shown") != pl.col("value")))
        total_units = int(shown["value"].sum())
        units_suppressed = int(suppressed["value"].sum())
        rows.append({
            "table_id": table_id,
            "unit": units[table_id],
            "cells": shown.height,
            "cells_primary": int(shown["primary"].sum()),
            "cells_complementary": int((shown["suppressed"] & ~shown["primary"]).sum()),
            "cells_suppressed": suppressed.height,
            "units_in_cells": total_units,
            "units_suppressed": units_suppressed,
            "cells_rounded_changed": changed.height,
            "units_rounding_change": int((changed["shown"] - changed["value"]).abs().sum()),
            "share_cells_suppressed": suppressed.height / shown.height if shown.height else 0.0,
            "share_units_suppressed": units_suppressed / total_units if total_units else 0.0,
        })
    return pl.DataFrame(rows)


#: Column descriptions of the information-loss table (warehouse comments).
LOSS_COLUMNS = {
    "table_id": "Publication table",
    "unit": "What the table counts: persons or cases",
    "cells": "Published cells of the table (cells)",
    "cells_primary": "Cells suppressed because they are small (primary; cells)",
    "cells_complementary": "Cells suppressed to protect small ones (secondary; cells)",
    "cells_suppressed": "All suppressed cells (cells)",
    "units_in_cells": "Sum of the values of all published cells (persons or cases, "
                      "margins included, so units count more than once)",
    "units_suppressed": "Sum of the values of the suppressed cells (persons or cases)",
    "cells_rounded_changed": "Under rounding: cells whose shown value differs (cells)",
    "units_rounding_change": "Under rounding: total absolute change (persons or cases)",
    "share_cells_suppressed": "cells_suppressed / cells (ratio)",
    "share_units_suppressed": "units_suppressed / units_in_cells (ratio)",
}
