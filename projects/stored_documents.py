"""Where built documents are kept: one ``ProjectDocument`` per project and kind."""

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from .models import Project, ProjectDocument


def store_document(project, kind, data):
    """Store ``data`` as the project's document of ``kind``, replacing an older build.

    Two builds of one project may run at once (two workers, or a page building what a
    worker is building). With no row yet there is nothing for them to lock, and both
    would insert one; so the project's row is locked first and they take turns, the
    second replacing the first. The old file goes only once the new row is committed.
    """
    with transaction.atomic():
        Project.objects.select_for_update().filter(pk=project.pk).values_list("pk", flat=True).first()
        document = ProjectDocument.objects.filter(project=project, kind=kind).first()
        old_name = document.file.name if document else None
        document = document or ProjectDocument(project=project, kind=kind)
        document.built_at = timezone.now()
        document.file.save(f"{project.pk}-{kind}.docx", ContentFile(data), save=False)
        document.save()
        if old_name and old_name != document.file.name:
            storage = document.file.storage
            transaction.on_commit(lambda: storage.delete(old_name))
    return document
