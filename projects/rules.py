"""Rule numbers of DESIGN.md, read from a call class with the settings as defaults.

A call class may override any rule in its ``rules`` JSON field; nothing else in
the code writes such a number as a literal.
"""

from fractions import Fraction

from django.conf import settings


def default_notice_days():
    """Model default of ``Call.notice_days`` (a function, so migrations do not freeze the number)."""
    return rule("NOTICE_DAYS")


def rule(name, call_class=None):
    """The value of rule ``name`` for ``call_class`` (or the association default)."""
    overrides = getattr(call_class, "rules", None) or {}
    if name in overrides:
        return overrides[name]
    if name == "MIN_PI_TITLE_LEVEL":
        by_class = settings.KETI_RULES["MIN_PI_TITLE_LEVEL"]
        code = getattr(call_class, "code", None)
        return by_class.get(code, settings.KETI_RULES["MIN_PI_TITLE_LEVEL_OTHER"])
    value = settings.KETI_RULES[name]
    if name == "MEMBER_CHANGE_MAX_FRACTION":
        return Fraction(value).limit_denominator(100)
    return value
