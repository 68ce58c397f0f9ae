"""Step 13 - roll-out: what each rep and account team must do.

- per-rep quota letters: the company quota split with the saved decisions and the hiring
  plan's to-be-hired seats (:func:`salesplan_nb.steps.quotas.quotas_from_workspace`, the split
  every plan's Quotas section shows), one row per seat with territory, region, quota (USD),
  ramp, the drivers that build it and the quarterly split
  (:func:`salesplan_nb.steps.quotas.quota_letters`); a scope below company shows its part of
  the company split (:func:`salesplan_nb.steps.quotas.subtree`; an account shows its
  territory's);
- each rep's acceptance of the letter (who, when, comment; accepted / pending / disputed),
  kept in plan.yaml (list section ``rep_acceptance``) through the locked
  :meth:`Workspace.modify`: :func:`record_acceptance`, :func:`acceptance`;
- the comp-relevant terms the plan records (:func:`record_terms`, :func:`comp_terms`); a term
  that is not recorded reads "not recorded in the plan", never a made-up figure;
- each rep's named accounts (:func:`named_accounts`: potential, last year's bookings, open
  pipeline);
- key-account actions with owners and due dates (:mod:`salesplan_nb.steps.actions`).
"""

from __future__ import annotations

import argparse
import math
import re

import altair as alt
import pandas as pd

from salesplan_nb.core.errors import ConfigError
from salesplan_nb.core.scope import Period, Scope
from salesplan_nb.data.units import list_units
from salesplan_nb.steps import actions, quotas
from salesplan_nb.steps.segments import scope_accounts

DEMO_ACCOUNT_PLANS = 10  # account plans the demo renders (most trailing bookings), with actions
DEMO_ACCEPTANCES = 4  # the demo's answers to the largest letters: 3 accepted, 1 disputed
DEMO_CREDITING = ("won bookings (deal amount, USD) credit the deal's owner on its close date "
                  "(the rule the plan measures attainment by)")


def letters(ws, scope: Scope | str | None = None,
            period: Period | str | None = None, *,
            plan: quotas.QuotaPlan | None = None) -> pd.DataFrame:
    """Quota letters (:func:`~salesplan_nb.steps.quotas.quota_letters`) of the reps and
    to-be-hired seats in ``scope`` (company, region, territory or rep; an account shows its
    territory's), taken from the company split for ``period`` (default: the plan's): ``plan``
    when given (the plan documents pass the split their Quotas section shows), else
    :func:`~salesplan_nb.steps.quotas.quotas_from_workspace` - the decisions saved in step 9
    and the hiring plan of step 5 - so a rep's letter is the same from every view."""
    scope = Scope.parse(scope)
    period = Period.parse(period) if period is not None else ws.period
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
    company = plan if plan is not None else quotas.quotas_from_workspace(ws, None, period)
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


# ---- acceptance of the letters -----------------------------------------------------------
SECTION = "rep_acceptance"  # list section: one item per rep and plan period
STATUSES = ("accepted", "pending", "disputed")
MAX_NAME = 120  # characters of a name (who accepted)
MAX_COMMENT = 2000  # characters of a comment
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
ACCEPTANCE_COLUMNS = ["rep_id", "rep", "territory", "region", "quota", "status", "by", "at",
                      "comment", "accepted_quota", "note"]


def _status(value: str) -> str:
    s = str(value or "").strip().lower()
    if s not in STATUSES:
        raise ConfigError(f"acceptance status {value!r}: use one of {', '.join(STATUSES)}")
    return s


def _text(value, what: str, limit: int, *, required: bool = False) -> str:
    """A name or comment from a person: trimmed, no control characters, at most ``limit``
    characters (shown escaped, never used in a path)."""
    s = "" if value is None else str(value).strip()
    if required and not s:
        raise ConfigError(f"{what} is required (e.g. --by 'Ana Chen')")
    if _CONTROL.search(s):
        raise ConfigError(f"{what} {s[:40]!r} contains control characters; type it as plain "
                          "text")
    if len(s) > limit:
        raise ConfigError(f"{what} is {len(s)} characters long; keep it to {limit}")
    return s


def _find_rep(sheet: pd.DataFrame, rep: str) -> pd.Series:
    """The letter of ``rep`` (a rep id, else a rep name, case-insensitive)."""
    key = str(rep).strip()
    hit = sheet[sheet["rep_id"].astype(str) == key]
    if not len(hit):
        hit = sheet[sheet["rep"].astype(str).str.strip().str.lower() == key.lower()]
    if len(hit) > 1:
        raise ConfigError(f"rep {rep!r} names {len(hit)} reps "
                          f"({', '.join(hit['rep_id'].astype(str))}); give the rep id")
    if not len(hit):
        ids = ", ".join(sheet.loc[~sheet["rep_id"].astype(str).str.startswith(
            quotas.TBH_PREFIX), "rep_id"].astype(str).head(8))
        raise ConfigError(f"rep {rep!r} has no quota letter in the plan (not a rep id or name "
                          f"of the quota split); valid ids include {ids}")
    return hit.iloc[0]


