"""Signals other apps subscribe to, so that nothing in ``projects`` needs to know them.

``project_changed`` is sent after the commit of any step that changed a project
(its own transitions, and applied change requests), with the project's id. The
archive listens to it to keep its record and the search index in step.
"""

from django.dispatch import Signal

project_changed = Signal()  # kwargs: project_id, transition
