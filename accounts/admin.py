"""Admin of people and institutions (单位), for the secretariat.

The secretariat holds ``view_user`` and ``change_user`` (see ``roles``): it keeps
people's names, units and titles right and gives them their roles (groups). It
must not be able to make anyone a superuser, hand out single permissions, or
take over a superuser's account (by changing its password), so those parts stay
with superusers.
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import Institution, User


@admin.register(Institution)
class InstitutionAdmin(admin.ModelAdmin):
    list_display = ["name", "type", "province"]
    list_filter = ["type", "province"]
    search_fields = ["name", "province"]
    search_help_text = _("Search by name or province.")
    readonly_fields = ["admin_group"]
    fields = ["name", "type", "province", "admin_group"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Person"), {"fields": ("real_name", "first_name", "last_name", "email", "phone")}),
        (_("Unit and title"), {"fields": ("institution", "title", "title_level")}),
        (
            _("Roles and permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "usable_password", "password1", "password2")}),
        (_("Person"), {"classes": ("wide",), "fields": ("real_name", "email", "phone")}),
        (_("Unit and title"), {"classes": ("wide",), "fields": ("institution", "title", "title_level")}),
    )
    list_display = ["username", "real_name", "email", "institution", "title", "is_staff", "is_active"]
    list_filter = ["groups", "institution", "title_level", "is_staff", "is_superuser", "is_active"]
    list_select_related = ["institution"]
    search_fields = ["username", "real_name", "email"]
    search_help_text = _("Search by user name, real name or e-mail.")
    autocomplete_fields = ["institution"]
    readonly_fields = ["last_login", "date_joined"]

    # Fields only a superuser may set: they would let anyone else raise their own rights.
    SUPERUSER_ONLY_FIELDS = ("is_superuser", "user_permissions")

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            readonly += [f for f in self.SUPERUSER_ONLY_FIELDS if f not in readonly]
        return readonly

    def has_change_permission(self, request, obj=None):
        """Only a superuser changes a superuser (their password included)."""
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)
