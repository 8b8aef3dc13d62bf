"""The archive (academic database): one public record per approved or historical project.

A ``Record`` is the archive's own projection of a project: it holds exactly the
fields the public may see (number, title, class, year, people's names, unit,
field, keywords, abstract, state, grade, outputs) and nothing else — no score,
reviewer or 活页 can leak through a page or the API because none is here.
Records come from two sources: the workflow (a ``projects.Project`` from its
confirmation on, kept in step after every change) and Excel imports of earlier
years.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from projects.models import Grade


class ArchiveState(models.TextChoices):
    ONGOING = "ongoing", _("Ongoing")  # 在研
    COMPLETED = "completed", _("Completed")  # 已结题
    TERMINATED = "terminated", _("Terminated")  # 已终止
    REVOKED = "revoked", _("Revoked")  # 已撤项


# The archive records the workflow's own completion grades (优秀 / 良好 / 合格 / 不合格).
RecordGrade = Grade


class RecordSource(models.TextChoices):
    WORKFLOW = "workflow", _("Managed in Keti")
    IMPORT = "import", _("Imported")


class Record(models.Model):
    number = models.CharField(_("project number"), max_length=30, unique=True)
    title = models.CharField(_("title"), max_length=200)
    class_code = models.CharField(_("class"), max_length=5, db_index=True)
    class_name = models.CharField(_("class name"), max_length=60, blank=True)
    year = models.PositiveSmallIntegerField(_("year approved"), db_index=True)
    pi_name = models.CharField(_("PI"), max_length=50)
    unit_name = models.CharField(_("unit"), max_length=120, db_index=True)
    members = models.CharField(_("members"), max_length=500, blank=True, help_text=_("Names separated by “、”."))
    field = models.CharField(_("field"), max_length=60, blank=True, db_index=True)
    keywords = models.JSONField(_("keywords"), default=list, blank=True)
    abstract = models.TextField(_("abstract"), blank=True)
    state = models.CharField(_("state"), max_length=20, choices=ArchiveState.choices, db_index=True)
    grade = models.CharField(_("grade"), max_length=10, choices=RecordGrade.choices, blank=True, db_index=True)
    completed_on = models.DateField(_("completed on"), null=True, blank=True)
    outputs = models.TextField(_("outputs"), blank=True, help_text=_("One per line, with citation data."))
    source = models.CharField(_("source"), max_length=10, choices=RecordSource.choices)
    project = models.OneToOneField(
        "projects.Project", on_delete=models.SET_NULL, null=True, blank=True, related_name="archive_record"
    )
    search_text = models.TextField(
        blank=True, editable=False, help_text="jieba-segmented text for the database search backend."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-year", "number"]
        verbose_name = _("archive record")
        verbose_name_plural = _("archive records")

    def __str__(self):
        return f"{self.number} {self.title}"

    @property
    def output_list(self):
        return [line.strip() for line in self.outputs.splitlines() if line.strip()]
