"""The archive's working pages: the secretariat's import and year export, and the public statistics.

The import page takes an .xlsx of historical projects (往年课题), checks that it is
a real workbook of reasonable size before anything reads it, and answers with the
import's report: counts, and every error by row. Statistics are public, as the
archive is.
"""

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from projects import access

from . import statistics
from .exports import records_workbook
from .importer import HEADERS, import_sheet, workbook_problem
from .models import Record

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
IMPORT_MAX_BYTES = 10 * 2**20


def _secretariat(request):
    if not access.is_secretariat(None, request.user):
        raise PermissionDenied
    return request.user


def _xlsx_response(data, filename):
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class ImportForm(forms.Form):
    sheet = forms.FileField(
        label=gettext_lazy("Excel workbook (.xlsx)"),
        help_text=gettext_lazy("One sheet named 课题 with the columns of the import format; at most 10 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": f".xlsx,{XLSX}"}),
    )
    skip_invalid = forms.BooleanField(
        label=gettext_lazy("Skip invalid rows and import the valid ones"),
        required=False,
        help_text=gettext_lazy("Without this, a sheet with any error imports nothing."),
    )

    def clean_sheet(self):
        upload = self.cleaned_data["sheet"]
        if not upload.name.lower().endswith(".xlsx"):
            raise forms.ValidationError(_("Choose an Excel workbook ending in .xlsx."))
        if upload.size > IMPORT_MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than the %(limit)s allowed.") % {
                "limit": filesizeformat(IMPORT_MAX_BYTES)})
        problem = workbook_problem(upload)
        if problem:
            raise forms.ValidationError(problem)
        return upload


@login_required
@require_http_methods(["GET", "POST"])
def archive_import(request):
    """Upload a sheet of historical projects (往年课题导入); the answer is the import's report."""
    _secretariat(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        report = import_sheet(form.cleaned_data["sheet"], skip_invalid=form.cleaned_data["skip_invalid"])
        return render(request, "archive/staff/import_report.html", {
            "report": report,
            "filename": form.cleaned_data["sheet"].name,
            "skip_invalid": form.cleaned_data["skip_invalid"],
        })
    return render(request, "archive/staff/import.html", {"form": form, "headers": HEADERS})


@login_required
@require_GET
def export_year(request):
    """Records of one year approved (``?year=YYYY``; every year without it) in the import sheet's format."""
    _secretariat(request)
    records = Record.objects.order_by("year", "number")
    year = request.GET.get("year", "").strip()
    if year:
        if not (year.isdigit() and len(year) == 4):
            return HttpResponseBadRequest(_("The year must have four digits."))
        records = records.filter(year=int(year))
    return _xlsx_response(records_workbook(records), f"archive-{year or 'all'}.xlsx")


@require_GET
def statistics_page(request):
    """Public figures of the archive, each a chart and the same figures as a table."""
    return render(request, "archive/staff/statistics.html", {"sections": statistics.all_sections()})


@require_GET
def statistics_export(request):
    """The statistics page's tables as a workbook, one sheet per table."""
    return _xlsx_response(statistics.statistics_workbook(), "archive-statistics.xlsx")
