"""The account plan's own sections: profile (with the buying committee), history,
whitespace, actions, risks."""

from __future__ import annotations

import altair as alt
import pandas as pd

from salesplan_nb.core.formats import cell, money, pct
from salesplan_nb.data import contacts as contacts_rule
from salesplan_nb.render.blocks import Missing, Section, Table
from salesplan_nb.render.context import PlanContext
from salesplan_nb.render.figures import headline_of
from salesplan_nb.render.sections.where import to_decide
from salesplan_nb.steps import actions as actions_step


def _account_row(ctx: PlanContext) -> pd.Series | None:
    a = ctx.data.accounts
    hit = a[a["account_id"] == ctx.scope.id]
    return hit.iloc[0] if len(hit) else None


def account_profile(ctx: PlanContext) -> Section:
    """Firmographics, owner and parent of the account."""
    s = Section("account_profile", "Account profile")
    row = _account_row(ctx)
    if row is None:
        return s.add(Missing(f"account {ctx.scope.id} in the accounts table"))
    reps = ctx.data.reps.set_index("rep_id")["name"]
    fields = [("Name", row["name"]), ("Account id", row["account_id"]),
              ("Industry", row["industry"]), ("Segment", row["segment"]),
              ("Employees", cell(row["employees"], "int")),
              ("Annual revenue (USD)", cell(row["revenue"], "money")),
              ("Location", ", ".join(str(x) for x in (row["city"], row["state"], row["country"])
                                     if pd.notna(x))),
              ("Region / territory", f"{row['region']} / {row['territory']}"),
              ("Owner", reps.get(row["owner_id"], row["owner_id"])),
              ("Parent", row["parent_id"])]
    s.add(Table(pd.DataFrame([(k, "" if v is None or v is pd.NA else str(v))
                              for k, v in fields], columns=["field", "value"])))
    return buying_committee(ctx, s)


NO_CONTACTS_TABLE = ("Buying committee: the source has no contacts table; map one under "
                     "tables.contacts in the mapping (name, title, role, account_id) to show "
                     "who buys (docs/mapping.md, Contacts).")


def committee_gaps(ctx: PlanContext) -> tuple[pd.DataFrame, list[str]] | None:
    """``(committee, missing key roles)`` of the account
    (:func:`salesplan_nb.data.contacts.committee`), or ``None`` when the source has no
    contacts table."""
    if not len(ctx.data.contacts):
        return None
    table = contacts_rule.committee(ctx.data.contacts, str(ctx.scope.id))
    return table, contacts_rule.missing_key_roles(table)


def buying_committee(ctx: PlanContext, s: Section) -> Section:
    """The "Buying committee" table (name, title, role, deals, last activity; e-mail and
    phone masked) with the key roles it lacks; one line when the source has no contacts."""
    got = committee_gaps(ctx)
    if got is None:
        return s.add(NO_CONTACTS_TABLE)
    table, missing = got
    if not len(table):
        return s.add(f"Buying committee: no contacts recorded for {ctx.unit_label}; add the "
                     "people you sell to (and their role in the deal) in the CRM.")
    gaps = "; ".join(f"no {r} identified" for r in missing)
    s.add(f"Buying committee: {len(table)} contact(s)"
          + (f"; {gaps}." if missing else "; economic buyer, decision maker and champion "
             "identified."))
    show = [c for c in table.columns if c in ("name", "title", "role")
            or table[c].replace("", pd.NA).notna().any()]
    return s.add(Table(table[show], {"last_activity": "date"},
                       caption="Buying committee",
                       labels={"deals": "Deals", "email": "E-mail (masked)",
                               "phone": "Phone (masked)"}))


