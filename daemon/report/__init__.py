"""`tlh report`: what the daemon harvested and what it is worth, per account and household."""

from daemon.report.data import AccountReport, Figures, HouseholdReport, Report, build_report

__all__ = ["AccountReport", "Figures", "HouseholdReport", "Report", "build_report"]
