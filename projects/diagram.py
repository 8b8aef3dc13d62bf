"""The pictures of the machines, drawn from the code (Mermaid, rendered by GitHub and GitLab)."""

from django.apps import apps

from .services import transitions_of

MACHINES = [
    ("Project (课题)", "projects.Project"),
    ("Call (课题指南)", "projects.Call"),
    ("Change request (变更申请)", "projects.ChangeRequest"),
    ("Completion materials (结题材料)", "projects.CompletionReport"),
    ("Review round (评审轮次)", "reviews.ReviewRound"),
    ("Review (评审意见)", "reviews.Review"),
    ("Committee meeting (会议评审)", "reviews.Meeting"),
]


def targets_of(transition):
    target = transition.target
    return list(getattr(target, "allowed_states", None) or [target])


def permission_name(transition):
    permission = transition.permission
    return getattr(permission, "__name__", str(permission or "anyone"))


def mermaid(model):
    lines = ["stateDiagram-v2"]
    field = model._meta.get_field("state")
    lines.append(f"    [*] --> {field.default}")
    for name, by_source in transitions_of(model).items():
        for source, transition in sorted(by_source.items()):
            for target in targets_of(transition):
                lines.append(f"    {source} --> {target}: {name}")
    return "\n".join(lines)


def rule_table(model):
    rows = ["| step | from | to | who | guards |", "| --- | --- | --- | --- | --- |"]
    for name, by_source in transitions_of(model).items():
        first = next(iter(by_source.values()))
        guards = ", ".join(getattr(c, "name", repr(c)) for c in first.conditions) or "—"
        rows.append(
            f"| `{name}` | {', '.join(sorted(by_source))} | {', '.join(targets_of(first))} "
            f"| `{permission_name(first)}` | {guards} |"
        )
    return "\n".join(rows)


def document():
    parts = [
        "# The state machines of Keti",
        "",
        "Generated from the code by `python manage.py export_workflow_diagram` (`make diagram`);",
        "a test fails when this file and the code disagree. The transitions live in",
        "`projects/workflow.py` and `reviews/workflow.py`, their guards in each app's `guards.py`,",
        "who may take them in each app's `access.py`.",
    ]
    for title, label in MACHINES:
        model = apps.get_model(label)
        parts += ["", f"## {title}", "", "```mermaid", mermaid(model), "```", "", rule_table(model)]
    return "\n".join(parts) + "\n"
