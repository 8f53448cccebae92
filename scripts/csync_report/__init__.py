"""Read, compare and plot csync-bench reports (docs/report-format.md).

The modules are split so that loading and comparing need only the standard
library: `report` (load and validate), `stats` (Mann-Whitney U, Hodges-Lehmann
intervals, Holm's correction, geometric mean), `compare` (baseline vs
candidate). Only `plot` needs matplotlib, and `page` (one report's HTML page,
its figures drawn by `plot`).
"""

from .report import Report, ReportError, load_report

__all__ = ["Report", "ReportError", "load_report"]
