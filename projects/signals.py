"""Signals other apps subscribe to, so that nothing in ``projects`` needs to know them.

``project_changed`` is sent after the commit of any step that changed a project
(its own transitions, and applied change requests), with the project's id. The
archive listens to it to keep its record and the search index in step.
"""

from django.dispatch import Signal

project_changed = Signal()  # kwargs: project_id, transition

# Asked before a project number is given: a receiver answers True when the number is
# already used outside the workflow (the archive's imported records of earlier years).
number_is_reserved = Signal()  # kwargs: number

# Sent by ``load_demo`` before it builds the calls, so that other apps add their demo data
# (the archive imports its sample of earlier years). kwargs: created (a Counter to add to).
demo_loading = Signal()

# Sent by ``load_demo`` after the calls and their projects are in place, so that other apps
# add what follows from them (the review rounds of the demo calls). kwargs: created.
demo_loaded = Signal()
