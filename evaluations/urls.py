from django.urls import path

from evaluations import views
from evaluations.documents import views as document_views

app_name = "evaluations"

urlpatterns = [
    path("", views.evaluation_list, name="list"),
    path("start/", views.evaluation_start, name="start"),
    path("tasks/", views.task_list, name="tasks"),
    path("queue/", views.review_queue, name="queue"),
    path("overview/", views.overview, name="overview"),
    path("<int:pk>/", views.evaluation_detail, name="detail"),
    path("<int:pk>/edit/", views.evaluation_edit, name="edit"),
    path("<int:pk>/edit/preview/", views.evaluation_preview, name="preview"),
    path("<int:pk>/edit/rows/<int:row_pk>/detail/", views.row_detail, name="row_detail"),
    path("<int:pk>/edit/rows/<int:row_pk>/definition/", views.row_definition, name="row_definition"),
    path("<int:pk>/review/", views.evaluation_review, name="review"),
    path("<int:pk>/history/", views.evaluation_history, name="history"),
    path("<int:pk>/archive/<int:archive_pk>.pdf", document_views.archived_document, name="archived_document"),
    path("<int:pk>/publish/", views.evaluation_publish, name="publish"),
    path("<int:pk>/unpublish/", views.evaluation_publish, {"unpublish": True}, name="unpublish"),
    path("<int:pk>/document/", document_views.evaluation_document, name="document"),
    path("<int:pk>/document.pdf", document_views.evaluation_pdf, name="document_pdf"),
    path("<int:pk>/document.docx", document_views.evaluation_docx, name="document_docx"),
    path("<int:pk>/actions/<str:action>/", views.evaluation_transition, name="transition"),
    path("<int:pk>/comments/", views.comment_add, name="comment_add"),
    path("<int:pk>/evidence/", views.evidence_upload, name="evidence_upload"),
    path("<int:pk>/evidence/<int:evidence_pk>/", views.evidence_download, name="evidence_download"),
    path("<int:pk>/evidence/<int:evidence_pk>/delete/", views.evidence_delete, name="evidence_delete"),
    path("<int:pk>/comments/<int:comment_pk>/answer/", views.comment_answer, name="comment_answer"),
]
