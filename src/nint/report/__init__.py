"""Run folders, tables and figures."""

from .environment import environment, one_line
from .figures import plot_comparison, plot_curves
from .run_folder import write_run
from .tables import markdown_table

__all__ = [
    "environment",
    "one_line",
    "plot_comparison",
    "plot_curves",
    "write_run",
    "markdown_table",
]
