"""The account plan's own sections: profile, history, whitespace, actions, risks."""

from __future__ import annotations

import altair as alt
import pandas as pd

from salesplan_nb.core.formats import cell, money, pct
from salesplan_nb.render.blocks import Missing, Section, Table
from salesplan_nb.render.context import PlanContext
from salesplan_nb.render.figures import headline_of
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
    return s


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
    q = (won.assign(quarter=won["close_date"].dt.to_period("Q").astype(str))
         .groupby("quarter", as_index=False)["amount"].sum())
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


def whitespace(ctx: PlanContext) -> Section:
    """Products bought vs not yet bought by the account, with typical deal value elsewhere in
    its segment (average won amount per product among same-segment accounts)."""
    s = Section("whitespace", "Whitespace by product")
    row = _account_row(ctx)
    deals = ctx.data.deals
    prods = ctx.data.products
    if row is None or not len(prods):
        return s.add(Missing("the account or the products table"))
    mine = deals[(deals["account_id"] == ctx.scope.id) & (deals["status"] == "won")]
    peers = deals[(deals["status"] == "won") & (deals["segment"] == row["segment"])]
    peer_acc = peers.groupby("product_id")["account_id"].nunique()
    n_peers = max(int(peers["account_id"].nunique()), 1)
    rows = []
    for p in prods.itertuples(index=False):
        bought = float(mine.loc[mine["product_id"] == p.product_id, "amount"].sum())
        pw = peers[peers["product_id"] == p.product_id]
        rows.append({"product": p.name if pd.notna(p.name) else p.product_id,
                     "family": p.family, "bought": bought,
                     "status": "owned" if bought > 0 else "whitespace",
                     "peer_adoption": peer_acc.get(p.product_id, 0) / n_peers,
                     "typical_deal": float(pw["amount"].mean()) if len(pw) else float("nan")})
    df = pd.DataFrame(rows).sort_values(["status", "peer_adoption"], ascending=[False, False])
    ws_total = float(df.loc[df["status"] == "whitespace", "typical_deal"].fillna(0).sum())
    s.add(f"{int((df['status'] == 'whitespace').sum())} of {len(df)} products not yet bought; "
          f"at typical {row['segment']} deal sizes that is {money(ws_total)} of whitespace.")
    s.add(Table(df, {"bought": "money", "peer_adoption": "pct", "typical_deal": "money"}))
    s.add(alt.Chart(df).mark_bar().encode(
        y=alt.Y("product:N", sort="-x", title=None),
        x=alt.X("typical_deal:Q", title="Typical deal (USD)"),
        color=alt.Color("status:N"),
        tooltip=["product", "status", alt.Tooltip("typical_deal:Q", format=",.0f"),
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
        s.add(Missing("no actions are recorded for this account in plan.yaml "
                      "(decisions.account_actions)",
                      "Add them with salesplan_nb.steps.actions.add_action(ws, account_id, action, "
                      "owner, due, status)."))
    d = ctx.deals
    open_ = d[d["status"] == "open"].sort_values("close_date")
    if len(open_):
        s.add(Table(open_[["opportunity_id", "product_id", "stage", "amount", "close_date",
                           "rep_name"]].rename(columns={"rep_name": "owner",
                                                        "close_date": "expected close"}),
                    {"amount": "money", "expected close": "date"},
                    caption="Open opportunities to progress"))
    return s


def account_risks(ctx: PlanContext) -> Section:
    """Risks read from the data (declining bookings, overdue open deals, losses, concentration
    of the account in its territory's bookings), blocked account actions and the risks
    recorded in the list section ``account_risks``."""
    s = Section("account_risks", "Risks")
    h = headline_of(ctx)
    d = ctx.deals
    risks = []
    if h["baseline_growth"] is not None and h["baseline_growth"] < 0:
        risks.append(("declining bookings", f"{pct(h['baseline_growth'])} in "
                      f"{h['baseline_period']}"))
    if h["baseline_bookings"] == 0 and h["prior_bookings"] > 0:
        risks.append(("no bookings", f"nothing won in {h['baseline_period']}"))
    over = d[(d["status"] == "open") & (d["close_date"] < ctx.data.as_of)]
    if len(over):
        risks.append(("overdue pipeline", f"{len(over)} open deals past their close date "
                      f"({money(float(over['amount'].sum()))})"))
    lost = d[(d["status"] == "lost") & ctx.baseline.contains(d["close_date"])]
    if len(lost):
        reasons = lost["loss_reason"].dropna()
        top = reasons.mode().iloc[0] if len(reasons) else "no reason recorded"
        risks.append(("losses", f"{len(lost)} deals lost in {ctx.baseline.label} "
                      f"(most common reason: {top})"))
    row = _account_row(ctx)
    if row is not None and pd.notna(row["territory"]):
        all_d = ctx.data.deals
        terr = all_d[(all_d["territory"] == row["territory"]) & (all_d["status"] == "won")
                     & ctx.baseline.contains(all_d["close_date"])]
        tot = float(terr["amount"].sum())
        if tot > 0 and h["baseline_bookings"] / tot > 0.2:
            risks.append(("concentration", f"{pct(h['baseline_bookings'] / tot)} of territory "
                          f"{row['territory']} bookings in {ctx.baseline.label}"))
    for a in actions_step.load_actions(ctx.ws, ctx.scope.id):
        if a.status == "blocked":
            risks.append(("blocked action", f"{a.action} (owner {a.owner or 'unassigned'}"
                          + (f", due {a.due}" if a.due else "") + ")"))
    for i in ctx.ws.items("account_risks"):
        if str(i.get("account_id", "")) == str(ctx.scope.id):
            risks.append((str(i.get("risk", "")), str(i.get("mitigation", ""))))
    if risks:
        s.add(Table(pd.DataFrame(risks, columns=["risk", "evidence"])))
    else:
        s.add("No risk signals in the data.")
    return s
