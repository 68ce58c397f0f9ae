"""Roll-out (step 13): the rep plan as a quota letter, and the letters' acceptance in the
territory, region and company plans.

The rep document (plan type ``rep``, ``salesplan run --by rep``) reads as a quota letter:
the quota and its quarters with ramp, the territory and named accounts, how the number is
built, the terms the plan records and the acceptance block. Every figure is the rep's line of
the company quota split the Quotas section shows (:func:`salesplan_nb.render.figures.
company_quota_plan`, to-be-hired seats included): one source.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from salesplan_nb.core.formats import money, pct
from salesplan_nb.core.scope import Period
from salesplan_nb.core.seats import is_manager_role, ramp_factors
from salesplan_nb.render.blocks import Missing, Section, Table, ToDecide
from salesplan_nb.render.context import PlanContext, period_label
from salesplan_nb.render.figures import company_quota_plan
from salesplan_nb.steps import quotas as quotas_step
from salesplan_nb.steps import registry as step_registry
from salesplan_nb.steps import rollout as rollout_step

__all__ = ["rep_quota", "rep_accounts", "rep_drivers", "rep_terms", "rep_acceptance",
           "rollout_status", "quarters_with_ramp"]

DRIVER_MEANING = {
    "base_share": "share of the company target, by the split's weights (history, potential)",
    "over_assignment": "over-assignment above the target (regions, territories, reps)",
    "ramp_adjustment": "lower quota while the rep ramps (months in seat)",
    "override": "a quota locked by hand (step 9)",
    "redistribution": "what locked and ramping seats leave to the others",
    "rounding": "rounding to whole cents",
}


def _where() -> str:
    return "notebooks/" + step_registry.step("rollout").notebook


def _letters(ctx: PlanContext):
    """The context scope's quota letters from the company split the Quotas section shows, or
    the SalesplanError that split raised."""
    def build():
        company = company_quota_plan(ctx)
        if isinstance(company, Exception):
            return company
        return rollout_step.letters(ctx.ws, ctx.scope, ctx.period, plan=company)
    return ctx.once("rollout_letters", build)


def _acceptance(ctx: PlanContext) -> pd.DataFrame:
    return ctx.once("rollout_acceptance", lambda: rollout_step.acceptance(
        ctx.ws, _letters(ctx), ctx.period))


def _letter(ctx: PlanContext, s: Section) -> pd.Series | None:
    """The rep's letter row, or None (a Missing note added to ``s``)."""
    sheet = _letters(ctx)
    if isinstance(sheet, Exception):
        s.add(Missing(f"the quota split ({sheet})", "record the quota decisions in "
                      "notebooks/" + step_registry.step("quotas").notebook))
        return None
    if ctx.scope.level != "rep":
        s.add(Missing(f"{ctx.unit_label} is not a rep: quota letters go to reps"))
        return None
    if sheet.empty:
        if s.key == "rep_quota":
            s.add(Missing(f"a quota for {ctx.unit_label} in the company split for "
                          f"{period_label(ctx.period)}: {_no_quota_reason(ctx)}"))
        else:
            s.add(Missing(f"a quota letter for {ctx.unit_label} (see Quota)"))
        return None
    return sheet.iloc[0]


def _no_quota_reason(ctx: PlanContext) -> str:
    """Why a rep has no quota: a manager role, gone before the period, or not a seat of the
    split (quota seats: ``core.seats.quota_seats``)."""
    reps = ctx.data.reps
    hit = reps[reps["rep_id"].astype(str) == str(ctx.scope.id)]
    if not len(hit):
        return "not in the reps table"
    r = hit.iloc[0]
    end = r.get("end_date")
    if pd.notna(end) and pd.Timestamp(end) < ctx.period.start:
        return f"left on {pd.Timestamp(end):%Y-%m-%d}, before the plan period"
    role = r.get("role")
    if isinstance(role, str) and is_manager_role(pd.Series([role])).iloc[0]:
        return f"role {role!r} is a manager role, which carries no quota"
    return "not a quota-carrying seat in the period"


