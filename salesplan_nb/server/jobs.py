"""Render plans in the background for the side panel: one ``salesplan run`` process per job.

A job renders the plan at ``plan`` by ``by`` (company, region, territory, account, rep; ``top``
N units with the most trailing bookings) into ``plan/reports/`` (``<by>/<unit>.html`` and
one ``index.html`` over every level rendered there). Progress is read from the
run records the runner writes (one ``<level>/<stem>.json`` per unit as it finishes): ``done``
of ``total`` units, the failed ones with their error. Running in its own process keeps the
kernels and the worker pool out of the Jupyter server.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from salesplan_nb.batch.runner import LEVELS as BY
from salesplan_nb.batch.runner import list_units
from salesplan_nb.core.errors import ConfigError
from salesplan_nb.data.workspace import Workspace
from salesplan_nb.server.plans import relative, resolve_inside


@dataclass
class RenderJob:
    """One background render. ``status``: running, done (every unit rendered), failed."""

    id: str
    plan: Path
    by: str
    top: int | None
    out: Path
    total: int
    started: float = field(default_factory=time.time)
    status: str = "running"
    message: str = ""
    proc: subprocess.Popen | None = None

    def records(self) -> list[dict]:
        """Run records written by this job (newer than its start)."""
        folder = self.out / self.by
        out = []
        for f in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            try:
                if f.stat().st_mtime + 1 < self.started:
                    continue
                out.append(json.loads(f.read_text()))
            except (OSError, ValueError):
                continue  # being written: counted on the next poll
        return out

    def state(self, root: Path) -> dict:
        recs = self.records()
        failures = [{"unit": r["unit"].get("label") or r["unit"].get("id"),
                     "error": f"{(r.get('error') or {}).get('ename', '')}: "
                              f"{(r.get('error') or {}).get('evalue', '')}".strip(": ")}
                    for r in recs if r.get("status") != "ok"]
        index = self.out / "index.html"
        reports = [relative(root, self.out / self.by / f"{r['unit']['stem']}.html")
                   for r in recs if r.get("status") == "ok"]
        return {"id": self.id, "plan": relative(root, self.plan), "by": self.by,
                "top": self.top, "status": self.status, "message": self.message,
                "total": self.total, "done": len(recs), "ok": len(recs) - len(failures),
                "failed": len(failures), "failures": failures, "reports": sorted(reports),
                "index": relative(root, index) if index.exists() and self.status != "running"
                else None, "seconds": round(time.time() - self.started, 1)}


class JobManager:
    """The server's render jobs, by id (kept for the server's lifetime)."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        self.jobs: dict[str, RenderJob] = {}
        self._lock = threading.Lock()

    def start(self, plan: str, by: str, top: int | None = None) -> dict:
        if by not in BY:
            raise ConfigError(f"render by {by!r}: use one of {', '.join(BY)}")
        if top is not None and (not isinstance(top, int) or top < 1):
            raise ConfigError("top must be a positive whole number of units")
        path = resolve_inside(self.root, plan, "plan folder")
        ws = Workspace.open(path)
        with self._lock:
            if any(j.plan == path and j.status == "running" for j in self.jobs.values()):
                raise ConfigError(f"{plan} is already rendering; wait for that run to finish")
        total = len(list_units(ws.data, by, top=top))
        out = path / "reports"  # one index over every level rendered so far
        cmd = [sys.executable, "-m", "salesplan_nb.cli", "run", str(path), "--by", by,
               "--out", str(out), "--quiet"]
        if top:
            cmd += ["--top", str(top)]
        job = RenderJob(uuid.uuid4().hex[:12], path, by, top, out, total)
        job.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True, cwd=path)
        with self._lock:
            self.jobs[job.id] = job
        threading.Thread(target=self._wait, args=(job,), daemon=True).start()
        return job.state(self.root)

    @staticmethod
    def _wait(job: RenderJob) -> None:
        out, err = job.proc.communicate()
        lines = [ln for ln in (out + "\n" + err).splitlines() if ln.strip()]
        job.message = lines[-1] if lines else ""
        job.status = "done" if job.proc.returncode == 0 else "failed"

    def state(self, job_id: str) -> dict:
        job = self.jobs.get(job_id)
        if job is None:
            raise ConfigError(f"no render job {job_id!r} (the server restarted?)")
        return job.state(self.root)

    def shutdown(self) -> None:
        for job in self.jobs.values():
            if job.proc is not None and job.proc.poll() is None:
                job.proc.terminate()
