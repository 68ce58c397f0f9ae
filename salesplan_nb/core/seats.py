"""Quota-carrying seats, ramp, attrition and growth defaults: one definition for every step.

**Who carries a quota** (:func:`quota_seat_mask`): a row of the reps table whose ``role`` is
not a manager role and who is employed for part of the period. A manager role names one of
:data:`MANAGER_WORDS` as a word (``Sales Manager``, ``Regional Director``, ``VP Sales``,
``Head of Sales``, ``Chief Revenue Officer``) - except seller titles that name accounts
(``Account Manager``, ``Key Account Manager``), who sell and carry quota. A blank role is a
seller. Managers' own deals still count in their territory's and region's bookings; managers
are not seats (no quota, no capacity). A plan for one rep (scope ``rep:ID``) always counts
that person.

**Employment** (:func:`employed_mask`): a rep is employed on day ``d`` when ``hire_date <= d <
end_date`` (``end_date`` is the first day gone; blank hire date = always was, blank end date =
still employed). A seat is in a period ``[start, end)`` when ``hire_date < end`` and
``end_date > start``; a **leaver** has an ``end_date`` (past or notice given).

**Ramp** (:class:`RampCurve`, :func:`tenure_months`, :func:`ramp_factors`): share of full
productivity by tenure, piecewise constant, default months 0-3 25%, 3-6 60%, 6-9 85%, then
100%. Tenure in month ``m`` = whole calendar months from the hire month (the hire month is 0,
months before it are negative -> 0%). A rep's ramp factor over a period = the mean over its
months of ``share of the month's days employed x ramp(tenure)``; no hire date -> 1.0.

**Attrition** (:data:`DEFAULT_ATTRITION`): a plan uses the recorded capacity decision, else
14% a year (B2B, PRODUCT.md); :func:`observed_attrition` measures leavers / average
quota-seat headcount in a window (evidence, never silently substituted for the plan rate).
A leaver's seat is backfilled :data:`DEFAULT_BACKFILL_LAG` months later.

**Growth** (:data:`DEFAULT_GROWTH`): with no recorded target, a plan asks for 110% of the
prior-year bookings (PRODUCT.md, quotas step).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.core.scope import Period

DEFAULT_ATTRITION = 0.14  # annual fraction of quota seats that leave (B2B)
DEFAULT_BACKFILL_LAG = 2  # months from a leaver's exit to the backfill's start
DEFAULT_GROWTH = 1.10  # default target = 110% of prior-year bookings
#: words that make a role a manager role (matched as whole words, case-insensitive)
MANAGER_WORDS = ("manager", "director", "vp", "vice president", "head", "chief", "cro")
#: seller titles that contain a manager word but carry quota
SELLER_TITLES = ("account manager",)
_MANAGER = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in MANAGER_WORDS) + r")\b")
_SELLER = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in SELLER_TITLES) + r")\b")


# ---- who carries a quota -------------------------------------------------------------------
def is_manager_role(role: pd.Series) -> pd.Series:
    """Boolean mask: the role is a manager role (see the module doc)."""
    r = pd.Series(role, dtype="object").fillna("").astype(str).str.lower()
    mgr = r.str.contains(_MANAGER)
    seller = r.str.contains(_SELLER)
    return (mgr & ~seller).astype(bool)


def employed_mask(reps: pd.DataFrame, day: pd.Timestamp) -> pd.Series:
    """Boolean mask: rows of ``reps`` employed on ``day`` (``hire_date <= day < end_date``)."""
    day = pd.Timestamp(day)
    hire, end = reps["hire_date"], reps["end_date"]
    return ((hire.isna() | (hire <= day)) & (end.isna() | (end > day))).fillna(False).astype(bool)


def in_period_mask(reps: pd.DataFrame, period: Period) -> pd.Series:
    """Boolean mask: rows of ``reps`` employed for part of ``period``."""
    hire, end = reps["hire_date"], reps["end_date"]
    return ((hire.isna() | (hire < period.end)) & (end.isna() | (end > period.start))
            ).fillna(False).astype(bool)


def quota_seat_mask(reps: pd.DataFrame, period: Period | None = None) -> pd.Series:
    """Boolean mask: rows of ``reps`` that carry a quota (not a manager role) and, when
    ``period`` is given, are employed for part of it."""
    keep = ~is_manager_role(reps["role"])
    if period is not None:
        keep &= in_period_mask(reps, period)
    return pd.Series(keep.to_numpy(dtype=bool), index=reps.index)


def quota_seats(reps: pd.DataFrame, period: Period | None = None) -> pd.DataFrame:
    """The rows of ``reps`` that carry a quota (:func:`quota_seat_mask`)."""
    return reps[quota_seat_mask(reps, period).to_numpy()]


# ---- ramp ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RampCurve:
    """Share of full productivity by tenure: ``steps`` = ``((up_to_month, share), ...)``,
    piecewise constant, ``share`` for tenure ``< up_to_month``; 100% after the last step.

    Iterating yields the ``(up_to_month, share)`` pairs."""

    steps: tuple[tuple[float, float], ...] = ((3, 0.25), (6, 0.60), (9, 0.85))

    def __post_init__(self) -> None:
        try:
            steps = tuple((float(a), float(b)) for a, b in self.steps)
        except (TypeError, ValueError):
            raise ConfigError(f"ramp steps must be (up_to_month, share) pairs, got "
                              f"{self.steps!r}") from None
        prev = 0.0
        for upto, share in steps:
            if upto <= prev:
                raise ConfigError(f"ramp months must increase and be > 0: {steps!r}")
            if not 0 <= share <= 1:
                raise ConfigError(f"ramp share {share!r} must be a fraction 0..1 (25% = 0.25)")
            prev = upto
        object.__setattr__(self, "steps", steps)

    def __iter__(self) -> Iterator[tuple[float, float]]:
        return iter(self.steps)

    def share(self, tenure: float | np.ndarray) -> np.ndarray:
        """Ramp share at tenure (months; negative = not started -> 0)."""
        t = np.asarray(tenure, dtype=float)
        out = np.ones_like(t)
        for upto, share in reversed(self.steps):
            out = np.where(t < upto, share, out)
        return np.where(t < 0, 0.0, out)

    @property
    def full_after(self) -> float:
        """Months until fully ramped."""
        return self.steps[-1][0] if self.steps else 0.0

    @classmethod
    def parse(cls, value: RampCurve | Iterable | dict | str | None) -> RampCurve:
        """A curve from pairs, ``{up_to_month: share}``, or text ``"3:25%,6:60%,9:85%"``
        (``None``: :data:`DEFAULT_RAMP`)."""
        if value is None:
            return DEFAULT_RAMP
        if isinstance(value, RampCurve):
            return value
        if isinstance(value, dict):
            value = sorted((float(k), v) for k, v in value.items())
        if isinstance(value, str):
            pairs = []
            for part in value.split(","):
                a, sep, b = part.partition(":")
                if not sep:
                    raise ConfigError(f"cannot read ramp {value!r}: use '3:25%,6:60%,9:85%'")
                b = b.strip()
                share = float(b[:-1]) / 100 if b.endswith("%") else float(b)
                pairs.append((float(a), share))
            value = pairs
        return cls(tuple(tuple(p) for p in value))

    def label(self) -> str:
        prev, parts = 0.0, []
        for upto, share in self.steps:
            parts.append(f"{prev:g}-{upto:g} m {share:.0%}")
            prev = upto
        return ", ".join(parts) + ", then 100%"


DEFAULT_RAMP = RampCurve()


def month_ordinals(months: pd.PeriodIndex) -> np.ndarray:
    """``year x 12 + month - 1`` of each month (the month arithmetic of tenure)."""
    return np.array([m.year * 12 + m.month - 1 for m in months], dtype=float)


def tenure_months(hire: pd.Series, months: pd.PeriodIndex) -> np.ndarray:
    """Tenure (rows = reps, columns = ``months``): whole calendar months from the hire month
    (hire month = 0, earlier months negative); no hire date -> a large number (ramped)."""
    h = pd.to_datetime(pd.Series(hire)).reset_index(drop=True)
    h_ord = (h.dt.year * 12 + h.dt.month - 1).to_numpy(dtype=float, na_value=np.nan)
    t = month_ordinals(months)[None, :] - h_ord[:, None]
    return np.where(np.isnan(t), 1e6, t)


def employed_share(hire: pd.Series, end: pd.Series, months: pd.PeriodIndex) -> np.ndarray:
    """Share of each month's days employed (rows = reps, columns = ``months``)."""
    starts = months.to_timestamp(how="start").values.astype("datetime64[D]")
    ends = (months + 1).to_timestamp(how="start").values.astype("datetime64[D]")
    days = (ends - starts).astype(float)
    h = pd.to_datetime(pd.Series(hire)).reset_index(drop=True).to_numpy().astype("datetime64[D]")
    e = pd.to_datetime(pd.Series(end)).reset_index(drop=True).to_numpy().astype("datetime64[D]")
    lo = np.where(np.isnat(h)[:, None], starts[None, :], np.maximum(starts[None, :], h[:, None]))
    hi = np.where(np.isnat(e)[:, None], ends[None, :], np.minimum(ends[None, :], e[:, None]))
    return np.clip((hi - lo).astype(float), 0, None) / days[None, :]


