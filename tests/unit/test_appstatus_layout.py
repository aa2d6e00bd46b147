"""The pages' frame: the nav bar's tabs, and the way back to the history server's list."""

from __future__ import annotations

from minispark.appstatus import layout


def _nav(base: str) -> str:
    response = layout.page(base, "jobs/", "Jobs", app_name="a <b>", running=False, body="")
    assert response.text is not None
    return response.text.split("</nav>")[0]


def test_a_history_application_links_back_to_the_list() -> None:
    nav = _nav("/history/app-1/")
    assert '<a class="tab" href="/">All applications</a>' in nav
    assert 'href="/history/app-1/stages/"' in nav
    assert "a &lt;b&gt;" in nav  # the app's name is escaped


def test_the_driver_ui_has_no_list_to_go_back_to() -> None:
    nav = _nav("/")
    assert "All applications" not in nav
    assert 'href="/stages/"' in nav
