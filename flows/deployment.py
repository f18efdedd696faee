"""The scheduled monthly run: a Prefect deployment of the pipeline flow.

Schedules need a Prefect server that keeps running (`prefect server start`); the
temporary server a plain `regmig run` starts refuses them. Two ways to run the job:

- `regmig serve --input DIR --out DIR`: registers the deployment with its monthly
  schedule and keeps a process running that executes each scheduled run;
- `prefect deploy --all` with the repository's `prefect.yaml` and a process worker
  (`prefect worker start --pool regmig`), as Prefect's operators usually do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from regmig.errors import RegmigError

DEPLOYMENT_NAME = "regmig-monthly"
FLOW_NAME = "regmig-pipeline"
#: 06:00 on the 2nd of every month: the month's deliveries arrive on the 1st.
MONTHLY_CRON = "0 6 2 * *"
SCHEDULE_TIMEZONE = "UTC"


def deployment_parameters(
    input_dir: Path,
    out_dir: Path,
    config_file: Path | None = None,
    reference_year: int | None = None,
) -> dict[str, Any]:
    """Pipeline parameters as the deployment stores them (plain JSON, absolute paths)."""
    parameters: dict[str, Any] = {
        "input_dir": str(Path(input_dir).resolve()),
        "out_dir": str(Path(out_dir).resolve()),
    }
    if config_file is not None:
        parameters["config_file"] = str(Path(config_file).resolve())
    if reference_year is not None:
        parameters["reference_year"] = reference_year
    return parameters


def server_url() -> str:
    """The API of the long-lived Prefect server this process talks to, or a clear error."""
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    if not url:
        raise RegmigError(
            "scheduled runs need a running Prefect server: start one with "
            "`prefect server start`, then `export PREFECT_API_URL=http://127.0.0.1:4200/api`"
        )
    return url


def serve_monthly(
    input_dir: Path,
    out_dir: Path,
    config_file: Path | None = None,
    cron: str = MONTHLY_CRON,
    timezone: str = SCHEDULE_TIMEZONE,
) -> None:
    """Register the monthly deployment and execute its runs until interrupted."""
    from prefect.schedules import Cron
    from prefect.types.entrypoint import EntrypointType

    from regmig.flows.pipeline import pipeline_flow

    server_url()
    if not Path(input_dir).is_dir():
        raise RegmigError(f"{input_dir}: delivery folder not found")
    pipeline_flow.serve(
        name=DEPLOYMENT_NAME,
        schedules=[Cron(cron, timezone=timezone)],
        parameters=deployment_parameters(input_dir, out_dir, config_file),
        description="Monthly regmig run: deliveries to release, with a run report.",
        tags=["regmig"],
        # Loaded by module name, so runs work from any working directory.
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
