from pathlib import Path

from django.conf import settings

from projects.diagram import document


def test_checked_in_diagram_matches_the_code():
    """docs/state-machines.md is the picture of the code; regenerate it with `make diagram`."""
    checked_in = (Path(settings.BASE_DIR) / "docs" / "state-machines.md").read_text(encoding="utf-8")
    assert checked_in == document()


def test_diagram_shows_every_project_transition():
    text = document()
    for edge in ["draft --> submitted: submit", "completion_review --> revoked: appraise",
                 "publicity --> active: confirm", "active --> revoked: revoke_project"]:
        assert edge in text
