"""Scopes (company / region / territory / rep / account) and periods.

Every planning function takes a :class:`Scope` and a :class:`Period`, so one code path serves
every plan type and every batch unit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from salesplan_nb.core.errors import ScopeError

#: planning units, largest first; a batch renders one plan per unit of a level
SCOPE_LEVELS = ("company", "region", "territory", "rep", "account")
#: plan types (PRODUCT.md): long-term 3-5 years company/region; annual next year
#: company/region; territory a year per territory/region; account a year per key account
PLAN_TYPES = ("annual", "long-term", "territory", "account")
#: plan documents: the plan types plus ``rep`` - a rep's plan read as a quota letter (step 13),
#: rendered per rep (``salesplan run --by rep``), never the type of a plan workspace
DOCUMENT_TYPES = (*PLAN_TYPES, "rep")
# column of Dataset.deals that identifies each scope level
SCOPE_COLUMN = {"region": "region", "territory": "territory", "rep": "owner_id",
                "account": "account_id"}


@dataclass(frozen=True)
class Scope:
    """A planning unit: ``level`` in company, region, territory, rep, account; ``id`` its key
    (``None`` for company)."""

    level: str = "company"
    id: str | None = None

    def __post_init__(self) -> None:
        if self.level not in SCOPE_LEVELS:
            raise ScopeError(f"unknown scope level {self.level!r}; use one of {SCOPE_LEVELS}")
        if self.level != "company" and self.id is None:
            raise ScopeError(f"scope level {self.level!r} needs an id")

    @property
    def label(self) -> str:
        return "Company" if self.level == "company" else f"{self.level.title()} {self.id}"

    def mask(self, deals: pd.DataFrame) -> pd.Series:
        """Boolean mask of the rows of a deals-like frame inside this scope."""
        if self.level == "company":
            return pd.Series(True, index=deals.index)
        return (deals[SCOPE_COLUMN[self.level]] == self.id).fillna(False).astype(bool)

    def filter(self, deals: pd.DataFrame) -> pd.DataFrame:
        """Rows of ``deals`` (a frame like ``Dataset.deals``) inside this scope."""
        return deals if self.level == "company" else deals[self.mask(deals)]

    @classmethod
    def parse(cls, text: str | Scope | None) -> Scope:
        """``"company"``, ``"region:East"``, ``"rep:R-001"`` -> Scope."""
        if isinstance(text, Scope):
            return text
        if not text or text == "company":
            return cls()
        level, _, ident = str(text).partition(":")
        return cls(level, ident or None)

    def __str__(self) -> str:
        return "company" if self.level == "company" else f"{self.level}:{self.id}"


_PERIOD = re.compile(r"^(?:FY|fy)?(\d{4})(?:-(Q[1-4]|H[12]|\d{2}))?$")


@dataclass(frozen=True)
class Period:
    """A half-open date range ``[start, end)`` with a label such as ``2025`` or ``2025-Q2``."""

    start: pd.Timestamp
    end: pd.Timestamp
    label: str

    @classmethod
    def parse(cls, text: str | int | Period, fiscal_year_start: int = 1) -> Period:
        """Parse ``2025``, ``FY2025``, ``2025-Q3``, ``2025-H1``, ``2025-07``, a range of them
        (``2027..2029``: 2027-01-01 to the end of 2029; ``2025-Q3..2026-Q2``) or of dates
        ``2024-01-01..2024-12-31`` (inclusive end). ``FY`` labels follow
        ``fiscal_year_start`` (month 1-12): a fiscal year is named by the calendar year it
        ends in, so with 7 ``FY2027`` is 2026-07-01..2027-06-30 and ``FY2027-Q1`` is
        July-September 2026; plain ``2027`` stays the calendar year."""
        if isinstance(text, Period):
            return text
        try:
            p = cls._parse(str(text).strip())
            fy = int(fiscal_year_start or 1)
            if fy != 1 and str(text).strip().upper().startswith("FY") and ".." not in str(text):
                shift = pd.DateOffset(months=fy - 1 - 12)
                p = cls(p.start + shift, p.end + shift, p.label)
            return p
        except ScopeError:
            raise
        except ValueError as exc:  # e.g. month 13, an impossible date in a range
            raise ScopeError(f"cannot read period {str(text).strip()!r}: {exc}; use 2025, "
                             "2025-Q1, 2025-H1, 2025-07 or 2025-01-01..2025-06-30") from None

    @classmethod
    def _parse(cls, s: str) -> Period:
        if ".." in s:  # a range: each side a period label (2027..2029) or a date
            a, b = (x.strip() for x in s.split("..", 1))
            start = cls.parse(a).start if _PERIOD.match(a) else pd.Timestamp(a)
            end = cls.parse(b).end if _PERIOD.match(b) else pd.Timestamp(b) + pd.Timedelta(days=1)
            if end <= start:
                raise ScopeError(f"period {s!r} ends before it starts")
            return cls(start, end, s)
        m = _PERIOD.match(s)
        if not m:
            raise ScopeError(
                f"cannot read period {s!r}: use 2025, 2025-Q1, 2025-H1, 2025-07 or "
                "2025-01-01..2025-06-30")
        year, part = int(m.group(1)), m.group(2)
        start = pd.Timestamp(year, 1, 1)
        if part is None:
            months = 12
        elif part[0] == "Q":
            start, months = pd.Timestamp(year, 3 * int(part[1]) - 2, 1), 3
        elif part[0] == "H":
            start, months = pd.Timestamp(year, 6 * int(part[1]) - 5, 1), 6
        else:
            start, months = pd.Timestamp(year, int(part), 1), 1
        return cls(start, start + pd.DateOffset(months=months), s)

    @classmethod
    def year(cls, year: int) -> Period:
        return cls.parse(str(year))

    def previous(self) -> Period:
        """The period of equal length just before this one (prior year for a year)."""
        months = (self.end.year - self.start.year) * 12 + self.end.month - self.start.month
        if self.start.day == 1 and self.end.day == 1 and months > 0:
            start = self.start - pd.DateOffset(months=months)
            label = _shift_label(self.label, months) or f"{start.date()}..{(self.start - pd.Timedelta(days=1)).date()}"
            return Period(start, self.start, label)
        length = self.end - self.start
        return Period(self.start - length, self.start, f"before {self.label}")

    def prior_year(self) -> Period:
        start, end = self.start - pd.DateOffset(years=1), self.end - pd.DateOffset(years=1)
        label = _shift_label(self.label, 12) or f"{start.date()}..{(end - pd.Timedelta(days=1)).date()}"
        return Period(start, end, label)

    def contains(self, dates: pd.Series) -> pd.Series:
        """Boolean mask: ``start <= date < end`` (NaT is outside)."""
        return ((dates >= self.start) & (dates < self.end)).fillna(False).astype(bool)

    def months(self) -> pd.PeriodIndex:
        """The calendar months the period covers."""
        return pd.period_range(self.start, self.end - pd.Timedelta(days=1), freq="M")

    @property
    def n_months(self) -> int:
        return len(self.months())

    def __str__(self) -> str:
        return self.label


def _shift_label(label: str, months: int) -> str | None:
    m = _PERIOD.match(label)
    if not m or months % 12:
        return None
    prefix = "FY" if label.startswith("FY") else ""
    year = int(m.group(1)) - months // 12
    return f"{prefix}{year}" + (f"-{m.group(2)}" if m.group(2) else "")