def record_acceptance(ws, rep: str, status: str = "accepted", *, by: str,
                      comment: str = "", period: Period | str | None = None,
                      sheet: pd.DataFrame | None = None) -> dict:
    """Record rep ``rep``'s answer to the quota letter of ``period`` (default: the plan's):
    ``status`` accepted / pending / disputed, ``by`` who answered (required), ``comment``
    (required for a dispute: what is disputed). The item (``rep_id, period, status, quota``
    - the letter's quota in USD when answered -, ``comment, by, at``) is written to the list
    section ``rep_acceptance`` in one locked read-modify-write (:meth:`Workspace.modify`); an
    earlier answer for the same rep and period moves to the item's ``history``. A
    to-be-hired seat cannot answer. Returns the stored item."""
    st = _status(status)
    who = _text(by, "who accepts (by)", MAX_NAME, required=True)
    note = _text(comment, "comment", MAX_COMMENT)
    if st == "disputed" and not note:
        raise ConfigError("a disputed quota needs a comment saying what is disputed")
    per = Period.parse(period) if period is not None else ws.period
    sheet = letters(ws, None, per) if sheet is None else sheet
    row = _find_rep(sheet, rep)
    rep_id = str(row["rep_id"])
    if rep_id.startswith(quotas.TBH_PREFIX):
        raise ConfigError(f"{rep_id} is a to-be-hired seat: its letter is accepted by the rep "
                          "who fills it, once the seat is in the reps table")
    from salesplan_nb.data.workspace import _now, plain

    item = {"rep_id": rep_id, "period": per.label, "status": st,
            "quota": round(float(row["quota"]), 2), "comment": note, "by": who, "at": _now()}

    def change(doc: dict) -> dict:
        sec = doc["decisions"].setdefault(SECTION, [])
        if not isinstance(sec, list):
            raise ConfigError(f"decisions.{SECTION} must be a list of acceptances")
        for stored in sec:
            if str(stored.get("rep_id")) == rep_id and str(stored.get("period")) == per.label:
                prev = {k: stored.get(k) for k in ("status", "quota", "comment", "by", "at")}
                stored.update(plain(item))
                stored["history"] = [*(stored.get("history") or []), plain(prev)]
                return dict(stored)
        new = {"id": f"{per.label}:{rep_id}", **plain(item)}
        sec.append(new)
        return dict(new)

    return ws.modify(change)


def acceptance_records(ws, period: Period | str | None = None) -> dict[str, dict]:
    """rep_id -> the stored acceptance item of ``period`` (default: the plan's)."""
    per = Period.parse(period) if period is not None else ws.period
    return {str(i.get("rep_id")): i for i in ws.items(SECTION)
            if str(i.get("period")) == per.label}


def acceptance(ws, sheet: pd.DataFrame, period: Period | str | None = None) -> pd.DataFrame:
    """Each letter of ``sheet`` (:func:`letters`) with its answer: ``status`` (accepted /
    pending / disputed; pending without a record), ``by``, ``at`` (UTC timestamp),
    ``comment``, ``accepted_quota`` (USD) and a ``note``. An acceptance of a quota that has
    changed since (by more than a cent) counts as pending again; a to-be-hired seat is
    pending until it is filled."""
    rec = acceptance_records(ws, period)
    rows = []
    for r in sheet.itertuples(index=False):
        rid = str(r.rep_id)
        item = rec.get(rid)
        status, note = "pending", ""
        by = at = comment = ""
        accepted_quota = math.nan
        if rid.startswith(quotas.TBH_PREFIX):
            note = "to be hired: accepted by the rep who fills the seat"
        elif item:
            status = str(item.get("status") or "pending")
            by, at = str(item.get("by") or ""), str(item.get("at") or "")
            comment = str(item.get("comment") or "")
            accepted_quota = float(item.get("quota") or math.nan)
            if status == "accepted" and not abs(accepted_quota - float(r.quota)) < 0.01:
                status = "pending"
                note = (f"accepted {accepted_quota:,.0f} USD; the quota has changed since: "
                        "to be accepted again")
        rows.append({"rep_id": rid, "rep": r.rep, "territory": r.territory,
                     "region": r.region, "quota": float(r.quota), "status": status, "by": by,
                     "at": pd.Timestamp(at) if at else pd.NaT, "comment": comment,
                     "accepted_quota": accepted_quota, "note": note})
    out = pd.DataFrame(rows, columns=ACCEPTANCE_COLUMNS)
    out["at"] = pd.to_datetime(out["at"], utc=True)
    return out


