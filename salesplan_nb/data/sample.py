"""Seeded sample company: the default data of the demo, the tests and the tutorials.

:func:`generate` builds a realistic B2B software company from one seed (numpy
``default_rng``), fully vectorised so 100,000 accounts / 1,000,000 opportunities take seconds:

- history from 1 January three years before ``as_of`` up to ``as_of``, plus the open pipeline:
  deals created by ``as_of`` whose expected close date is after it;
- regions (North America, EMEA, APAC, LATAM, ...), territories (3 per region by default, about
  ``accounts / 1000`` at large sizes), reps (one manager per territory, AEs in seats; some seats
  turned over, some new hires ramping, some vacant after a leaver);
- accounts with industry, log-normal employees (median 150), revenue ~ employees x revenue per
  employee, segment by the architecture rule (<200 SMB, 200-999 Mid-Market, >=1000 Enterprise),
  location per region, a few parent companies;
- opportunities whose close month follows a seasonal pattern (Q4 strong) and ~10%/year growth,
  cycle length, win rate, deal size and discount depend on the segment; amount = list price x
  quantity x (1 - discount); lost deals carry a loss reason;
- a market table (potential per segment x region, USD/year, always above our bookings) and
  targets for the current year (company, region, territory).

See ``docs/sample-data.md`` for the distributions and the measured figures the tests check.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.data.dataset import Dataset

# --------------------------------------------------------------------------------------------
# Parameters of the simulated company (documented in docs/sample-data.md)

REGIONS = ["North America", "EMEA", "APAC", "LATAM", "Middle East", "Africa", "ANZ", "Nordics"]
REGION_CODES = ["NA", "EMEA", "APAC", "LATAM", "ME", "AF", "ANZ", "NORD"]
REGION_WEIGHTS = np.array([0.40, 0.30, 0.20, 0.10, 0.08, 0.05, 0.07, 0.06])
TERRITORY_NAMES = {
    "North America": ["West", "Central", "East"],
    "EMEA": ["UK & Ireland", "DACH", "Southern Europe"],
    "APAC": ["Japan", "ASEAN", "India"],
    "LATAM": ["Brazil", "Mexico", "Southern Cone"],
}
# (country, state, city, weight) per region
LOCATIONS = {
    "North America": [
        ("United States", "California", "San Francisco", 5), ("United States", "California",
        "Los Angeles", 4), ("United States", "New York", "New York", 6),
        ("United States", "Texas", "Austin", 3), ("United States", "Texas", "Dallas", 3),
        ("United States", "Illinois", "Chicago", 4), ("United States", "Washington", "Seattle", 3),
        ("United States", "Massachusetts", "Boston", 3), ("United States", "Georgia", "Atlanta", 2),
        ("Canada", "Ontario", "Toronto", 3), ("Canada", "British Columbia", "Vancouver", 1),
        ("Canada", "Quebec", "Montreal", 1)],
    "EMEA": [
        ("United Kingdom", "England", "London", 6), ("United Kingdom", "England", "Manchester", 2),
        ("Ireland", "Leinster", "Dublin", 2), ("Germany", "Bavaria", "Munich", 3),
        ("Germany", "Berlin", "Berlin", 3), ("France", "Ile-de-France", "Paris", 4),
        ("Netherlands", "North Holland", "Amsterdam", 2), ("Spain", "Madrid", "Madrid", 2),
        ("Italy", "Lombardy", "Milan", 2), ("Sweden", "Stockholm", "Stockholm", 1),
        ("United Arab Emirates", "Dubai", "Dubai", 1)],
    "APAC": [
        ("Japan", "Tokyo", "Tokyo", 5), ("Japan", "Osaka", "Osaka", 2),
        ("Singapore", "Singapore", "Singapore", 3), ("India", "Maharashtra", "Mumbai", 3),
        ("India", "Karnataka", "Bengaluru", 3), ("Australia", "New South Wales", "Sydney", 3),
        ("Australia", "Victoria", "Melbourne", 2), ("South Korea", "Seoul", "Seoul", 2),
        ("Indonesia", "Jakarta", "Jakarta", 1)],
    "LATAM": [
        ("Brazil", "Sao Paulo", "Sao Paulo", 5), ("Brazil", "Rio de Janeiro", "Rio de Janeiro", 2),
        ("Mexico", "Mexico City", "Mexico City", 4), ("Mexico", "Nuevo Leon", "Monterrey", 1),
        ("Argentina", "Buenos Aires", "Buenos Aires", 2), ("Chile", "Santiago", "Santiago", 2),
        ("Colombia", "Bogota", "Bogota", 2), ("Peru", "Lima", "Lima", 1)],
    "Middle East": [
        ("United Arab Emirates", "Dubai", "Dubai", 3), ("Saudi Arabia", "Riyadh", "Riyadh", 3),
        ("Israel", "Tel Aviv", "Tel Aviv", 2), ("Qatar", "Doha", "Doha", 1)],
    "Africa": [
        ("South Africa", "Gauteng", "Johannesburg", 3), ("Nigeria", "Lagos", "Lagos", 2),
        ("Kenya", "Nairobi", "Nairobi", 2), ("Egypt", "Cairo", "Cairo", 2)],
    "ANZ": [
        ("Australia", "New South Wales", "Sydney", 4), ("Australia", "Victoria", "Melbourne", 3),
        ("Australia", "Queensland", "Brisbane", 2), ("New Zealand", "Auckland", "Auckland", 2)],
    "Nordics": [
        ("Sweden", "Stockholm", "Stockholm", 3), ("Norway", "Oslo", "Oslo", 2),
        ("Denmark", "Capital Region", "Copenhagen", 2), ("Finland", "Uusimaa", "Helsinki", 2)],
}
INDUSTRIES = ["Technology", "Financial Services", "Healthcare", "Manufacturing", "Retail",
              "Energy", "Telecommunications", "Public Sector"]
INDUSTRY_WEIGHTS = np.array([0.22, 0.15, 0.13, 0.16, 0.12, 0.07, 0.07, 0.08])
# revenue per employee (USD) and win-rate multiplier per industry
INDUSTRY_REV_PER_EMP = np.array([320e3, 450e3, 210e3, 260e3, 180e3, 600e3, 380e3, 150e3])
INDUSTRY_WIN_MULT = np.array([1.10, 1.00, 1.05, 0.95, 0.90, 1.00, 1.00, 0.85])
REGION_WIN_MULT = np.array([1.05, 1.00, 0.95, 0.90, 0.95, 0.90, 1.00, 1.00])

SEGMENTS = ["SMB", "Mid-Market", "Enterprise"]
SEG_WIN = np.array([0.32, 0.26, 0.20])          # base win probability of a closed deal
SEG_CYCLE_DAYS = np.array([30.0, 65.0, 130.0])  # median created -> close, days
SEG_QTY = np.array([6.0, 25.0, 110.0])          # median seats per seat-priced deal
QTY_SIGMA = 0.45                                # log-normal sigma of the seat count
SEG_DISCOUNT = np.array([[0.00, 0.10], [0.05, 0.20], [0.10, 0.30]])  # uniform range
SEG_OPP_WEIGHT = np.array([1.0, 1.6, 2.4])      # deals per account, relative

# product_id, name, family, list price (USD/unit), unit cost, seat-priced?
PRODUCTS = [
    ("P-CORE-S", "Core Starter", "Core Platform", 600.0, 90.0, True),
    ("P-CORE-P", "Core Professional", "Core Platform", 1200.0, 170.0, True),
    ("P-CORE-E", "Core Enterprise", "Core Platform", 2400.0, 310.0, True),
    ("P-ANL-I", "Analytics Insights", "Analytics", 900.0, 150.0, True),
    ("P-ANL-P", "Analytics Predict", "Analytics", 1800.0, 290.0, True),
    ("P-SVC-ONB", "Onboarding Package", "Services", 12000.0, 7800.0, False),
    ("P-SVC-SUP", "Premium Support", "Services", 8000.0, 3600.0, False),
    ("P-SVC-TRN", "Training Workshop", "Services", 4500.0, 2700.0, False),
]
# product mix per segment (rows: SMB, Mid-Market, Enterprise)
PRODUCT_MIX = np.array([
    [0.34, 0.24, 0.02, 0.16, 0.04, 0.06, 0.04, 0.10],
    [0.12, 0.28, 0.12, 0.14, 0.12, 0.08, 0.07, 0.07],
    [0.02, 0.16, 0.32, 0.08, 0.18, 0.09, 0.10, 0.05],
])
LOSS_REASONS = ["Price", "Competitor", "No decision", "Timing", "Product fit"]
LOSS_MIX = np.array([
    [0.36, 0.22, 0.16, 0.14, 0.12],
    [0.26, 0.28, 0.20, 0.14, 0.12],
    [0.16, 0.30, 0.30, 0.12, 0.12],
])
OPEN_STAGES = ["Prospecting", "Qualification", "Proposal", "Negotiation"]
# close-month seasonality (Jan..Dec, mean 1): quarter ends strong, Q4 strongest
SEASONALITY = np.array([0.72, 0.80, 1.05, 0.84, 0.90, 1.10, 0.76, 0.80, 1.08, 0.98, 1.12, 1.85])
SEASONALITY = SEASONALITY / SEASONALITY.mean()
GROWTH = 0.10                                   # yearly growth of deal volume
HORIZON = 18             # months after as_of in which open deals may be expected to close
WON_CYCLE, LOST_CYCLE = 0.8, 1.1                # cycle factors: lost deals drag on longer
# market: our share of potential per segment, and the share of addressable accounts we know
SEG_MARKET_SHARE = np.array([0.025, 0.045, 0.07])
SEG_ACCOUNT_COVERAGE = np.array([0.04, 0.10, 0.22])
TARGET_GROWTH = 1.12       # company target = prior-year bookings x 1.12
TERRITORY_OVERASSIGN = 1.10  # territory targets sum to 110% of their region's target

_FIRST = ["Alex", "Maria", "James", "Priya", "Chen", "Sofia", "Liam", "Aisha", "Noah", "Elena",
          "Kenji", "Fatima", "Lucas", "Hannah", "Mateo", "Olivia", "Ravi", "Emma", "Diego",
          "Yuki", "Omar", "Chloe", "Ethan", "Isabel", "Daniel", "Mei", "Samuel", "Zara",
          "Thomas", "Ana", "Victor", "Grace"]
_LAST = ["Smith", "Garcia", "Mueller", "Tanaka", "Patel", "Johnson", "Rossi", "Kim", "Silva",
         "Nguyen", "Brown", "Dubois", "Novak", "Okafor", "Larsen", "Haddad", "Lopez", "Chen",
         "Wilson", "Schmidt", "Kowalski", "Santos", "Ito", "Murphy", "Andersen", "Costa",
         "Reyes", "Fischer", "Sato", "Walker"]
_NAME_A = ["Blue", "North", "Bright", "Summit", "Iron", "Silver", "Green", "Red", "Clear",
           "Swift", "Atlas", "Nova", "Prime", "Cedar", "Harbor", "Quantum", "Vertex", "Orion",
           "Pioneer", "Granite", "Sterling", "Apex", "Coastal", "Evergreen", "Golden",
           "Horizon", "Lumen", "Meridian", "Pacific", "Union"]
_NAME_B = ["stone", "field", "wave", "bridge", "point", "gate", "line", "works", "path", "core",
           "peak", "star", "leaf", "forge", "view", "rock", "port", "light", "mark", "ridge"]
_NAME_C = {"Technology": ["Systems", "Software", "Labs", "Technologies"],
           "Financial Services": ["Capital", "Bank", "Financial", "Insurance"],
           "Healthcare": ["Health", "Medical", "Clinics", "Pharma"],
           "Manufacturing": ["Industries", "Manufacturing", "Components", "Motors"],
           "Retail": ["Retail", "Stores", "Brands", "Outfitters"],
           "Energy": ["Energy", "Power", "Utilities", "Resources"],
           "Telecommunications": ["Telecom", "Networks", "Communications", "Mobile"],
           "Public Sector": ["Agency", "Council", "Authority", "Services"]}


# --------------------------------------------------------------------------------------------


def _scale(accounts: int, reps: int | None, territories: int | None,
           regions: int) -> tuple[int, int]:
    """Default territories = max(3 x regions, accounts / 1000); reps = max(5 x territories,
    accounts / 100): 2,000 accounts -> 12 / 60, 100,000 -> 100 / 1,000."""
    if territories is None:
        territories = max(3 * regions, round(accounts / 1000))
    if reps is None:
        reps = max(5 * territories, round(accounts / 100))
    return int(territories), int(reps)


def _check(seed, accounts, opportunities, reps, territories, regions, as_of) -> pd.Timestamp:
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise ConfigError(f"sample seed must be a non-negative integer, got {seed!r}")
    if not 1 <= regions <= len(REGIONS):
        raise ConfigError(f"sample regions must be 1..{len(REGIONS)}, got {regions}")
    if accounts < 10:
        raise ConfigError(f"sample accounts must be at least 10, got {accounts}")
    if opportunities < 0:
        raise ConfigError(f"sample opportunities must be >= 0, got {opportunities}")
    if territories < regions:
        raise ConfigError(f"sample territories ({territories}) must be at least the number "
                          f"of regions ({regions})")
    if reps < 2 * territories:
        raise ConfigError(f"sample reps ({reps}) must be at least 2 per territory "
                          f"({2 * territories}): one manager and one AE")
    try:
        ts = pd.Timestamp(as_of).normalize()
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"sample as_of {as_of!r} is not a date; use YYYY-MM-DD") from exc
    if pd.isna(ts) or not 1990 <= ts.year <= 2200:
        raise ConfigError(f"sample as_of {as_of!r} is not a usable date; use YYYY-MM-DD")
    return ts


def _unique_names(names: pd.Series) -> pd.Series:
    """Append `` 2``, `` 3`` ... to repeated names so every name is unique."""
    dup = names.groupby(names).cumcount()
    suffix = np.where(dup.to_numpy() > 0, " " + (dup + 1).astype(str), "")
    return names + suffix


def _ids(prefix: str, n: int, width: int) -> pa.Array:
    """``prefix`` + zero-padded 1..n, e.g. ``O-0000001`` (built in Arrow: fast at 1M rows)."""
    nums = pa.array(np.arange(1, n + 1)).cast(pa.string())
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(nums, width, "0"), "")


def _labels(codes: np.ndarray, cats) -> pd.Series:
    """String Series ``cats[codes]`` (code -1 -> missing), via an Arrow dictionary array."""
    cats = cats if isinstance(cats, pa.Array) else pa.array(list(cats), pa.string())
    codes = np.asarray(codes, dtype=np.int64)
    arr = pa.DictionaryArray.from_arrays(pa.array(codes, mask=codes < 0), cats)
    return pd.Series(pd.arrays.ArrowStringArray(arr.cast(pa.large_string())))


def _uniform_dates(rng, lo: np.datetime64, hi: np.datetime64, n: int) -> np.ndarray:
    """n dates uniform on [lo, hi] (day precision)."""
    span = max(int((hi - lo).astype(int)), 0)
    return lo + rng.integers(0, span + 1, size=n).astype("timedelta64[D]")


def _pick(rng: np.random.Generator, weights, size: int) -> np.ndarray:
    """``size`` indices into ``weights`` drawn with probability ``weights / sum(weights)``."""
    w = np.asarray(weights, dtype=float)
    return rng.choice(len(w), size=size, p=w / w.sum())


def _groups(codes: np.ndarray, n: int):
    """``(g, rows of codes == g)`` for g = 0 .. n-1, in order (the seeded draws follow it)."""
    for g in range(n):
        yield g, np.flatnonzero(codes == g)


def generate(seed: int = 42, accounts: int = 2000, opportunities: int = 30000,
             reps: int | None = None, territories: int | None = None, regions: int = 4,
             as_of: str | pd.Timestamp = "2026-06-30") -> Dataset:
    """Generate a seeded sample company as a :class:`~salesplan_nb.data.dataset.Dataset`.

    ``territories`` defaults to max(3 x regions, accounts/1000), ``reps`` to max(5 x
    territories, accounts/100). History starts on 1 January of ``as_of.year - 3``; deals with
    an expected close after ``as_of`` are open. Same arguments -> identical tables.
    """
    territories, reps = _scale(accounts, reps, territories, regions)
    asof = _check(seed, accounts, opportunities, reps, territories, regions, as_of)
    rng = np.random.default_rng(seed)
    A = np.datetime64(asof.date(), "D")
    S0 = np.datetime64(f"{asof.year - 3}-01-01", "D")
    day = np.timedelta64(1, "D")

    # ---- regions and territories -------------------------------------------------------------
    reg_names = REGIONS[:regions]
    reg_w = REGION_WEIGHTS[:regions] / REGION_WEIGHTS[:regions].sum()
    t_per_reg = np.full(regions, territories // regions)
    t_per_reg[: territories % regions] += 1
    t_region = np.repeat(np.arange(regions), t_per_reg)          # territory -> region index
    t_off = np.concatenate([[0], np.cumsum(t_per_reg)[:-1]])
    t_ids, t_names = [], []
    for r, k in enumerate(t_per_reg):
        named = TERRITORY_NAMES.get(reg_names[r], [])
        for j in range(k):
            t_ids.append(f"{REGION_CODES[r]}-{j + 1:02d}")
            label = named[j] if k <= len(named) else f"{j + 1}"
            t_names.append(f"{reg_names[r]} {label}")
    t_ids_arr = np.array(t_ids, dtype=object)
    t_weight = reg_w[t_region] / t_per_reg[t_region]

    # ---- seats and reps ----------------------------------------------------------------------
    # reps = managers (1 per territory) + seat occupants + predecessors of turned-over seats
    T = territories
    n_seats = max(T, round((reps - T) / 1.3))
    n_pred = reps - T - n_seats
    if n_pred > n_seats - T:  # not enough non-first seats to turn over
        n_seats = (reps + 1) // 2
        n_pred = reps - T - n_seats
    seats_per_t = 1 + rng.multinomial(n_seats - T, t_weight)
    seat_t = np.repeat(np.arange(T), seats_per_t)
    seat_off = np.concatenate([[0], np.cumsum(seats_per_t)[:-1]])
    first_seat = np.zeros(n_seats, dtype=bool)
    first_seat[seat_off] = True
    others = np.flatnonzero(~first_seat)
    others = rng.permutation(others)
    n_other = len(others) - n_pred
    n_ramp = min(n_other, max(1, round(0.12 * n_other)))
    n_vac = min(n_other - n_ramp, max(1, round(0.06 * n_other)))
    n_grow = min(n_other - n_ramp - n_vac, round(0.18 * n_other))
    kind = np.full(n_seats, "tenured", dtype=object)
    cut = np.cumsum([0, n_pred, n_ramp, n_vac, n_grow])
    for i, label in enumerate(("turnover", "ramping", "vacant", "growth")):
        kind[others[cut[i]: cut[i + 1]]] = label

    years = 365 * day
    hire = _uniform_dates(rng, S0 - 8 * years, S0 - 180 * day, n_seats)
    end = np.full(n_seats, np.datetime64("NaT"), dtype="datetime64[D]")
    k_turn, k_ramp = kind == "turnover", kind == "ramping"
    k_vac, k_grow = kind == "vacant", kind == "growth"
    pred_hire = _uniform_dates(rng, S0 - 6 * years, S0 - 180 * day, n_seats)
    pred_end = _uniform_dates(rng, S0 + 60 * day, A - 150 * day, n_seats)
    succ_hire = pred_end + rng.integers(20, 91, size=n_seats).astype("timedelta64[D]")
    hire = np.where(k_turn, succ_hire, hire)
    hire = np.where(k_ramp, _uniform_dates(rng, A - 170 * day, A - 10 * day, n_seats), hire)
    hire = np.where(k_grow, _uniform_dates(rng, S0 + 90 * day, A - 200 * day, n_seats), hire)
    end = np.where(k_vac, _uniform_dates(rng, A - 80 * day, A - 5 * day, n_seats), end)
    pred_end = np.where(k_turn, pred_end, np.datetime64("NaT"))
    mgr_hire = _uniform_dates(rng, S0 - 10 * years, S0 - 365 * day, T)

    # rep rows: managers [0, T), seat occupants [T, T+S), predecessors [T+S, reps)
    pred_seats = np.flatnonzero(k_turn)
    r_terr = np.concatenate([np.arange(T), seat_t, seat_t[pred_seats]])
    r_role = np.array(["Manager"] * T + ["AE"] * (n_seats + n_pred), dtype=object)
    r_hire = np.concatenate([mgr_hire, hire, pred_hire[pred_seats]])
    r_end = np.concatenate([np.full(T, np.datetime64("NaT"), dtype="datetime64[D]"), end,
                            pred_end[pred_seats]])
    order = np.lexsort((r_hire, r_role != "Manager", r_terr))  # by territory, manager first
    rank = np.empty(reps, dtype=np.int64)
    rank[order] = np.arange(reps)
    rep_ids = np.array(_ids("R-", reps, 4 if reps < 10000 else 6).to_pylist(), dtype=object)
    rid = rep_ids[rank]                                          # internal index -> rep_id
    seat_rep = T + np.arange(n_seats)                            # internal rep index per seat
    pred_rep = np.full(n_seats, -1, dtype=np.int64)
    pred_rep[pred_seats] = T + n_seats + np.arange(n_pred)
    seat0_rep = seat_rep[seat_off]                               # always employed
    rep_names = _unique_names(pd.Series(
        np.array(_FIRST, dtype=object)[rng.integers(0, len(_FIRST), reps)] + " "
        + np.array(_LAST, dtype=object)[rng.integers(0, len(_LAST), reps)]))
    reps_df = pd.DataFrame({
        "rep_id": rid, "name": rep_names.to_numpy(),
        "manager_id": np.where(r_role == "Manager", None, rid[r_terr]),
        "region": np.array(reg_names, dtype=object)[t_region[r_terr]],
        "territory": t_ids_arr[r_terr], "role": r_role,
        "hire_date": r_hire.astype("datetime64[ns]"), "end_date": r_end.astype("datetime64[ns]"),
    }).iloc[order].reset_index(drop=True)

    # ---- accounts ----------------------------------------------------------------------------
    n = accounts
    a_reg = rng.choice(regions, size=n, p=reg_w)
    a_terr = t_off[a_reg] + (rng.random(n) * t_per_reg[a_reg]).astype(np.int64)
    a_seat = seat_off[a_terr] + (rng.random(n) * seats_per_t[a_terr]).astype(np.int64)
    a_ind = _pick(rng, INDUSTRY_WEIGHTS, n)
    emp = np.clip(np.round(rng.lognormal(np.log(150), 1.4, n)), 5, 400_000).astype(np.int64)
    revenue = np.round(emp * INDUSTRY_REV_PER_EMP[a_ind] * rng.lognormal(0, 0.35, n), -3)
    a_seg = np.where(emp < 200, 0, np.where(emp < 1000, 1, 2))
    place = np.empty((n, 3), dtype=object)  # country, state, city
    for r, idx in _groups(a_reg, regions):  # one vectorised draw per region
        locs = np.array(LOCATIONS[reg_names[r]], dtype=object)
        place[idx] = locs[_pick(rng, locs[:, 3].astype(float), len(idx)), :3]
    country, state, city = place.T
    suffixes = np.array([_NAME_C[i] for i in INDUSTRIES], dtype=object)  # (8, 4)
    names = (np.array(_NAME_A, dtype=object)[rng.integers(0, len(_NAME_A), n)]
             + np.array(_NAME_B, dtype=object)[rng.integers(0, len(_NAME_B), n)] + " "
             + suffixes[a_ind, rng.integers(0, 4, n)])
    names = _unique_names(pd.Series(names)).to_numpy()
    acc_ids = _ids("A-", n, 6)
    # parents: ~3% of non-enterprise accounts belong to an enterprise in the same region
    parent = np.full(n, -1, dtype=np.int64)
    ent = np.flatnonzero(a_seg == 2)
    if len(ent):
        child = np.flatnonzero((a_seg < 2) & (rng.random(n) < 0.03))
        # an enterprise of the same region when there is one, else any enterprise
        ent_reg = a_reg[ent]
        pick = rng.integers(0, len(ent), size=len(child))
        for r in range(regions):
            same = ent[ent_reg == r]
            sel = a_reg[child] == r
            if len(same) and sel.any():
                pick[sel] = np.searchsorted(ent, same[rng.integers(0, len(same), sel.sum())])
        parent[child] = ent[pick]
    # owner: the seat's current rep, the territory's first seat when the seat is vacant
    a_owner = np.where(kind[a_seat] == "vacant", seat0_rep[a_terr], seat_rep[a_seat])
    accounts_df = pd.DataFrame({
        "account_id": _labels(np.arange(n), acc_ids), "name": names,
        "industry": np.array(INDUSTRIES, dtype=object)[a_ind],
        "segment": np.array(SEGMENTS, dtype=object)[a_seg],
        "employees": emp, "revenue": revenue.astype(float),
        "country": country, "state": state, "city": city,
        "region": np.array(reg_names, dtype=object)[a_reg], "territory": t_ids_arr[a_terr],
        "parent_id": _labels(parent, acc_ids), "owner_id": _labels(a_owner, rid),
    })

    # ---- opportunities -----------------------------------------------------------------------
    m = opportunities
    w = SEG_OPP_WEIGHT[a_seg] * rng.lognormal(0, 0.6, n)
    p_acc = w / w.sum()
    # close month: seasonality x growth, from the history start to HORIZON months after as_of
    months = np.arange(S0.astype("datetime64[M]"), A.astype("datetime64[M]") + HORIZON + 1)
    t_years = (months - months[0]).astype(np.int64) / 12.0
    mw = SEASONALITY[months.astype(np.int64) % 12] * (1 + GROWTH) ** t_years
    p_month = mw / mw.sum()
    p_ind, p_reg = INDUSTRY_WIN_MULT[a_ind], REGION_WIN_MULT[a_reg]

    def draw(k: int):
        """k candidate deals; only those created by as_of exist in the snapshot."""
        acc = rng.choice(n, size=k, p=p_acc)
        seg = a_seg[acc]
        mi = rng.choice(len(months), size=k, p=p_month)
        start = months[mi].astype("datetime64[D]")
        ndays = ((months[mi] + 1).astype("datetime64[D]") - start).astype(np.int64)
        close = start + (rng.random(k) * ndays).astype(np.int64).astype("timedelta64[D]")
        wins = rng.random(k) < SEG_WIN[seg] * p_ind[acc] * p_reg[acc]
        cycle = np.clip(np.round(rng.lognormal(np.log(SEG_CYCLE_DAYS[seg]), 0.5)
                                 * np.where(wins, WON_CYCLE, LOST_CYCLE)), 1, 720)
        keep = close - cycle.astype(np.int64).astype("timedelta64[D]") <= A
        return acc[keep], close[keep], cycle[keep], wins[keep]

    parts = [draw(0)]
    got = 0
    keep_rate = max(p_month[months <= A.astype("datetime64[M]")].sum(), 0.05)
    while got < m:  # a few batches at most: each over-draws by 10%
        parts.append(draw(int((m - got) / keep_rate * 1.1) + 64))
        got += len(parts[-1][0])
    o_acc, close, cycle, would_win = (np.concatenate(x)[:m] for x in zip(*parts, strict=True))
    o_seg = a_seg[o_acc]
    created = close - cycle.astype(np.int64).astype("timedelta64[D]")
    # the CRM export starts half a year before the history: no deal created earlier
    created = np.maximum(created, S0 - 182 * day)
    is_open = close > A
    # a few slipped deals: expected close in the last 45 days but still open
    slipped = (~is_open) & (close > A - 45 * day) & (rng.random(m) < 0.08)
    is_open |= slipped
    won = (~is_open) & would_win
    lost = (~is_open) & ~would_win
    # product, quantity, discount, amount
    o_prod = np.empty(m, dtype=np.int64)
    o_reason = np.full(m, -1, dtype=np.int64)
    for s, idx in _groups(o_seg, len(SEGMENTS)):
        o_prod[idx] = _pick(rng, PRODUCT_MIX[s], len(idx))
        lidx = idx[lost[idx]]
        o_reason[lidx] = _pick(rng, LOSS_MIX[s], len(lidx))
    price = np.array([p[3] for p in PRODUCTS])[o_prod]
    seat_priced = np.array([p[5] for p in PRODUCTS])[o_prod]
    qty_seats = np.maximum(1, np.round(rng.lognormal(np.log(SEG_QTY[o_seg]), QTY_SIGMA)))
    qty_pack = 1 + rng.poisson(0.3 + 0.7 * o_seg)
    qty = np.where(seat_priced, qty_seats, qty_pack)
    lo, hi = SEG_DISCOUNT[o_seg, 0], SEG_DISCOUNT[o_seg, 1]
    disc = np.round(lo + rng.random(m) * (hi - lo), 3)
    amount = np.round(price * qty * (1 - disc), 2)
    # owner: who held the account's seat on the close date (as_of for open deals)
    seat = a_seat[o_acc]
    when = np.where(is_open, A, np.minimum(close, A))
    p_end = pred_end[seat]
    use_pred = k_turn[seat] & (when < p_end)
    cand = np.where(use_pred, pred_rep[seat], seat_rep[seat])
    c_hire = np.where(use_pred, pred_hire[seat], hire[seat])
    c_end = np.where(use_pred, p_end, end[seat])
    ok = (when >= c_hire) & (np.isnat(c_end) | (when < c_end))
    owner = np.where(ok, cand, seat0_rep[seat_t[seat]])
    # stage
    span = np.maximum((close - created).astype(np.int64), 1)
    progress = np.clip((A - created).astype(np.int64) / span, 0, 0.999)
    open_stage = np.where(slipped, 3, (progress * 4).astype(np.int64))
    stage = np.where(won, 4, np.where(lost, 5, open_stage))
    status = np.where(won, 1, np.where(lost, 2, 0))
    order = np.lexsort((o_acc, close, created))
    opps_df = pd.DataFrame({
        "opportunity_id": pd.Series(pd.arrays.ArrowStringArray(_ids("O-", m, 7))),
        "account_id": _labels(o_acc[order], acc_ids), "owner_id": _labels(owner[order], rid),
        "product_id": _labels(o_prod[order], [p[0] for p in PRODUCTS]),
        "stage": _labels(stage[order], OPEN_STAGES + ["Closed Won", "Closed Lost"]),
        "status": _labels(status[order], ["open", "won", "lost"]),
        "created_date": created[order].astype("datetime64[ns]"),
        "close_date": close[order].astype("datetime64[ns]"),
        "amount": amount[order], "loss_reason": _labels(o_reason[order], LOSS_REASONS),
    })

    products_df = pd.DataFrame(
        [p[:5] for p in PRODUCTS], columns=["product_id", "name", "family", "list_price",
                                           "unit_cost"])
    territories_df = pd.DataFrame({"territory_id": t_ids_arr, "name": t_names,
                                   "region": np.array(reg_names, dtype=object)[t_region]})

    # ---- market: potential per segment x region, above our bookings ---------------------------
    py = asof.year - 1
    won_py = won & (close >= np.datetime64(f"{py}-01-01")) \
        & (close < np.datetime64(f"{py + 1}-01-01"))
    cell = o_seg * regions + a_reg[o_acc]
    book = np.bincount(cell[won_py], weights=amount[won_py], minlength=3 * regions)
    won_all = np.bincount(cell[won], weights=amount[won], minlength=3 * regions)
    n_won = np.bincount(cell[won], minlength=3 * regions)
    acc_cell = np.bincount(a_seg * regions + a_reg, minlength=3 * regions)
    seg_c = np.repeat(np.arange(3), regions)
    share = SEG_MARKET_SHARE[seg_c] * rng.lognormal(0, 0.35, 3 * regions)
    addressable = np.maximum(np.round(acc_cell / SEG_ACCOUNT_COVERAGE[seg_c]), 1)
    avg_deal = np.where(n_won > 0, won_all / np.maximum(n_won, 1),
                        np.median(amount) if m else 10_000.0)
    fallback = addressable * avg_deal * 0.5
    potential = np.round(np.where(book > 0, book / share, fallback), -3)
    market_df = pd.DataFrame({
        "segment": np.array(SEGMENTS, dtype=object)[seg_c],
        "region": np.array(reg_names * 3, dtype=object), "industry": None,
        "potential": potential, "accounts": addressable.astype(np.int64),
    })

    # ---- targets for the current year ---------------------------------------------------------
    deal_terr = a_terr[o_acc]
    reg_book = np.bincount(a_reg[o_acc][won_py], weights=amount[won_py], minlength=regions)
    terr_book = np.bincount(deal_terr[won_py], weights=amount[won_py], minlength=T)
    company = round(reg_book.sum() * TARGET_GROWTH, -3)
    reg_share = reg_book / reg_book.sum() if reg_book.sum() > 0 else reg_w
    reg_target = np.round(company * reg_share, -3)
    t_in_reg = np.bincount(t_region, weights=terr_book, minlength=regions)[t_region]
    t_share = np.where(t_in_reg > 0, terr_book / np.where(t_in_reg > 0, t_in_reg, 1),
                       1 / t_per_reg[t_region])
    terr_target = np.round(reg_target[t_region] * t_share * TERRITORY_OVERASSIGN, -3)
    cy = str(asof.year)
    targets_df = pd.DataFrame({
        "scope_level": ["company"] + ["region"] * regions + ["territory"] * T,
        "scope_id": [None] + reg_names + t_ids, "period": cy, "metric": "bookings",
        "amount": np.concatenate([[company], reg_target, terr_target]).astype(float),
    })

    contacts_df = _contacts(seed, accounts_df, a_seg, opps_df, A)
    return Dataset(accounts=accounts_df, opportunities=opps_df, reps=reps_df,
                   products=products_df, territories=territories_df, targets=targets_df,
                   market=market_df, contacts=contacts_df, as_of=asof, name=f"sample-{seed}")


# ---- contacts: the buying committees ------------------------------------------------------------
CONTACT_STREAM = 0xC0  # contacts draw from their own stream: the other tables stay identical
SEG_CONTACTS = np.array([[1, 3], [2, 5], [3, 7]])  # contacts per account (uniform, inclusive)
CONTACT_ROLES = ["economic buyer", "decision maker", "champion", "executive sponsor",
                 "technical buyer", "influencer", "user"]
CONTACT_ROLE_P = np.array([0.14, 0.18, 0.20, 0.05, 0.13, 0.15, 0.15])
ROLE_TITLES = {
    "economic buyer": ["CFO", "VP Finance", "Chief Revenue Officer", "COO"],
    "decision maker": ["VP Sales", "CIO", "Head of Operations", "VP Customer Success"],
    "champion": ["Sales Operations Manager", "Director of Revenue Operations",
                 "Head of Sales Enablement"],
    "executive sponsor": ["CEO", "Managing Director", "SVP Strategy"],
    "technical buyer": ["IT Director", "Solutions Architect", "Head of Data"],
    "influencer": ["Procurement Lead", "Finance Manager", "IT Manager"],
    "user": ["Account Executive", "Sales Analyst", "Customer Success Manager"],
}
ACTIVITY_DAYS = 45.0  # mean days since the last activity with a contact (exponential)


def _contacts(seed: int, accounts: pd.DataFrame, a_seg: np.ndarray, opps: pd.DataFrame,
              A: np.datetime64) -> pd.DataFrame:
    """Contacts per account (SMB 1-3, Mid-Market 2-5, Enterprise 3-7) with a deal role drawn
    from :data:`CONTACT_ROLE_P` (small committees often lack a key role), a title fitting
    the role, a synthetic e-mail at ``<account>.example`` and phone, the last activity
    (exponential, mean :data:`ACTIVITY_DAYS` days before as_of; 15% never) and, for key
    roles at accounts with open pipeline, the open deal expected to close last. Drawn from
    ``default_rng([seed, CONTACT_STREAM])`` so the other tables do not move."""
    rng = np.random.default_rng([seed, CONTACT_STREAM])
    n = len(accounts)
    lo, hi = SEG_CONTACTS[a_seg, 0], SEG_CONTACTS[a_seg, 1]
    k = lo + (rng.random(n) * (hi - lo + 1)).astype(np.int64)
    acc = np.repeat(np.arange(n), k)
    m = len(acc)
    role = _pick(rng, CONTACT_ROLE_P, m)
    fi = rng.integers(0, len(_FIRST), m)
    li = rng.integers(0, len(_LAST), m)
    pick = rng.integers(0, 12, m)
    counts = np.array([len(ROLE_TITLES[r]) for r in CONTACT_ROLES])
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    titles = pa.array([t for r in CONTACT_ROLES for t in ROLE_TITLES[r]], pa.string())
    title = titles.take(pa.array(offsets[role] + pick % counts[role]))
    first = pa.array(_FIRST, pa.string()).take(pa.array(fi))
    last = pa.array(_LAST, pa.string()).take(pa.array(li))
    slug = pc.replace_substring_regex(pc.utf8_lower(pa.array(accounts["name"].astype(str),
                                                             pa.string())), "[^a-z0-9]+", "")
    domain = slug.take(pa.array(acc))
    email = pc.binary_join_element_wise(pc.utf8_lower(first), ".", pc.utf8_lower(last), "@",
                                        domain, ".example", "")
    phone = pc.binary_join_element_wise(
        "+1 555", pc.cast(pa.array(rng.integers(100, 1000, m)), pa.string()),
        pc.cast(pa.array(rng.integers(1000, 10000, m)), pa.string()), " ")
    days = np.minimum(np.round(rng.exponential(ACTIVITY_DAYS, m)), 720).astype(np.int64)
    never = rng.random(m) < 0.15
    last_activity = (A - days.astype("timedelta64[D]")).astype("datetime64[ns]")
    last_activity[never] = np.datetime64("NaT")
    # key roles are on the account's open deal expected to close last
    o = opps[opps["status"] == "open"].sort_values("close_date", kind="stable")
    latest = o.drop_duplicates("account_id", keep="last")
    acc_pos = pd.Index(accounts["account_id"]).get_indexer(latest["account_id"])
    deal_of = np.full(n, -1, dtype=np.int64)
    deal_of[acc_pos[acc_pos >= 0]] = np.arange(len(latest))[acc_pos >= 0]
    deal_code = np.where(role < 3, deal_of[acc], -1)
    deal_ids = pa.array(latest["opportunity_id"].astype(str).tolist(), pa.string())

    def text(arr: pa.Array) -> pd.Series:
        return pd.Series(pd.arrays.ArrowStringArray(arr.cast(pa.large_string())))

    return pd.DataFrame({
        "contact_id": text(_ids("C-", m, 7)),
        "name": text(pc.binary_join_element_wise(first, last, " ")),
        "title": text(title), "role": _labels(role, CONTACT_ROLES),
        "account_id": _labels(acc, pa.array(accounts["account_id"].astype(str).tolist(),
                                            pa.string())),
        "opportunity_id": _labels(deal_code, deal_ids) if len(deal_ids) else
        pd.Series([None] * m, dtype="string[pyarrow]"),
        "email": text(email), "phone": text(phone), "last_activity": last_activity,
    })


# --------------------------------------------------------------------------------------------
CSV_TABLES = ("accounts", "opportunities", "reps", "products", "territories", "targets",
              "market", "contacts")


def write_csv(folder: str | Path, **generate_kwargs) -> Path:
    """Generate a sample (see :func:`generate`) and write the canonical CSVs to ``folder``:
    ``accounts.csv, opportunities.csv, reps.csv, products.csv, territories.csv, targets.csv,
    market.csv`` (ISO dates, canonical column names) plus ``as_of.txt``. Returns the folder."""
    data = generate(**generate_kwargs)
    return write_dataset_csv(data, folder)


def write_dataset_csv(data: Dataset, folder: str | Path) -> Path:
    """Write ``data`` as canonical CSVs (the layout ``loaders.load(folder)`` reads)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"sample output {folder} exists and is not a folder; pick another path")
    folder.mkdir(parents=True, exist_ok=True)
    for name in CSV_TABLES:
        df = data.table(name)
        tmp = folder / f".{name}.csv.tmp"
        df.to_csv(tmp, index=False, date_format="%Y-%m-%d")
        tmp.replace(folder / f"{name}.csv")
    (folder / "as_of.txt").write_text(data.as_of.date().isoformat() + "\n")
    return folder


