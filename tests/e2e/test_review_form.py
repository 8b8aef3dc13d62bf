"""The review form's live weighted total in a real browser equals the server's."""

import pytest
from playwright.sync_api import expect

from reviews.models import Review
from tests.reviews.factories import AssignmentFactory, SignatureFactory


@pytest.mark.django_db(transaction=True)
def test_the_live_total_matches_the_servers(live_server, page, client):
    """The script's total as the expert types, then the server's after saving: the same figure."""
    assignment = AssignmentFactory()
    SignatureFactory(expert=assignment.expert, round=assignment.round)
    client.force_login(assignment.expert.user)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    page.goto(live_server.url + f"/review/{assignment.token}/")
    total = page.locator("output[data-total]")
    expect(total).to_have_text("—")
    page.fill("#score-topic", "8")
    page.fill("#score-argument", "9")
    expect(total).to_have_text("—")  # one criterion still unscored
    page.fill("#score-foundation", "7")
    expect(total).to_have_text("83.00")
    expect(page.locator('output[data-weighted-for="score-argument"]')).to_have_text("45")
    page.fill("#score-topic", "11")
    expect(total).to_have_text("—")  # off the scale
    page.fill("#score-topic", "8")
    page.click("button[value=save]")
    expect(page.locator("output[data-total]")).to_have_text("83.00")
    assert str(Review.objects.get(assignment=assignment).total) == "83.00"
