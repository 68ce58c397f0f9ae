"""Step 13 - roll-out: what each rep and account team must do.

- per-rep quota letters: the company quota split with the saved decisions
  (:func:`salesplan_nb.steps.quotas.quotas_from`), one row per rep with territory, region,
  quota (USD), ramp, the drivers that build it and the quarterly split
  (:func:`salesplan_nb.steps.quotas.quota_letters`); a scope below company shows its part of
  the company split (:func:`salesplan_nb.steps.quotas.subtree`; an account shows its
  territory's);
- key-account actions with owners and due dates (:mod:`salesplan_nb.steps.actions`).
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.core.scope import Period, Scope
from salesplan_nb.data.units import list_units
from salesplan_nb.steps import actions, quotas
from salesplan_nb.steps.segments import scope_accounts

DEMO_ACCOUNT_PLANS = 10  # account plans the demo renders (most trailing bookings), with actions


def letters(ws, scope: Scope | str | None = None,
            period: Period | str | None = None) -> pd.DataFrame:
    """Quota letters (:func:`~salesplan_nb.steps.quotas.quota_letters`) of the reps in
    ``scope`` (company, region, territory or rep; an account shows its territory's), taken
    from the company split for ``period`` (default: the plan's) with the decisions saved in
    step 9, so a rep's letter is the same from every view."""
    scope = Scope.parse(scope)
    period = period if period is not None else ws.period
    note = ""
    if scope.level == "account":  # accounts carry no quota: their territory's letters
        terr = scope_accounts(ws.data, scope)["territory"].dropna()
        if not len(terr):
            out = pd.DataFrame(columns=quotas.LETTER_COLUMNS)
            out.attrs["note"] = f"{scope.label} has no territory, so no quota letters"
            return out
        territory = Scope("territory", str(terr.iloc[0]))
        note = (f"accounts are planned with their territory: showing {territory.label}, the "
                f"territory of {scope.label}")
        scope = territory
    company = quotas.quotas_from(ws.data, quotas.load_quotas(ws), scope=None, period=period)
    out = quotas.quota_letters(company, ws.data)  # one letter per rep, whatever the view
    notes = [note, out.attrs.get("note", "")]
    if scope.level != "company":
        if scope.level not in quotas.LEVELS:
            raise ConfigError(f"{scope.label}: quota letters go to reps; choose a company, "
                              "region, territory or rep scope")
        part = quotas.subtree(company, scope.level, str(scope.id))
        reps = set(part.level("rep")["unit_id"]) if part is not None else set()
        out = out[out["rep_id"].isin(reps)].reset_index(drop=True)
        if part is None:
            notes.append(f"{scope.label} has no quota in the company split")
    out.attrs["note"] = "; ".join(filter(None, notes))
    return out


def chart_letters(letters: pd.DataFrame, top: int = 30) -> alt.Chart | None:
    """Quarterly quota (USD) per rep, stacked; the ``top`` reps with the largest quotas
    (``None`` without letters)."""
    if letters.empty:
        return None
    quarters = [c for c in letters.columns if len(str(c)) == 7 and str(c)[4:6] == "-Q"]
    top_reps = letters.astype({"quota": float}).nlargest(top, "quota")
    long = top_reps[["rep_id", "rep", *quarters]].melt(
        id_vars=["rep_id", "rep"], var_name="quarter", value_name="quota")
    return alt.Chart(long).mark_bar().encode(
        y=alt.Y("rep:N", sort="-x", title=None), x=alt.X("quota:Q", title="Quota (USD)"),
        color=alt.Color("quarter:N", title="quarter"),
        tooltip=["rep", "rep_id", "quarter", alt.Tooltip("quota:Q", format=",.0f")],
    ).properties(title="Quota letters: quota by quarter", width=480)


# ---- the demo's default decision ------------------------------------------------------------
def demo_decision(ws, by: str = "demo") -> str:
    """Step 13 in ``salesplan demo``: three actions with owners and due dates for each of the
    :data:`DEMO_ACCOUNT_PLANS` largest accounts (the account plans the demo renders), and the
    reps' quota letters saved as an output."""
    units = list_units(ws.data, "account", top=DEMO_ACCOUNT_PLANS)
    start = ws.period.start
    plan = [("Executive business review with the buying committee", "Key account manager", 1),
            ("Map whitespace: products not yet bought", "Solutions engineer", 2),
            ("Agree a joint account plan and renewal timeline", "Key account manager", 3)]
    n = 0
    for unit in units:
        for text, owner, months in plan:
            due = (start + pd.DateOffset(months=months) - pd.Timedelta(days=1)).date()
            actions.add_action(ws, unit.id, text, owner, due, by=by)
            n += 1
    sheet = letters(ws)
    ws.save_output("rollout", "quota_letters", sheet)
    return (f"{n} actions with owners and due dates for the {len(units)} largest accounts; "
            f"quota letters for {len(sheet)} reps")