def summary(data: Dataset) -> dict[str, int]:
    """Row counts of the tables of ``data``."""
    return {name: len(data.table(name)) for name in CSV_TABLES}


def _cmd_sample(args: argparse.Namespace) -> int:
    kwargs = dict(seed=args.seed, accounts=args.accounts, opportunities=args.opportunities,
                  as_of=args.as_of, regions=args.regions)
    if args.reps is not None:
        kwargs["reps"] = args.reps
    if args.territories is not None:
        kwargs["territories"] = args.territories
    data = generate(**kwargs)
    folder = write_dataset_csv(data, args.dir)
    counts = ", ".join(f"{v:,} {k}" for k, v in summary(data).items())
    print(f"wrote sample data (seed {args.seed}, as of {data.as_of.date()}) to {folder}: {counts}")
    return 0


def register_cli(subparsers) -> None:
    """Add ``salesplan sample DIR [--accounts N] [--opportunities M] [--seed S] [--as-of D]``."""
    p = subparsers.add_parser(
        "sample", help="write a seeded sample company as canonical CSVs",
        description="Generate a realistic, seeded sample company and write canonical CSVs "
                    "(accounts, opportunities, reps, products, territories, targets, market).")
    p.add_argument("dir", help="output folder (created if missing)")
    p.add_argument("--accounts", type=int, default=2000, help="number of accounts (2000)")
    p.add_argument("--opportunities", type=int, default=30000,
                   help="number of opportunities (30000)")
    p.add_argument("--seed", type=int, default=42, help="random seed (42)")
    p.add_argument("--as-of", dest="as_of", default="2026-06-30",
                   help="snapshot date YYYY-MM-DD (2026-06-30)")
    p.add_argument("--regions", type=int, default=4, help="number of regions (4)")
    p.add_argument("--territories", type=int, default=None,
                   help="number of territories (default max(3 x regions, accounts/1000))")
    p.add_argument("--reps", type=int, default=None,
                   help="number of reps (default max(5 x territories, accounts/100))")
    p.set_defaults(func=_cmd_sample)
