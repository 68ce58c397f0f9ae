"""Planning windows: every step measures history on these, never on its own formula.

All windows are half-open :class:`~salesplan_nb.core.scope.Period` ranges ``[start, end)`` of
calendar days. ``as_of`` is the data's snapshot date and belongs to the history, so history
windows end on the day after it (``day_after(as_of)``).

- **Trailing 12 months** (:func:`trailing_12_months`): the 12 calendar months ending on
  ``as_of`` inclusive, ``[day_after(as_of) - 12 months, day_after(as_of))``. For a month-end
  ``as_of`` that is exactly the last 12 whole months (as_of 2025-02-28 -> 2024-03-01 ..
  2025-02-28, 365 days; as_of 2024-02-29 -> 2023-03-01 .. 2024-02-29, 366 days; as_of
  2025-12-31 -> calendar 2025).
- **Same dates last year** (:func:`same_dates_last_year`): a window shifted back 12 months,
  both ends (``Period.prior_year``). A window to ``as_of`` 2025-02-28 (end 2025-03-01) is
  compared with the one ending 2024-03-01, so 29 Feb 2024 is in it: month ends match month
  ends.
- **Year to date** (:func:`year_to_date`): 1 January of ``as_of``'s year to ``as_of``
  inclusive; :func:`to_date` clips any period the same way.
- **Baseline year** (:func:`baseline_period`): the latest period like the plan period, whole
  years earlier, that is over by ``as_of`` (a 2027 plan on data to 2026-06-30 -> 2025);
  :func:`last_full_year` is the last calendar year over by ``as_of``.
- **Plan year** (:func:`plan_year`): the calendar year after ``as_of``'s.
- **Last whole month** (:func:`last_whole_month`): the last calendar month over by ``as_of``;
  monthly models (forecast, scenarios) measure rates on the 12 whole months ending there,
  :func:`trailing_12_whole_months`, which is the trailing 12 months whenever ``as_of`` is a
  month end.
"""

from __future__ import annotations

import pandas as pd

from salesplan_nb.core.scope import Period

ONE_DAY = pd.Timedelta(days=1)
TRAILING_LABEL = "last 12 months"


def day_after(as_of: pd.Timestamp) -> pd.Timestamp:
    """The exclusive end of a history window that includes ``as_of``."""
    return pd.Timestamp(as_of).normalize() + ONE_DAY


def trailing_12_months(as_of: pd.Timestamp, label: str = TRAILING_LABEL) -> Period:
    """The 12 calendar months ending on ``as_of`` inclusive:
    ``[day_after(as_of) - 12 months, day_after(as_of))`` (see the module doc)."""
    end = day_after(as_of)
    return Period(end - pd.DateOffset(months=12), end, label)


def same_dates_last_year(period: Period) -> Period:
    """``period`` shifted back 12 months (start and exclusive end): the comparison window for
    year-on-year growth and year to date."""
    return period.prior_year()


def year_to_date(as_of: pd.Timestamp) -> Period:
    """1 January of ``as_of``'s year to ``as_of`` inclusive."""
    as_of = pd.Timestamp(as_of).normalize()
    return Period(pd.Timestamp(as_of.year, 1, 1), day_after(as_of), f"{as_of.year} to date")


def to_date(period: Period, as_of: pd.Timestamp) -> Period:
    """``period`` clipped to ``as_of`` inclusive (keeps the label; may be empty when the
    period starts after ``as_of``)."""
    end = min(period.end, day_after(as_of))
    return Period(period.start, max(end, period.start), period.label)


def in_progress(period: Period, as_of: pd.Timestamp) -> bool:
    """True when ``as_of`` falls inside ``period`` before its last day."""
    return period.start <= pd.Timestamp(as_of) < period.end - ONE_DAY


def is_over(period: Period, as_of: pd.Timestamp) -> bool:
    """True when the whole of ``period`` is history by ``as_of``."""
    return period.end <= day_after(as_of)


def last_full_year(as_of: pd.Timestamp) -> int:
    """The last calendar year that ended on or before ``as_of``."""
    as_of = pd.Timestamp(as_of)
    return as_of.year if (as_of.month, as_of.day) == (12, 31) else as_of.year - 1


def plan_year(as_of: pd.Timestamp) -> Period:
    """The calendar year after ``as_of``'s (the default plan period)."""
    return Period.year(pd.Timestamp(as_of).year + 1)


def baseline_period(period: Period, as_of: pd.Timestamp | None) -> Period:
    """The latest period like ``period``, whole years earlier, that is over by ``as_of``
    (``None``: the year before)."""
    p = period.prior_year()
    while as_of is not None and not is_over(p, as_of):
        p = p.prior_year()
    return p


def history_basis(period: Period, as_of: pd.Timestamp) -> Period:
    """The history a plan-period figure is measured on: ``period`` to date when it has
    started by ``as_of``, else :func:`trailing_12_months` (labelled with its dates)."""
    if period.start <= pd.Timestamp(as_of):
        return to_date(period, as_of)
    w = trailing_12_months(as_of)
    return Period(w.start, w.end, f"{w.start.date()}..{pd.Timestamp(as_of).date()}")


def last_whole_month(as_of: pd.Timestamp) -> pd.Period:
    """The last calendar month that is over by ``as_of`` (its own month when ``as_of`` is the
    month's last day)."""
    as_of = pd.Timestamp(as_of).normalize()
    m = as_of.to_period("M")
    return m if as_of == m.end_time.normalize() else m - 1


def trailing_12_whole_months(as_of: pd.Timestamp) -> Period:
    """The 12 whole months ending with :func:`last_whole_month` (equal to
    :func:`trailing_12_months` for a month-end ``as_of``)."""
    last = last_whole_month(as_of)
    end = (last + 1).start_time
    return Period(end - pd.DateOffset(months=12), end, f"{last - 11}..{last}")
