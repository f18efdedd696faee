"""The Spark session a run's stages share when `engine = "spark"` (Config.spark).

One session per process: Spark keeps its JVM for the life of the process, so the link,
estimate and publish stages of one run (and the tests of one test session) reuse the
session the first of them started, with the settings it was started with. Splink's
similarity functions (Jaro-Winkler, Damerau-Levenshtein) come from the jar Splink ships.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from regmig.config import SparkConfig
from regmig.errors import RegmigError

#: Settings every regmig session has: no web UI or console progress bars (a command line
#: prints its own progress), dates and times in UTC like the warehouse, Python workers
#: from this environment.
FIXED_SETTINGS = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.pyspark.python": sys.executable,
    "spark.pyspark.driver.python": sys.executable,
}


#: Spark's own log: errors only, to standard error.
LOG_SETTINGS = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = stderr
appender.console.type = Console
appender.console.name = stderr
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n
"""


def spark_session(config: SparkConfig, local_dir: Path) -> Any:
    """The process's Spark session, started with `config` if none is running yet."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:  # pragma: no cover - pyspark is a dependency
        raise RegmigError("engine = \"spark\" needs pyspark, which is not installed") from None
    from splink.backends.spark import similarity_jar_location

    local_dir.mkdir(parents=True, exist_ok=True)
    # Spark's JVM logs at WARN to the terminal by default; a run prints its own progress.
    log_settings = local_dir / "log4j2.properties"
    log_settings.write_text(LOG_SETTINGS, encoding="utf-8")
    builder = (
        SparkSession.builder.master(config.master)
        .appName("regmig")
        .config("spark.jars", similarity_jar_location())
        .config("spark.driver.memory", config.driver_memory)
        .config("spark.executor.memory", config.executor_memory)
        .config("spark.sql.shuffle.partitions", str(config.shuffle_partitions))
        .config("spark.local.dir", str(local_dir))
        .config("spark.driver.extraJavaOptions",
                f"-Dlog4j2.configurationFile=file:{log_settings}")
    )
    for key, value in {**FIXED_SETTINGS, **config.conf}.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def spark_local_dir(config: SparkConfig, run_folder: Path) -> Path:
    """Spark's spill folder for a run: `[spark] local_dir`, else spark_tmp/ in the run
    folder (one for the whole run: a session outlives the stage that started it)."""
    return config.local_dir or run_folder / "spark_tmp"
