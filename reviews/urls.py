"""URLs of the review app, one module per area; each module writes its full paths.

urls_pool      /secretariat/experts/…        expert pool, Excel import/export, invitations
urls_conflicts /secretariat/conflicts/…, /projects/<pk>/avoid/   回避
urls_rounds    /secretariat/rounds/…         rounds, assignment runs, hand edits, opening, closing
urls_reminders /secretariat/rounds/<pk>/late/…, /secretariat/experts/<pk>/timeliness/
urls_expert    /review/…                     the expert's side (token URLs)
urls_ranking   /ranking/…                    aggregation and ranking (secretariat, committee)
urls_meetings  /meetings/…                   the committee meeting: votes, staged decisions, release
"""

from django.urls import include, path

urlpatterns = [
    path("", include("reviews.urls_pool")),
    path("", include("reviews.urls_conflicts")),
    path("", include("reviews.urls_rounds")),
    path("", include("reviews.urls_reminders")),
    path("", include("reviews.urls_expert")),
    path("", include("reviews.urls_ranking")),
    path("", include("reviews.urls_meetings")),
]
