"""`make bench`: every benchmark section, our figures beside the peers' in the same run, into bench/RESULTS.md."""

from __future__ import annotations

import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import heat_bench  # noqa: E402
import intake_bench  # noqa: E402
import locate_bench  # noqa: E402
import partition_bench  # noqa: E402

SECTIONS = (locate_bench, partition_bench, intake_bench, heat_bench)


def main() -> None:
    lines = ["# Benchmarks", "",
             f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, {os.cpu_count()} cores, "
             f"Python {platform.python_version()}.", ""]
    for section in SECTIONS:
        print(f"running {section.__name__} …", flush=True)
        lines += section.run()
    text = "\n".join(lines)
    (HERE / "RESULTS.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
