from django.urls import path

from . import views_inbox

urlpatterns = [
    path("inbox/", views_inbox.inbox, name="inbox"),
    path("inbox/<int:pk>/", views_inbox.inbox_detail, name="inbox-detail"),
    path("inbox/read-all/", views_inbox.inbox_mark_all_read, name="inbox-read-all"),
    path("inbox/language/", views_inbox.mail_language, name="mail-language"),
]