def _hire_date(ctx: PlanContext, rep_id: str) -> pd.Timestamp:
    """The rep's hire date (a to-be-hired seat: the first day of its hire month)."""
    if rep_id.startswith(quotas_step.TBH_PREFIX):
        return pd.Period(rep_id[len(quotas_step.TBH_PREFIX):][:7], "M").start_time
    reps = ctx.data.reps
    hit = reps.loc[reps["rep_id"].astype(str) == rep_id, "hire_date"]
    return pd.Timestamp(hit.iloc[0]) if len(hit) and pd.notna(hit.iloc[0]) else pd.NaT


def quarters_with_ramp(ctx: PlanContext, row: pd.Series) -> pd.DataFrame:
    """The letter's quarters: ``quarter, quota`` (USD, the letter's quarterly split), ``share``
    of the year, ``cumulative`` (USD) and ``ramp``: the rep's mean productivity share in the
    quarter (share of days in seat x ramp curve by months in seat, the rule the annual ramp
    factor uses: :func:`salesplan_nb.core.seats.ramp_factors`)."""
    qs = [c for c in row.index if len(str(c)) == 7 and str(c)[4:6] == "-Q"]
    hire = pd.Series([_hire_date(ctx, str(row["rep_id"]))])
    quota = float(row["quota"])
    rows, cum = [], 0.0
    for q in qs:
        per = Period.parse(q)  # calendar quarters (the split's months grouped by quarter)
        cum += float(row[q])
        rows.append({"quarter": q, "quota": float(row[q]),
                     "share": float(row[q]) / quota if quota else float("nan"),
                     "cumulative": cum, "ramp": float(ramp_factors(hire, per)[0])})
    return pd.DataFrame(rows, columns=["quarter", "quota", "share", "cumulative", "ramp"])


# ---- the rep document ------------------------------------------------------------------------
def rep_quota(ctx: PlanContext) -> Section:
    """The quota letter's head: the rep, the annual quota and its quarters with ramp."""
    s = Section("rep_quota", "Quota")
    row = _letter(ctx, s)
    if row is None:
        return s
    tbh = str(row["rep_id"]).startswith(quotas_step.TBH_PREFIX)
    who = "This seat (to be hired)" if tbh else f"{row['rep']} ({row['rep_id']})"
    s.add(f"{who}, territory {row['territory']}, region {row['region']}: quota for "
          f"{period_label(ctx.period)} {money(row['quota'])} (USD, won bookings)"
          + (f", ramp-adjusted at {pct(row['ramp'], 0)} of a ramped rep's" if row["ramp"] < 0.9999
             else "") + ".")
    s.add("The same figure as the rep's line in the Quotas section of the company, region and "
          "territory plans (the company quota split with the saved decisions"
          + (" and the hiring plan" if tbh or company_quota_plan(ctx).tbh_seats else "")
          + ").")
    q = quarters_with_ramp(ctx, row)
    s.add(Table(q, {"quota": "money", "share": "pct", "cumulative": "money", "ramp": "pct"},
                caption="Quota by quarter: the company's seasonality (full years of history); "
                        "ramp: the rep's productivity share in the quarter",
                labels={"share": "Share of the year", "ramp": "Ramp (productivity share)",
                        "cumulative": "Cumulative (USD)", "quota": "Quota (USD)"}))
    s.add(alt.Chart(q).mark_bar().encode(
        x=alt.X("quarter:N", title=None), y=alt.Y("quota:Q", title="Quota (USD)"),
        tooltip=["quarter", alt.Tooltip("quota:Q", format=",.0f"),
                 alt.Tooltip("ramp:Q", format=".0%")],
    ).properties(title="Quota by quarter", width=360))
    return s


