import itertools
import tests.e2e.test_application_flow as flow
from tests.e2e.test_application_flow import story, anonymous_docx, watched  # noqa
from pathlib import Path

OUT = Path("/tmp/e2e-explore"); OUT.mkdir(exist_ok=True)
counter = itertools.count()
orig_save, orig_login, orig_logout = flow.save_and_continue, flow.log_in, flow.log_out

def snap(page, name):
    page.screenshot(path=OUT / f"{next(counter):02d}-{name}.png", full_page=True)
    (OUT / f"{next(counter):02d}-{name}.html").write_text(page.content())

def save_and_continue(page, heading, saved=True):
    snap(page, "before-" + heading.replace(" ", "_"))
    orig_save(page, heading, saved)

def log_in(page, u, p):
    snap(page, "before-login-" + u)
    orig_login(page, u, p)
    snap(page, "dashboard-" + u)

def log_out(page):
    snap(page, "before-logout")
    orig_logout(page)

flow.save_and_continue, flow.log_in, flow.log_out = save_and_continue, log_in, log_out
orig_label = None
test_explore = flow.test_from_registration_to_the_formal_check