def account_history(ctx: PlanContext) -> Section:
    """Won bookings by year and quarter, and win/loss history."""
    s = Section("account_history", "History")
    d = ctx.deals
    won = d[d["status"] == "won"]
    if not len(d):
        return s.add(Missing(f"deals for {ctx.unit_label}"))
    closed = d[d["status"].isin(["won", "lost"])]
    s.add(f"{len(won)} won and {int((closed['status'] == 'lost').sum())} lost deals; lifetime "
          f"bookings {money(float(won['amount'].sum()))}; first win "
          f"{won['close_date'].min().date() if len(won) else 'none'}.")
    q = quarterly_bookings(won, ctx.data.as_of)
    if len(q):
        s.add(alt.Chart(q).mark_bar().encode(
            x=alt.X("quarter:N", title=None), y=alt.Y("amount:Q", title="Bookings (USD)"),
            tooltip=["quarter", alt.Tooltip("amount:Q", format=",.0f")]).properties(width=520))
    y = (closed.assign(year=closed["close_date"].dt.year)
         .groupby("year").agg(won=("status", lambda x: int((x == "won").sum())),
                              lost=("status", lambda x: int((x == "lost").sum())),
                              bookings=("amount", lambda x: 0.0)).reset_index())
    y["bookings"] = [float(won.loc[won["close_date"].dt.year == yr, "amount"].sum())
                     for yr in y["year"]]
    y["win_rate"] = y["won"] / (y["won"] + y["lost"])
    s.add(Table(y, {"bookings": "money", "win_rate": "pct"}))
    return s