def rep_accounts(ctx: PlanContext) -> Section:
    """The territory and the rep's named accounts (top by potential) with last year's
    bookings and the open pipeline."""
    s = Section("rep_accounts", "Territory & named accounts")
    row = _letter(ctx, s)
    if row is None:
        return s
    company = company_quota_plan(ctx)
    terr_id = _territory_id(company, str(row["rep_id"]))
    terr = company.table[(company.table["level"] == "territory")
                         & (company.table["unit_id"] == terr_id)]
    seats = company.table[(company.table["level"] == "rep")
                          & (company.table["parent"] == terr_id)]
    if len(terr):
        t = terr.iloc[0]
        s.add(f"Territory {row['territory']} ({terr_id}), region {row['region']}: territory "
              f"quota {money(t['quota'])} over {len(seats)} seats, potential "
              f"{money(t['potential'])} a year (account potential, the basis the split "
              "weighs).")
    accounts = rollout_step.named_accounts(ctx.data, str(row["rep_id"]), terr_id,
                                           ctx.baseline)
    if accounts.empty:
        return s.add(Missing(f"named accounts for {ctx.unit_label} (no accounts owned and "
                             "none in the territory)"))
    by = accounts.attrs.get("note") or (
        f"{len(accounts)} of the rep's {accounts.attrs['total']} named accounts, by "
        "potential")
    s.add(by[0].upper() + by[1:] + ".")
    yr = period_label(ctx.baseline)
    s.add(Table(accounts, {"potential": "money", "bookings": "money", "open_pipeline": "money",
                           "open_deals": "int"},
                labels={"account_id": "Account id", "potential": "Potential (USD/year)",
                        "bookings": f"Bookings {yr} (USD)",
                        "open_pipeline": f"Open pipeline at {ctx.data.as_of:%Y-%m-%d} (USD)",
                        "open_deals": "Open deals"}))
    return s


def _territory_id(plan, rep_id: str) -> str:
    t = plan.table
    hit = t.loc[(t["level"] == "rep") & (t["unit_id"] == rep_id), "parent"]
    return str(hit.iloc[0]) if len(hit) else ""


def rep_drivers(ctx: PlanContext) -> Section:
    """How the rep's number is built: baseline and growth of the company target, the rep's
    weight, and the drivers that sum to the quota (USD, to the cent)."""
    s = Section("rep_drivers", "How the number is built")
    row = _letter(ctx, s)
    if row is None:
        return s
    company = company_quota_plan(ctx)
    t = company.table
    root = t[t["level"] == "company"]
    me = t[(t["level"] == "rep") & (t["unit_id"] == str(row["rep_id"]))].iloc[0]
    base = float(root["history"].iloc[0]) if len(root) else float("nan")
    if base and base == base:
        s.add(f"Baseline: the company's won bookings in the 12 months to "
              f"{ctx.data.as_of:%Y-%m-%d} were {money(base)}; the company target "
              f"{money(company.target)} is {pct(company.target / base - 1)} above it "
              "(growth).")
    dec = company.decisions
    s.add(f"The rep's share: weight {pct(me['weight'])} of territory {row['territory']}'s "
          f"quota, from the rep's trailing bookings {money(me['history'])} and potential "
          f"{money(me['potential'])} ({dec.method} split); over-assignment to reps "
          f"{pct(quotas_step.total_over_assignment(dec, 'rep'))} above the target in total; "
          f"ramp {pct(row['ramp'], 0)}.")
    rows = [{"driver": d.replace("_", " "), "amount": float(row[d]),
             "meaning": DRIVER_MEANING.get(d, "")} for d in quotas_step.DRIVERS]
    rows.append({"driver": "quota", "amount": float(row["quota"]),
                 "meaning": "the sum of the drivers"})
    s.add(Table(pd.DataFrame(rows), {"amount": "money"},
                labels={"amount": "Amount (USD)"}))
    return s


def rep_terms(ctx: PlanContext) -> Section:
    """The comp-relevant terms the plan records (a term not recorded says so)."""
    s = Section("rep_terms", "Terms")
    row = _letter(ctx, s)
    terms = rollout_step.comp_terms(ctx.ws, row)
    s.add(Table(terms, {"term": "text", "value": "text", "source": "text"},
                labels={"source": "Recorded in"}))
    if (terms["value"] == rollout_step.NOT_RECORDED).any():
        s.add(ToDecide("the comp terms not recorded (rollout.record_terms: "
                       + ", ".join(rollout_step.TERMS) + ")", _where()))
    return s


