"""Step 4 - SWOT: data-driven suggestions merged with the analyst's own items.

:func:`suggest` derives items from the data, each carrying the numbers that justify it:
groups (segment, product, industry, region) winning clearly above or below the scope's win
rate, high-potential segments with low penetration, declining (or fast-growing) segments and
products, and customer concentration. The analyst accepts, edits or rejects suggestions and
adds items; :func:`merge` re-runs suggestions without duplicating or overwriting those
decisions (suggestions are matched by a stable ``key``). Items are stored in the workspace's
``swot`` list section.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.core.periods import to_date
from salesplan_nb.core.scope import Period, Scope
from salesplan_nb.data.dataset import Dataset
from salesplan_nb.steps import market
from salesplan_nb.steps.market import resolve

SECTION = "swot"
QUADRANTS = ("strengths", "weaknesses", "opportunities", "threats")
STATUSES = ("suggested", "accepted", "edited", "rejected")
SOURCES = ("data", "analyst")


@dataclass
class SwotItem:
    """One SWOT entry. Data suggestions have ``source="data"``, a stable ``key`` and start as
    ``suggested``; analyst items have ``source="analyst"`` and start ``accepted``."""

    quadrant: str
    text: str
    evidence: dict[str, Any] | str = field(default_factory=dict)
    source: str = "analyst"
    owner: str = ""
    status: str = "accepted"
    key: str | None = None
    scope: str = "company"
    id: str | None = None

    def __post_init__(self) -> None:
        if self.quadrant not in QUADRANTS:
            raise ConfigError(f"SWOT quadrant {self.quadrant!r}: use one of {QUADRANTS}")
        if self.status not in STATUSES:
            raise ConfigError(f"SWOT status {self.status!r}: use one of {STATUSES}")
        if self.source not in SOURCES:
            raise ConfigError(f"SWOT source {self.source!r}: use one of {SOURCES}")
        self.scope = str(self.scope)

    def accept(self) -> SwotItem:
        self.status = "accepted"
        return self

    def reject(self) -> SwotItem:
        self.status = "rejected"
        return self

    def edit(self, text: str | None = None, quadrant: str | None = None,
             owner: str | None = None) -> SwotItem:
        """Change the wording (and/or quadrant, owner); the item becomes ``edited``."""
        if quadrant is not None and quadrant not in QUADRANTS:
            raise ConfigError(f"SWOT quadrant {quadrant!r}: use one of {QUADRANTS}")
        self.text = text if text is not None else self.text
        self.quadrant = quadrant or self.quadrant
        self.owner = owner if owner is not None else self.owner
        self.status = "edited" if self.source == "data" else self.status
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SwotItem:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in names})


def _pct(x: float) -> str:
    return f"{x:.0%}" if np.isfinite(x) else "n/a"


def _usd(x: float) -> str:
    return f"{x:,.0f} USD"


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        if isinstance(v, float | np.floating):
            out[k] = round(float(v), 6) if np.isfinite(v) else None
        elif isinstance(v, np.integer):
            out[k] = int(v)
        else:
            out[k] = v
    return out


def suggest(data: Dataset, scope: Scope | str | None = None,
            period: Period | str | None = None, *, min_closed: int = 20,
            margin: float = 0.05, decline: float = -0.10, growth: float = 0.20,
            min_prior_share: float = 0.05, top_n: int = 10, top_share_risk: float = 0.5,
            single_share_risk: float = 0.2) -> list[SwotItem]:
    """Data-driven SWOT suggestions for a scope and period (default: year of ``as_of``).

    * strength / weakness: a segment, product, industry or unit one level down (region,
      territory, rep) with >= ``min_closed`` closed deals whose win rate is at least
      ``margin`` (5 points) above / below the scope's;
    * opportunity: a segment with above-average share of potential and penetration
      (annualised bookings / potential) below the scope's;
    * threat / strength: a segment or product whose bookings changed by <= ``decline``
      (-10%) / >= ``growth`` (+20%) YoY (period to date vs the same dates a year before),
      when its prior bookings were >= ``min_prior_share`` of the total;
    * threat: the top-``top_n`` accounts hold >= ``top_share_risk`` of bookings, or one
      account >= ``single_share_risk``.
    """
    scope, period = resolve(data, scope, period)
    s = str(scope)
    out: list[SwotItem] = []

    def add(quadrant: str, key: str, text: str, evidence: dict[str, Any]) -> None:
        out.append(SwotItem(quadrant, text, _clean({**evidence, "period": period.label}),
                            source="data", status="suggested", key=f"{s}|{key}", scope=s))

    # win rate above / below average
    total = market.win_loss(data, scope, period, by=[])
    if len(total) and total["closed"].iloc[0]:
        avg = float(total["win_rate"].iloc[0])
        below = {"company": ["region"], "region": ["territory"], "territory": ["rep"]}
        dims = ["segment", "product", "industry", *below.get(scope.level, [])]
        rep_names = dict(zip(data.reps["rep_id"], data.reps["name"].fillna(data.reps["rep_id"])))
        for dim in dims:
            wl = market.win_loss(data, scope, period, by=dim)
            wl = wl[wl["closed"] >= min_closed]
            if wl[dim].nunique() < 2:
                continue
            for _, r in wl.iterrows():
                diff = r["win_rate"] - avg
                if abs(diff) < margin:
                    continue
                high = diff > 0
                shown = rep_names.get(r[dim], r[dim]) if dim == "rep" else r[dim]
                add("strengths" if high else "weaknesses", f"win_rate:{dim}:{r[dim]}",
                    f"{dim.title()} {shown} wins {_pct(r['win_rate'])} of closed deals vs "
                    f"{_pct(avg)} overall ({int(r['won'])} won, {int(r['lost'])} lost)",
                    {"dimension": dim, "group": str(r[dim]), "win_rate": r["win_rate"],
                     "average_win_rate": avg, "won": r["won"], "lost": r["lost"]})

    # high potential, low penetration
    gaps = market.coverage_gaps(data, scope, period, by="segment")
    if len(gaps) >= 2 and gaps["potential"].sum() > 0:
        f = market.annualise_factor(period, data.as_of)
        f = f if np.isfinite(f) else 0.0
        overall = gaps["bookings"].sum() * f / gaps["potential"].sum()
        avg_share = 1 / len(gaps)
        for _, r in gaps.iterrows():
            if r["potential_share"] > avg_share and r["penetration"] < overall:
                add("opportunities", f"low_share:segment:{r['segment']}",
                    f"Segment {r['segment']} holds {_pct(r['potential_share'])} of potential "
                    f"({_usd(r['potential'])}/yr) but penetration is {_pct(r['penetration'])} "
                    f"vs {_pct(overall)} overall",
                    {"dimension": "segment", "group": str(r["segment"]),
                     "potential": r["potential"], "potential_share": r["potential_share"],
                     "penetration": r["penetration"], "average_penetration": overall,
                     "opportunities": r["opportunities"]})

    # declining / growing segments and products (period to date vs a year before)
    ptd = to_date(period, data.as_of)
    if ptd.end > ptd.start:
        for dim in ("segment", "product"):
            y = market.yoy(data, scope, ptd, by=dim)
            prior_total = y["prior_bookings"].sum() if len(y) else 0
            if y[dim].nunique() < 2 if len(y) else True:
                continue
            for _, r in y.iterrows():
                g = r["growth"]
                if not np.isfinite(g) or r["prior_bookings"] < min_prior_share * prior_total:
                    continue
                if g <= decline or g >= growth:
                    down = g <= decline
                    add("threats" if down else "strengths",
                        f"{'decline' if down else 'growth'}:{dim}:{r[dim]}",
                        f"{dim.title()} {r[dim]} bookings {'fell' if down else 'grew'} "
                        f"{abs(g):.0%} year on year ({_usd(r['prior_bookings'])} -> "
                        f"{_usd(r['bookings'])})",
                        {"dimension": dim, "group": str(r[dim]), "growth": g,
                         "bookings": r["bookings"], "prior_bookings": r["prior_bookings"]})

    # concentration risk
    if scope.level != "account":
        c = market.concentration(data, scope, period, n=top_n)
        if np.isfinite(c.top_share) and len(c.table) > top_n and c.top_share >= top_share_risk:
            add("threats", f"concentration:top{top_n}",
                f"The top {top_n} accounts bring {_pct(c.top_share)} of bookings "
                f"({_usd(c.top_bookings)} of {_usd(c.total)})",
                {"top_n": top_n, "top_share": c.top_share, "top_bookings": c.top_bookings,
                 "total": c.total, "accounts": len(c.table), "hhi": c.hhi})
        if np.isfinite(c.top_share) and len(c.table) > 1:
            first = c.table.iloc[0]
            if first["share"] >= single_share_risk:
                add("threats", "concentration:single",
                    f"One account ({first['account_name']}) brings {_pct(first['share'])} of "
                    "bookings",
                    {"account_id": str(first["account_id"]), "share": first["share"],
                     "bookings": first["bookings"], "total": c.total})
    return out


def merge(suggestions: list[SwotItem], existing: list[SwotItem]) -> list[SwotItem]:
    """Combine fresh ``suggestions`` with ``existing`` items (e.g. from :func:`load_swot`).

    Analyst items and accepted / edited / rejected suggestions are kept untouched; a still
    ``suggested`` item gets the fresh text and evidence (same id); a ``suggested`` item the
    data no longer supports is dropped; new suggestions are appended. Never duplicates a key.
    Pass the items of the scope the suggestions were made for.
    """
    fresh = {s.key: s for s in suggestions}
    result: list[SwotItem] = []
    seen: set[str] = set()
    for item in existing:
        if item.source == "data" and item.key:
            if item.key in seen:
                continue
            new = fresh.get(item.key)
            if item.status == "suggested":
                if new is None:
                    continue  # no longer supported by the data
                else:
                    item = SwotItem(**{**new.to_dict(), "id": item.id, "owner": item.owner})
            seen.add(item.key)
        result.append(item)
    result.extend(s for s in suggestions if s.key not in seen)
    return result


def swot_table(items: list[SwotItem], include_rejected: bool = False) -> pd.DataFrame:
    """Items as a table: ``quadrant, text, evidence, source, owner, status, key, scope, id``
    (rejected items left out unless asked)."""
    rows = [i.to_dict() for i in items if include_rejected or i.status != "rejected"]
    cols = list(SwotItem.__dataclass_fields__)
    df = pd.DataFrame(rows, columns=cols)
    df["evidence"] = df["evidence"].map(
        lambda e: "; ".join(f"{k}={v}" for k, v in e.items()) if isinstance(e, dict) else e)
    order = {q: i for i, q in enumerate(QUADRANTS)}
    return df.sort_values("quadrant", key=lambda s: s.map(order), kind="stable",
                          ignore_index=True)


def chart_swot(items: list[SwotItem]) -> alt.Chart:
    """The four quadrants as a 2 x 2 grid of item texts (rejected items hidden)."""
    df = swot_table(items)
    df["row"] = df.groupby("quadrant").cumcount()
    df["side"] = df["quadrant"].map({"strengths": "internal", "weaknesses": "internal",
                                     "opportunities": "external", "threats": "external"})
    df["kind"] = df["quadrant"].map({"strengths": "helpful", "weaknesses": "harmful",
                                     "opportunities": "helpful", "threats": "harmful"})
    df["shown"] = df["text"].str.slice(0, 90)
    return alt.Chart(df).mark_text(align="left", x=5).encode(
        y=alt.Y("row:O", axis=None), text="shown:N",
        color=alt.Color("status:N"),
        tooltip=["quadrant", "text", "evidence", "source", "status", "owner"],
    ).properties(width=380, height=alt.Step(16)).facet(
        row=alt.Row("side:N", sort=["internal", "external"], title=None),
        column=alt.Column("kind:N", sort=["helpful", "harmful"], title=None),
    ).properties(title="SWOT")


# ---- workspace ---------------------------------------------------------------------------------
def load_swot(ws, scope: Scope | str | None = None) -> list[SwotItem]:
    """SWOT items stored in the workspace (only ``scope``'s when given)."""
    items = [SwotItem.from_dict(i) for i in ws.items(SECTION)]
    if scope is not None:
        s = str(Scope.parse(scope))
        items = [i for i in items if i.scope == s]
    return items


def save_swot(ws, items: list[SwotItem], by: str | None = None,
              scope: Scope | str | None = None) -> list[SwotItem]:
    """Store ``items`` (all scopes, or replace only ``scope``'s items, keeping the others);
    returns them with ids."""
    for i in items:
        i.id = i.id or uuid.uuid4().hex[:8]
    keep = None
    if scope is not None:
        s = str(Scope.parse(scope))

        def keep(stored: dict) -> bool:  # other scopes' items, read under the lock
            return str(stored.get("scope", "company")) != s
    ws.replace_items(SECTION, [i.to_dict() for i in items], by=by, keep=keep)
    return items


def add_item(ws, quadrant: str, text: str, evidence: dict | str = "", owner: str = "",
             scope: Scope | str | None = None, by: str | None = None) -> SwotItem:
    """Add an analyst item to the workspace."""
    item = SwotItem(quadrant, text, evidence or {}, source="analyst", owner=owner,
                    scope=str(Scope.parse(scope)))
    body = {k: v for k, v in item.to_dict().items() if k != "id"}
    return SwotItem.from_dict(ws.add_item(SECTION, body, by=by))


def set_status(ws, item_id: str, status: str, text: str | None = None,
               by: str | None = None) -> SwotItem:
    """Accept / reject / edit a stored item (``text`` with ``status="edited"``)."""
    if status not in STATUSES:
        raise ConfigError(f"SWOT status {status!r}: use one of {STATUSES}")
    changes: dict[str, Any] = {"status": status}
    if text is not None:
        changes["text"] = text
    return SwotItem.from_dict(ws.update_item(SECTION, item_id, changes, by=by))


def refresh_swot(ws, data: Dataset | None = None, scope: Scope | str | None = None,
                 period: Period | str | None = None, by: str | None = None,
                 **options) -> list[SwotItem]:
    """Re-run :func:`suggest` for ``scope`` (default the plan's) and merge with the stored
    items; saves and returns the scope's items."""
    data = data if data is not None else ws.data
    scope = Scope.parse(scope) if scope is not None else ws.scope
    merged = merge(suggest(data, scope, period, **options), load_swot(ws, scope))
    return save_swot(ws, merged, by=by, scope=scope)
