"""The Jupyter server extension of salesplan-nb: the REST API the JupyterLab extension calls
(:mod:`salesplan_nb.server.handlers`). Top layer beside ``cli`` and ``batch``.

Enabled by ``etc/jupyter/jupyter_server_config.d/salesplan_nb.json`` (installed with the
package), or by hand: ``jupyter server extension enable salesplan_nb.server``.
"""

from __future__ import annotations


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "salesplan_nb.server"}]


def _load_jupyter_server_extension(server_app) -> None:
    from salesplan_nb.server.handlers import setup_handlers

    jobs = setup_handlers(server_app.web_app, server_app.root_dir)
    import atexit

    atexit.register(jobs.shutdown)
    server_app.log.info("salesplan-nb: REST API at /salesplan/ (root %s)", server_app.root_dir)
