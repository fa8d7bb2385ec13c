"""Every page runs through ``app.py``, even a deep link that is the first request after a server start.

Streamlit decides per process whether the app uses its legacy ``pages/`` folder mode: the class flag
``PagesManager.uses_pages_directory`` starts true when a ``pages/`` folder sits next to the main script and
turns false only when some script calls ``st.navigation``. Until someone has opened ``/``, a request for
``/train?…`` therefore runs ``pages/train.py`` on its own inside Streamlit's file-name navigation: no
``app.py``, so no wide layout, no page titles, and the link's setup unread. A page that finds itself started
that way clears the flag for the whole process and reruns; the rerun goes through ``app.py``, whose
``st.navigation`` resolves the same URL path to the same page (page ids are hashes of the URL path in both
modes) with the query string kept.

That rerun is needed once per process (the first request's run is already in legacy mode when this module is
first imported). From then on legacy mode's runner is replaced by one that runs ``app.py`` as the main script,
for runners that reset the flag on every run (Streamlit's AppTest does): there a rerun would drop the widget
event (a button click) that started the run.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import get_script_run_ctx
from streamlit.runtime.scriptrunner import script_runner as _script_runner


def _same(a: str | Path, b: str | Path) -> bool:
    return Path(a).resolve() == Path(b).resolve()


def started_without_app() -> bool:
    """True when Streamlit's legacy folder mode started this page itself, without running ``app.py`` first.

    In that mode the main script is listed as one of the pages and another page is the one running; when
    ``app.py`` is the entry point it is never a page, and a page file run on its own (a test) is the main script.
    """
    ctx = get_script_run_ctx()
    if ctx is None:
        return False
    pages = ctx.pages_manager.get_pages()
    main = ctx.main_script_path
    current = pages.get(ctx.page_script_hash, {}).get("script_path")
    return bool(current) and not _same(current, main) and any(
        p.get("script_path") and _same(p["script_path"], main) for p in pages.values())


def _run_app_instead(main_script_path: str) -> None:
    """Legacy mode's runner, replaced: run the main script (``app.py``), whose ``st.navigation`` picks the page."""
    PagesManager.uses_pages_directory = False
    path = Path(main_script_path)
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"),  # noqa: S102 - the app's own main script
         {"__name__": "__main__", "__file__": str(path)})


_script_runner._mpa_v1 = _run_app_instead


def through_app() -> None:
    """Rerun through ``app.py`` when this page was started without it (call first thing on every page)."""
    if started_without_app():
        # Process-wide on purpose: every later request of every session then goes through app.py directly.
        PagesManager.uses_pages_directory = False
        st.rerun()
