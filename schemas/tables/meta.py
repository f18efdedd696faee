"""meta: what was loaded, what ran, and how good it was."""

from regmig.schemas.table_spec import C, Table

LOADS = Table(
    "meta",
    "loads",
    "One row per delivery file loaded or refused by ingest (unit: files); a file offered "
    "again with the same bytes is reported and skipped, not recorded twice. "
    "rows_read = rows_loaded + rows_rejected on every row.",
    (
        C("load_id", "BIGINT", "Identifier of the load", "NOT NULL"),
        C("source", "VARCHAR", "Delivery source: border_crossings, population_register or permits"),
        C("file_name", "VARCHAR", "Base name of the delivery file"),
        C("file_path", "VARCHAR", "Path the file was read from"),
        C("file_sha256", "VARCHAR", "SHA-256 of the file's bytes (hex)"),
        C("period", "VARCHAR", "Delivery period the file covers; a later file for the same "
          "source and period supersedes an earlier one"),
        C("status", "VARCHAR", "loaded (in force) | superseded (replaced by a later delivery "
          "of the same source and period; its rows left raw.<source>) | refused (file "
          "unreadable as a whole, nothing loaded)"),
        C("rows_read", "BIGINT", "Data rows read from the file (cases)"),
        C("rows_loaded", "BIGINT", "Rows loaded into raw.<source> (cases)"),
        C("rows_rejected", "BIGINT", "Rows put in quarantine, raw.rejected (cases)"),
        C("superseded_by", "BIGINT", "load_id of the delivery that replaced this one, if any"),
        C("message", "VARCHAR", "Why a file was refused; notes on a loaded file (absent "
          "optional or ignored extra columns)"),
        C("run_id", "VARCHAR", "Run that made the load"),
        C("loaded_at", "TIMESTAMP", "When the load finished (UTC)"),
    ),
    primary_key=("load_id",),
)

RUNS = Table(
    "meta",
    "runs",
    "One row per stage run (unit: runs): parameters, versions, inputs and timings, so "
    "every derived row can be traced to what produced it.",
    (
        C("run_id", "VARCHAR", "Identifier of the run; derived tables carry it", "NOT NULL"),
        C("stage", "VARCHAR", "ingest | link | estimate | publish | pipeline", "NOT NULL"),
        C("flow_run_id", "VARCHAR", "Prefect flow run id, when run by a flow"),
        C("parameters", "JSON", "Parameters and full configuration of the run"),
        C("package_versions", "JSON", "Versions of regmig and its main dependencies"),
        C("input_hashes", "JSON", "Content hashes of the inputs the run read"),
        C("row_counts", "JSON", "Rows written per table"),
        C("timings", "JSON", "Seconds per step"),
        C("status", "VARCHAR", "running | completed | failed | skipped"),
        C("started_at", "TIMESTAMP", "Start time (UTC)"),
        C("finished_at", "TIMESTAMP", "End time (UTC)"),
    ),
    primary_key=("run_id", "stage"),
)

QUALITY = Table(
    "meta",
    "quality",
    "Quality indicators computed by the stages (linkage rates, repairs, coverage ...).",
    (
        C("run_id", "VARCHAR", "Run that computed the indicator"),
        C("stage", "VARCHAR", "Stage that computed the indicator"),
        C("indicator", "VARCHAR", "Name of the indicator"),
        C("value", "DOUBLE", "Value of the indicator"),
        C("unit", "VARCHAR", "Unit of the value: persons, cases, ratio, seconds ..."),
        C("detail", "VARCHAR", "Breakdown or note (e.g. the source the value is for)"),
        C("recorded_at", "TIMESTAMP", "When the value was recorded (UTC)"),
    ),
)

PSEUDONYM_KEY = Table(
    "meta",
    "pseudonym_key",
    "The fingerprint of the pseudonymisation key every pseudonym of this warehouse was "
    "made with (unit: keys, one row): a run under another key is refused. Never the key "
    "itself.",
    (
        C("fingerprint", "VARCHAR", "HMAC-SHA256 of the label under the key (hex)",
          "NOT NULL"),
        C("label", "VARCHAR", "The fixed text the fingerprint is an HMAC of"),
        C("run_id", "VARCHAR", "Run of the first load, which recorded the fingerprint"),
        C("recorded_at", "TIMESTAMP", "When the fingerprint was recorded (UTC)"),
    ),
)

TABLES = (LOADS, RUNS, QUALITY, PSEUDONYM_KEY)
