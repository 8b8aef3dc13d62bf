"""People and the institutions (单位) they belong to."""

from django.contrib.auth.models import AbstractUser, Group
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


class InstitutionType(models.TextChoices):
    UNIVERSITY = "university", _("Regular undergraduate university")  # 普通本科高校
    VOCATIONAL = "vocational", _("Vocational college")  # 职业院校
    ADULT = "adult", _("Independent adult higher-education institution")  # 独立设置成人高校
    OPEN_UNIVERSITY = "open_university", _("Open university")  # 开放大学
    RESEARCH = "research", _("Research institute")  # 科研机构
    COMMUNITY = "community", _("Community education institution")  # 社区教育机构
    SENIOR = "senior", _("University for the elderly")  # 老年大学
    OTHER = "other", _("Other")  # 其他


class Institution(models.Model):
    """A unit (单位) that applicants belong to and whose administrators endorse."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    type = models.CharField(_("type"), max_length=20, choices=InstitutionType.choices)
    province = models.CharField(_("province"), max_length=30, blank=True)
    admin_group = models.OneToOneField(
        Group,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="administered_institution",
        help_text=_("Holds the object permissions of this unit's research administrators."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("institution")
        verbose_name_plural = _("institutions")

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if self.admin_group_id is None:
            self.admin_group, _created = Group.objects.get_or_create(
                name=f"unit-admins:{self.name}"
            )
        super().save(*args, **kwargs)


class TitleLevel(models.IntegerChoices):
    """Level of a professional title (职称), compared against the class's minimum."""

    NONE = 0, _("No title")  # 无
    JUNIOR = 1, _("Junior")  # 初级
    INTERMEDIATE = 2, _("Intermediate")  # 中级
    ASSOCIATE_SENIOR = 3, _("Associate senior")  # 副高级
    SENIOR = 4, _("Senior")  # 正高级


class User(AbstractUser):
    """Every registered person is an applicant; other roles are groups (see ``roles``)."""

    real_name = models.CharField(_("real name"), max_length=50, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    institution = models.ForeignKey(
        Institution,
        verbose_name=_("unit"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="people",
    )
    title = models.CharField(
        _("professional title"), max_length=30, blank=True, help_text=_("For example 教授, 副研究员, 讲师.")
    )
    title_level = models.PositiveSmallIntegerField(
        _("title level"), choices=TitleLevel.choices, default=TitleLevel.NONE
    )
    language = models.CharField(
        _("language of mail"), max_length=10, blank=True,
        help_text=_("Mail and inbox messages are written in this language; empty: the site's."),
    )
    institution_confirmed_at = models.DateTimeField(
        _("unit membership confirmed at"),
        null=True,
        blank=True,
        help_text=_("Set when a research administrator of the unit confirms that the person belongs to it."),
    )

    class Meta:
        constraints = [
            # One account per e-mail address, whatever its case (the form checks too; this holds under races).
            models.UniqueConstraint(Lower("email"), condition=~Q(email=""), name="unique_email_ignoring_case"),
        ]
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self):
        return self.real_name or self.username

    def get_short_name(self):
        """Chinese names are not split into given and family names: the short name is the whole name."""
        return self.real_name or self.username

    @property
    def display_name(self):
        return self.real_name or self.get_full_name() or self.username


class Notification(models.Model):
    """A message in a user's in-app inbox (站内消息); the same text goes out by e-mail."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("message"))
    link = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "read_at"])]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")

    def __str__(self):
        return self.subject