def ramp_factors(hire: pd.Series, period: Period | str,
                 ramp: RampCurve | None = None) -> np.ndarray:
    """Mean over ``period``'s months of ``share of days employed x ramp(tenure)`` per hire
    date (0..1; NaT -> 1.0): the ramp adjustment of a quota and a seat's capacity share."""
    per = Period.parse(period)
    ramp = RampCurve.parse(ramp)
    h = pd.to_datetime(pd.Series(hire)).reset_index(drop=True)
    ms = per.months()
    if not len(ms):
        return np.ones(len(h))
    none = pd.Series(pd.NaT, index=h.index, dtype="datetime64[ns]")
    r = employed_share(h, none, ms) * ramp.share(tenure_months(h, ms))
    return np.where(h.isna().to_numpy(), 1.0, r.mean(axis=1))


# ---- attrition -----------------------------------------------------------------------------
def observed_attrition(reps: pd.DataFrame, window: Period) -> tuple[float, int, float] | None:
    """Leavers / average headcount of quota seats in ``window`` (annualised to a year):
    ``(rate, leavers, average headcount)``; ``None`` when no rep has an end date (the data
    cannot tell). Headcount is the mean of the seats employed on the window's first and last
    day; leavers are seats whose ``end_date`` falls in the window."""
    if not reps["end_date"].notna().any():
        return None
    seats = quota_seats(reps)
    left = int(window.contains(seats["end_date"]).sum())
    head = (int(employed_mask(seats, window.start).sum())
            + int(employed_mask(seats, window.end - pd.Timedelta(days=1)).sum())) / 2
    years = window.n_months / 12 if window.start.day == 1 and window.end.day == 1 \
        else (window.end - window.start).days / 365.25
    years = max(years, 1 / 12)
    rate = left / max(head, 1.0) / years
    return float(min(rate, 0.99)), left, float(head)
