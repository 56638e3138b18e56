from django.urls import path

from evaluations import project_views, views
from evaluations.documents import views as document_views
from evaluations.spreadsheets import views as spreadsheet_views

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
    # Projects in the unit's package (issue 16)
    path("<int:pk>/projects/", project_views.project_list, name="projects"),
    path("<int:pk>/projects/add/", project_views.project_add, name="project_add"),
    path("<int:pk>/projects/import/", spreadsheet_views.import_projects, name="projects_import"),
    path("<int:pk>/projects.xlsx", spreadsheet_views.projects_workbook, name="projects_workbook"),
    path("projects/<int:project_pk>/", project_views.project_detail, name="project"),
    path("projects/<int:project_pk>/edit/", project_views.project_edit, name="project_edit"),
    path("projects/<int:project_pk>/edit/preview/", project_views.project_preview, name="project_preview"),
    path("projects/<int:project_pk>/delete/", project_views.project_delete, name="project_delete"),
    path("projects/<int:project_pk>/comments/", project_views.project_comment_add, name="project_comment_add"),
    path("projects/<int:project_pk>/document/", document_views.project_document, name="project_document"),
    path("projects/<int:project_pk>/document.pdf", document_views.project_pdf, name="project_pdf"),
    path("projects/<int:project_pk>/document.docx", document_views.project_docx, name="project_docx"),
    path("projects/<int:project_pk>/archive/<int:archive_pk>.pdf", document_views.archived_project_document,
         name="archived_project_document"),
    path("projects/<int:project_pk>/document.xlsx", spreadsheet_views.project_workbook, name="project_xlsx"),
]