def acceptance_counts(table: pd.DataFrame) -> dict[str, int]:
    """Letters by status (every status, zeros included)."""
    vc = table["status"].value_counts() if len(table) else pd.Series(dtype=int)
    return {s: int(vc.get(s, 0)) for s in STATUSES}


def counts_text(counts: dict[str, int]) -> str:
    """``"3 accepted, 12 pending, 1 disputed"``."""
    return ", ".join(f"{n} {s}" for s, n in counts.items())


# ---- comp-relevant terms ---------------------------------------------------------------------
TERMS_SECTION = "rollout"
TERMS = {"crediting": "Crediting rule", "accelerators": "Accelerators",
         "ote": "On-target earnings (OTE)", "payout": "Payout schedule"}
NOT_RECORDED = "not recorded in the plan"


def record_terms(ws, by: str | None = None, **terms: str | None) -> dict[str, str]:
    """Record comp-relevant terms of the letters as the plan's words (keyed decision
    ``rollout.terms``; keys :data:`TERMS`; ``None`` or blank removes one), merged with the
    stored ones in one locked read-modify-write; returns the stored terms."""
    unknown = set(terms) - set(TERMS)
    if unknown:
        raise ConfigError(f"unknown term(s) {', '.join(sorted(unknown))}; use "
                          f"{', '.join(TERMS)}")
    clean = {k: _text(v, TERMS[k], MAX_COMMENT) for k, v in terms.items()}

    def change(current) -> dict[str, str]:
        out = {str(k): str(v) for k, v in dict(current or {}).items() if k in TERMS}
        for k, v in clean.items():
            if v:
                out[k] = v
            else:
                out.pop(k, None)
        return out

    return ws.update(TERMS_SECTION, "terms", change, by=by)


def comp_terms(ws, row: pd.Series | None = None) -> pd.DataFrame:
    """The terms a quota letter states, each with where the plan records it: quota period,
    quota method and over-assignment (step 9's decisions, or the defaults), the ramp of this
    letter (``row``), then the recorded :data:`TERMS` - "not recorded in the plan" for each
    one that is not. Columns ``term, value, source``."""
    dec = quotas.load_quotas(ws)
    saved = ws.get(quotas.SECTION) or {}
    src_q = "decisions.quotas" if saved else "quota defaults (no quota decisions recorded)"
    if dec.method == "blend":
        tot = sum(dec.weights.values()) or 1.0
        method = "blend: " + ", ".join(f"{v / tot:.0%} {k}" for k, v in dec.weights.items())
    else:
        method = dec.method
    rows = [{"term": "Quota period", "value": f"{ws.period.label} "
             f"({ws.period.start:%Y-%m-%d} to "
             f"{ws.period.end - pd.Timedelta(days=1):%Y-%m-%d})", "source": "plan.period"},
            {"term": "Currency", "value": "USD (quotas and bookings)",
             "source": "the plan data's money unit"},
            {"term": "Quota method", "value": method, "source": src_q},
            {"term": "Over-assignment (reps over the target)",
             "value": f"{quotas.total_over_assignment(dec, 'rep'):.1%}", "source": src_q}]
    if row is not None:
        r = float(row["ramp"])
        rows.append({"term": "Ramp", "value": "fully ramped (100%)" if r >= 0.9999 else
                     f"quota at {r:.0%} of a ramped rep's (months in seat and ramp curve)",
                     "source": "capacity ramp curve and the rep's hire date"})
    stored = ws.get(TERMS_SECTION, "terms") or {}
    rec = ws.decision(TERMS_SECTION, "terms") or {}
    for key, label in TERMS.items():
        v = stored.get(key) if isinstance(stored, dict) else None
        rows.append({"term": label, "value": str(v) if v else NOT_RECORDED,
                     "source": (f"decisions.rollout.terms ({rec.get('by', '')}, "
                                f"{str(rec.get('at', ''))[:10]})") if v else ""})
    return pd.DataFrame(rows, columns=["term", "value", "source"])