def rep_acceptance(ctx: PlanContext) -> Section:
    """The rep's answer to the letter (accepted / pending / disputed, who, when, comment) and
    a signature block for the printed letter."""
    s = Section("rep_acceptance", "Acceptance")
    row = _letter(ctx, s)
    if row is None:
        return s
    acc = _acceptance(ctx)
    a = acc[acc["rep_id"] == str(row["rep_id"])].iloc[0]
    if a["status"] == "pending":
        s.add(f"Status: pending - {a['note']}." if a["note"] else
              "Status: pending - no answer recorded yet (record it with: salesplan accept "
              "PLAN --rep ID --by NAME, or the roll-out widget in "
              f"{_where()}).")
    else:
        s.add(f"Status: {a['status']} by {a['by']} on {a['at']:%Y-%m-%d %H:%M} UTC"
              + (f": {a['comment']}" if a["comment"] else "") + ".")
    hist = [i for i in rollout_step.acceptance_records(ctx.ws, ctx.period).get(
        str(row["rep_id"]), {}).get("history") or []]
    if hist:
        s.add(Table(pd.DataFrame(hist, columns=["status", "quota", "comment", "by", "at"]),
                    {"quota": "money", "comment": "text", "by": "text", "at": "text"},
                    caption="Earlier answers", labels={"quota": "Quota (USD)"}))
    s.add(Table(pd.DataFrame([{"role": "Rep", "name": "" if str(row["rep_id"]).startswith(
        quotas_step.TBH_PREFIX) else row["rep"], "signature": "", "date": ""},
        {"role": "Manager", "name": "", "signature": "", "date": ""}]),
        {"role": "text", "name": "text", "signature": "text", "date": "text"},
        caption=f"I have read and accept the quota of {money(row['quota'])} for "
                f"{period_label(ctx.period)}"))
    return s


# ---- the roll-out status in the territory, region and company plans ------------------------------
def rollout_status(ctx: PlanContext) -> Section:
    """Quota letters and their acceptance: per rep in a territory (or rep) plan, counts by
    territory in a region plan and by region in the company plan."""
    s = Section("rollout_status", "Roll-out: quota letters")
    sheet = _letters(ctx)
    if isinstance(sheet, Exception):
        return s.add(Missing(f"quota letters ({sheet})"))
    if sheet.empty:
        return s.add(Missing(f"quota letters for {ctx.unit_label}"
                             + (f": {sheet.attrs['note']}" if sheet.attrs.get("note") else "")))
    acc = _acceptance(ctx)
    counts = rollout_step.acceptance_counts(acc)
    s.add(f"{len(acc)} quota letter{'s' if len(acc) != 1 else ''} "
          f"({money(acc['quota'].sum())}): "
          f"{rollout_step.counts_text(counts)}.")
    if ctx.scope.level in ("territory", "rep", "account"):
        view = acc.assign(at=acc["at"].dt.strftime("%Y-%m-%d").fillna(""))
        s.add(Table(view[["rep", "rep_id", "quota", "status", "by", "at", "comment", "note"]],
                    {"quota": "money", "by": "text", "at": "text", "comment": "text",
                     "note": "text"},
                    labels={"by": "Answered by", "at": "On"}))
    else:
        by = "territory" if ctx.scope.level == "region" else "region"
        g = acc.groupby(by, sort=True)
        t = pd.DataFrame({"letters": g.size(), "quota": g["quota"].sum(),
                          **{st: g["status"].apply(lambda x, st=st: int((x == st).sum()))
                             for st in rollout_step.STATUSES}}).reset_index()
        s.add(Table(t, {"letters": "int", "quota": "money", **{st: "int" for st in
                                                                rollout_step.STATUSES}}))
    if counts["pending"] == len(acc):
        s.add(ToDecide("the reps' answers to their quota letters", _where()))
    return s