def quarterly_bookings(won: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Won bookings per calendar quarter from the first win to the quarter of ``as_of``,
    quarters without a win as 0 (columns quarter, amount)."""
    if not len(won):
        return pd.DataFrame(columns=["quarter", "amount"])
    by_q = won.groupby(won["close_date"].dt.to_period("Q"))["amount"].sum()
    quarters = pd.period_range(by_q.index.min(), max(by_q.index.max(),
                                                     pd.Period(as_of, "Q")), freq="Q")
    by_q = by_q.reindex(quarters, fill_value=0.0)
    return pd.DataFrame({"quarter": by_q.index.astype(str), "amount": by_q.to_numpy(float)})


def whitespace(ctx: PlanContext) -> Section:
    """Whitespace by product family: a family is *owned* when the account has won any of its
    products, *in pipeline* when it has an open deal for one, else *whitespace*. For each
    family: peer adoption (share of won-deal accounts in the account's segment that bought
    it) and the typical deal (average won amount of the family among those peers, USD).
    Whitespace value = sum of typical deals of the whitespace families."""
    s = Section("whitespace", "Whitespace by product family")
    row = _account_row(ctx)
    deals = ctx.data.deals
    prods = ctx.data.products
    if row is None or not len(prods):
        return s.add(Missing("the account or the products table"))
    fam = prods.set_index("product_id")["family"] if "family" in prods.columns else \
        pd.Series(dtype=object)
    family_of = deals["product_id"].map(fam).fillna(deals["product_id"])
    deals = deals.assign(_family=family_of)
    mine = deals[deals["account_id"] == ctx.scope.id]
    peers = deals[(deals["status"] == "won") & (deals["segment"] == row["segment"])]
    n_peers = max(int(peers["account_id"].nunique()), 1)
    names = {pid: (n if pd.notna(n) else pid) for pid, n in
             zip(prods["product_id"], prods["name"] if "name" in prods.columns
                 else prods["product_id"])}
    rows = []
    for family in sorted(set(fam.dropna().astype(str)) or set(prods["product_id"])):
        won = mine[(mine["_family"] == family) & (mine["status"] == "won")]
        open_ = mine[(mine["_family"] == family) & (mine["status"] == "open")]
        pw = peers[peers["_family"] == family]
        status = "owned" if len(won) else "in pipeline" if len(open_) else "whitespace"
        rows.append({"family": family,
                     "products owned": ", ".join(sorted({str(names.get(p, p))
                                                         for p in won["product_id"]})),
                     "open deals": int(len(open_)), "bought": float(won["amount"].sum()),
                     "status": status,
                     "peer_adoption": pw["account_id"].nunique() / n_peers,
                     "typical_deal": float(pw["amount"].mean()) if len(pw) else float("nan")})
    df = pd.DataFrame(rows)
    order = {"whitespace": 0, "in pipeline": 1, "owned": 2}
    df = df.sort_values(["status", "peer_adoption"], key=lambda c: c.map(order)
                        if c.name == "status" else -c, ignore_index=True)
    white = df[df["status"] == "whitespace"]
    ws_total = float(white["typical_deal"].fillna(0).sum())
    if len(white):
        s.add(f"{len(white)} of {len(df)} product families are whitespace (not owned, no open "
              f"deal): {', '.join(white['family'])}; at typical {row['segment']} deal sizes "
              f"that is {money(ws_total)}.")
    else:
        s.add(f"No whitespace: {ctx.unit_label} owns or has an open deal in every product "
              "family.")
    s.add(Table(df, {"bought": "money", "peer_adoption": "pct", "typical_deal": "money",
                     "open deals": "int"},
                labels={"bought": "Bought (USD)"}))
    s.add(alt.Chart(df).mark_bar().encode(
        y=alt.Y("family:N", sort="-x", title=None),
        x=alt.X("typical_deal:Q", title="Typical deal (USD)"),
        color=alt.Color("status:N"),
        tooltip=["family", "status", alt.Tooltip("typical_deal:Q", format=",.0f"),
                 alt.Tooltip("peer_adoption:Q", format=".0%")]).properties(width=460))
    return s


def account_actions(ctx: PlanContext) -> Section:
    """Actions with owners, due dates and status (:func:`salesplan_nb.steps.actions.list_actions`
    for this account), and the open opportunities to progress."""
    s = Section("account_actions", "Actions")
    df = actions_step.list_actions(ctx.ws, ctx.scope.id)
    if len(df):
        n_done = int((df["status"] == "done").sum())
        late = df[(df["status"] != "done") & (df["due"] < ctx.data.as_of)]
        s.add(f"{len(df)} actions, {n_done} done"
              + (f"; {len(late)} not done and past due at {ctx.data.as_of.date()}"
                 if len(late) else "") + ".")
        s.add(Table(df[["action", "owner", "due", "status", "by", "at"]]
                    .rename(columns={"by": "recorded by", "at": "recorded at"}),
                    {"due": "date"}))
    else:
        s.add(to_decide("actions for this account with owners and due dates (no actions are "
                        "recorded for this account in decisions.account_actions)", "actions"))
    open_ = open_deals(ctx)
    if len(open_):
        late = open_[open_["overdue"] != ""]
        if len(late):
            s.add(f"{len(late)} open deal(s) worth {money(float(late['amount'].sum()))} are past "
                  "their expected close date: update the date with the buyer or close them out.")
        s.add(Table(open_, {"amount": "money", "expected close": "date"},
                    labels={"opportunity_id": "Opportunity"},
                    caption="Open opportunities to progress"))
    return s


def open_deals(ctx: PlanContext) -> pd.DataFrame:
    """The account's open deals by expected close: product name (not id), stage, amount,
    owner and an ``overdue`` flag ("overdue N days" when the expected close is before
    ``as_of``)."""
    d = ctx.deals
    open_ = d[d["status"] == "open"].sort_values("close_date")
    p = ctx.data.products
    names = dict(zip(p["product_id"], p["name"])) if "name" in p.columns else {}
    as_of = ctx.data.as_of
    return pd.DataFrame({
        "opportunity_id": open_["opportunity_id"].astype(str),
        "product": [str(names.get(x)) if pd.notna(names.get(x)) else str(x)
                    for x in open_["product_id"]],
        "stage": open_["stage"], "amount": open_["amount"].astype(float),
        "expected close": open_["close_date"],
        "overdue": [f"overdue {(as_of - c).days} days" if pd.notna(c) and c < as_of else ""
                    for c in open_["close_date"]],
        "owner": open_["rep_name"]}).reset_index(drop=True)


def account_risks(ctx: PlanContext) -> Section:
    """Risks read from the data (declining bookings, overdue open deals, losses, concentration
    of the account in its territory's bookings), blocked account actions and the risks
    recorded in the list section ``account_risks``."""
    s = Section("account_risks", "Risks")
    h = headline_of(ctx)
    d = ctx.deals
    risks = []  # (risk, evidence, mitigation, source)
    sug = "suggested"
    if h["baseline_growth"] is not None and h["baseline_growth"] < 0:
        risks.append(("declining bookings", f"{pct(h['baseline_growth'])} in "
                      f"{h['baseline_period']}", "executive business review on the decline; "
                      "pursue the whitespace families", sug))
    if h["baseline_bookings"] == 0 and h["prior_bookings"] > 0:
        risks.append(("no bookings", f"nothing won in {h['baseline_period']}",
                      "re-qualify the account with its owner", sug))
    over = d[(d["status"] == "open") & (d["close_date"] < ctx.data.as_of)]
    if len(over):
        risks.append(("overdue pipeline", f"{len(over)} open deals past their close date "
                      f"({money(float(over['amount'].sum()))})",
                      "confirm new close dates with the buyer or close the deals out", sug))
    lost = d[(d["status"] == "lost") & ctx.baseline.contains(d["close_date"])]
    if len(lost):
        reasons = lost["loss_reason"].dropna()
        top = reasons.mode().iloc[0] if len(reasons) else "no reason recorded"
        risks.append(("losses", f"{len(lost)} deals lost in {ctx.baseline.label} "
                      f"(most common reason: {top})",
                      f"answer '{top}' in the next proposal" if len(reasons) else
                      "record loss reasons to learn from them", sug))
    row = _account_row(ctx)
    if row is not None and pd.notna(row["territory"]):
        all_d = ctx.data.deals
        terr = all_d[(all_d["territory"] == row["territory"]) & (all_d["status"] == "won")
                     & ctx.baseline.contains(all_d["close_date"])]
        tot = float(terr["amount"].sum())
        if tot > 0 and h["baseline_bookings"] / tot > 0.2:
            risks.append(("concentration", f"{pct(h['baseline_bookings'] / tot)} of territory "
                          f"{row['territory']} bookings in {ctx.baseline.label}",
                          "multi-thread the account (more contacts) and grow other accounts "
                          "in the territory", sug))
    got = committee_gaps(ctx)
    if got is not None:
        table, missing = got
        if not len(table):
            risks.append(("no buying committee", "no contacts recorded for the account",
                          "map the buying committee with the account owner", sug))
        for role in missing if len(table) else []:
            risks.append((f"no {role} identified", f"{len(table)} contact(s) on file, none "
                          f"with the role {role}", ROLE_MITIGATION[role], sug))
    for a in actions_step.load_actions(ctx.ws, ctx.scope.id):
        if a.status == "blocked":
            risks.append(("blocked action", f"{a.action} (owner {a.owner or 'unassigned'}"
                          + (f", due {a.due}" if a.due else "") + ")",
                          "escalate to the owner's manager", sug))
    for i in ctx.ws.items("account_risks"):
        if str(i.get("account_id", "")) == str(ctx.scope.id):
            risks.append((str(i.get("risk", "")), str(i.get("evidence", "")),
                          str(i.get("mitigation", "")), "recorded"))
    if risks:
        s.add(Table(pd.DataFrame(risks, columns=["risk", "evidence", "mitigation", "source"])))
    else:
        s.add("No risk signals in the data.")
    return s


ROLE_MITIGATION = {
    "economic buyer": "ask the champion who signs off the budget and meet them before the "
                      "proposal",
    "decision maker": "find out who makes the final call and get them into the evaluation",
    "champion": "develop a champion: an insider who gains from the project and sells it "
                "internally",
}
