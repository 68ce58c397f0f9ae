"""REST handlers of the server extension, under ``/salesplan/``.

=======  ====================  ============================================================
GET      ``plans``             plan folders under the Jupyter root
POST     ``plans``             create a plan (validates first; 422 + report, nothing created)
GET      ``plan?path=P``       the plan and its steps with status (decided / not yet / outdated)
GET      ``headline?path=P``   headline figures of the plan's data
GET      ``figures?path=P``    the plan model's figures and biggest gap (the step that closes it)
POST     ``validate``          validate a source (body) or, with ``plan``, the plan's own source
POST     ``render``            start a background render ``{plan, by, top}``
GET      ``render/<id>``       its progress, failures and index
GET      ``options``           plan types, render levels, mapping presets, the step list
=======  ====================  ============================================================

Errors are JSON ``{"error": message}`` with status 400 (bad input, a clear message naming
what to fix) or 422 (the data did not validate: ``{"error", "report"}``).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import tornado
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from salesplan_nb.core.errors import SalesplanError
from salesplan_nb.data.loaders import load_with_report
from salesplan_nb.data.mapping import presets
from salesplan_nb.data.sample import write_dataset_csv
from salesplan_nb.data.workspace import PLAN_TYPES, Workspace
from salesplan_nb.server import plans
from salesplan_nb.server.jobs import BY, JobManager
from salesplan_nb.server.steps import step_list


class _Base(APIHandler):
    @property
    def root(self) -> Path:
        return Path(self.settings["salesplan_root"])

    @property
    def jobs(self) -> JobManager:
        return self.settings["salesplan_jobs"]

    def body(self) -> dict:
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise SalesplanError("the request body must be a JSON object")
        return data

    async def run(self, fn, *args, **kwargs) -> None:
        """Run ``fn`` off the event loop; answer its result or a JSON error."""
        try:
            result = await tornado.ioloop.IOLoop.current().run_in_executor(
                None, lambda: fn(*args, **kwargs))
        except plans.InvalidData as exc:
            self.set_status(422)
            self.finish(json.dumps({"error": str(exc), "report": exc.report}))
            return
        except (SalesplanError, ValueError) as exc:
            self.set_status(400)
            self.finish(json.dumps({"error": str(exc)}))
            return
        self.finish(json.dumps(result, default=str))


class PlansHandler(_Base):
    @tornado.web.authenticated
    async def get(self) -> None:
        await self.run(lambda: {"plans": plans.find_plans(self.root)})

    @tornado.web.authenticated
    async def post(self) -> None:
        b = self.body()
        data = b.get("data") or {}
        await self.run(plans.create_plan, self.root, b.get("folder", ""),
                       plan_type=b.get("type", "annual"), period=b.get("period") or None,
                       scope=b.get("scope") or None, kind=data.get("kind", "sample"),
                       source=data.get("source"), mapping=data.get("mapping"),
                       name=b.get("name") or None, size=data.get("size") or "full")


class PlanHandler(_Base):
    @tornado.web.authenticated
    async def get(self) -> None:
        await self.run(plans.plan_summary, self.root, self.get_argument("path", ""))


class HeadlineHandler(_Base):
    @tornado.web.authenticated
    async def get(self) -> None:
        await self.run(plans.headline_rows, self.root, self.get_argument("path", ""))


class FiguresHandler(_Base):
    @tornado.web.authenticated
    async def get(self) -> None:
        await self.run(plans.plan_figures, self.root, self.get_argument("path", ""))


def _validate_plan_source(root: Path, plan: str) -> dict:
    """Validate a plan's own source: its folder/URL again, or (sample or snapshot) its data
    snapshot written as canonical CSVs and read back through the loader's checks."""
    ws = Workspace.open(plans.resolve_inside(root, plan, "plan folder"))
    src = ws.source
    if src.get("kind") == "path" and src.get("path"):
        _, report = load_with_report(src["path"], src.get("mapping"))
        return plans.report_dict(report)
    with tempfile.TemporaryDirectory(prefix="salesplan-validate-") as tmp:
        folder = write_dataset_csv(ws.data, Path(tmp) / "snapshot")
        _, report = load_with_report(folder, None, as_of=ws.data.as_of)
        rep = plans.report_dict(report)
    rep["source"] = f"the data snapshot of {plan} ({src.get('kind', 'data')})"
    return rep


class ValidateHandler(_Base):
    @tornado.web.authenticated
    async def post(self) -> None:
        b = self.body()
        if b.get("plan"):
            await self.run(_validate_plan_source, self.root, b["plan"])
            return
        data = b.get("data") or {}
        await self.run(plans.validate_source, self.root, data.get("kind", "sample"),
                       data.get("source"), data.get("mapping"), data.get("size") or "full")


class RenderHandler(_Base):
    @tornado.web.authenticated
    async def post(self) -> None:
        b = self.body()
        top = b.get("top")
        await self.run(self.jobs.start, b.get("plan", ""), b.get("by", "territory"),
                       int(top) if top not in (None, "", 0) else None)


class RenderStateHandler(_Base):
    @tornado.web.authenticated
    async def get(self, job_id: str) -> None:
        await self.run(self.jobs.state, job_id)


def _options() -> dict:
    return {"plan_types": list(PLAN_TYPES), "levels": list(BY), "presets": presets(),
            "steps": [s.as_dict() for s in step_list()]}


class OptionsHandler(_Base):
    @tornado.web.authenticated
    async def get(self) -> None:
        await self.run(_options)


def setup_handlers(web_app, root_dir: str) -> JobManager:
    """Register the handlers on ``web_app``; returns the job manager (to shut down)."""
    jobs = JobManager(root_dir)
    web_app.settings["salesplan_root"] = str(Path(root_dir).resolve())
    web_app.settings["salesplan_jobs"] = jobs
    base = url_path_join(web_app.settings["base_url"], "salesplan")
    web_app.add_handlers(".*$", [
        (url_path_join(base, "plans"), PlansHandler),
        (url_path_join(base, "plan"), PlanHandler),
        (url_path_join(base, "headline"), HeadlineHandler),
        (url_path_join(base, "figures"), FiguresHandler),
        (url_path_join(base, "validate"), ValidateHandler),
        (url_path_join(base, "render"), RenderHandler),
        (url_path_join(base, r"render/(\w+)"), RenderStateHandler),
        (url_path_join(base, "options"), OptionsHandler),
    ])
    return jobs