# ---- named accounts --------------------------------------------------------------------------
def named_accounts(data, rep_id: str, territory: str | None, last_year: Period,
                   top: int = 10) -> pd.DataFrame:
    """The rep's named accounts (owner ``rep_id``, owners filled by the latest-deal rule), the
    ``top`` by potential (:func:`salesplan_nb.steps.market.account_potential`, the potential
    the quota split weighs), with their won bookings in ``last_year`` and open pipeline at
    ``as_of`` (USD). A seat without accounts (to be hired) shows its territory's top accounts
    (``attrs["note"]`` says so). Columns ``account_id, account, segment, potential,
    bookings, open_pipeline, open_deals``; ``attrs["total"]`` counts all the accounts."""
    from salesplan_nb.steps.market import account_potential

    pot = account_potential(data).table
    mine = pot[pot["owner_id"].astype(str) == str(rep_id)]
    note = ""
    if mine.empty and territory is not None:
        mine = pot[pot["territory"].astype(str) == str(territory)]
        note = (f"no accounts owned yet: the top accounts of territory {territory} (named "
                "accounts are assigned when the seat is filled)")
    d = data.deals
    ids = set(mine["account_id"].astype(str))
    dd = d[d["account_id"].astype(str).isin(ids)]
    won = dd[(dd["status"] == "won") & last_year.contains(dd["close_date"])]
    opn = dd[dd["status"] == "open"]
    book = won.groupby(won["account_id"].astype(str))["amount"].sum()
    pipe = opn.groupby(opn["account_id"].astype(str))["amount"].agg(["sum", "size"])
    names = data.accounts.set_index(data.accounts["account_id"].astype(str))["name"]
    seg = data.accounts.set_index(data.accounts["account_id"].astype(str))["segment"] \
        if "segment" in data.accounts.columns else pd.Series(dtype=object)
    out = pd.DataFrame({"account_id": mine["account_id"].astype(str).to_numpy(),
                        "potential": mine["potential"].astype(float).to_numpy()})
    out["account"] = out["account_id"].map(names)
    out["segment"] = out["account_id"].map(seg)
    out["bookings"] = out["account_id"].map(book).fillna(0.0).astype(float)
    out["open_pipeline"] = out["account_id"].map(pipe["sum"]).fillna(0.0).astype(float)
    out["open_deals"] = out["account_id"].map(pipe["size"]).fillna(0).astype(int)
    total = len(out)
    out = out.sort_values(["potential", "account_id"], ascending=[False, True]).head(top)
    out = out[["account_id", "account", "segment", "potential", "bookings", "open_pipeline",
               "open_deals"]].reset_index(drop=True)
    out.attrs.update(note=note, total=total)
    return out


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
    record_terms(ws, by=by, crediting=DEMO_CREDITING)
    reps = sheet[~sheet["rep_id"].astype(str).str.startswith(quotas.TBH_PREFIX)]
    reps = reps.sort_values(["quota", "rep_id"], ascending=[False, True])
    for i, r in enumerate(reps.head(DEMO_ACCEPTANCES).itertuples()):
        disputed = i == DEMO_ACCEPTANCES - 1
        record_acceptance(ws, r.rep_id, "disputed" if disputed else "accepted", by=by,
                          comment=("demo: the rep disputes the potential of two named "
                                   "accounts" if disputed else "demo acceptance"),
                          sheet=sheet)
    counts = acceptance_counts(acceptance(ws, sheet))
    return (f"{n} actions with owners and due dates for the {len(units)} largest accounts; "
            f"quota letters for {len(sheet)} seats ({counts_text(counts)}; crediting rule "
            "recorded)")


# ---- CLI: salesplan accept -------------------------------------------------------------------
def _cli_accept(args: argparse.Namespace) -> int:
    from salesplan_nb.data.workspace import Workspace

    ws = Workspace.open(args.plan_dir)
    item = record_acceptance(ws, args.rep, args.status, by=args.by,
                             comment=args.comment or "", period=args.period)
    print(f"{item['rep_id']}: {item['status']} ({item['quota']:,.2f} USD, {item['period']}) "
          f"by {item['by']} at {item['at']}")
    return 0


def register_cli(subparsers) -> None:
    """Add ``salesplan accept PLAN --rep R --by NAME [--status S] [--comment TEXT]``."""
    p = subparsers.add_parser(
        "accept", help="record a rep's answer to the quota letter (roll-out)",
        description="Record that a rep accepted, disputed or has not yet answered the quota "
                    "letter of the plan (kept in plan.yaml, decisions.rep_acceptance).")
    p.add_argument("plan_dir", help="plan folder (with plan.yaml)")
    p.add_argument("--rep", required=True, help="rep id or name")
    p.add_argument("--by", required=True, help="who answers (name)")
    p.add_argument("--status", default="accepted", choices=STATUSES)
    p.add_argument("--comment", default="", help="comment (required for a dispute)")
    p.add_argument("--period", default=None, help="plan period (default: the plan's)")
    p.set_defaults(func=_cli_accept)
