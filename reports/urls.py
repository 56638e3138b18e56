from django.urls import path

from evaluations.spreadsheets import views as spreadsheet_views
from reports import views

app_name = "reports"

urlpatterns = [
    path("exports/", views.export_list, name="export_list"),
    path("exports/summary/", views.start_summary_export, name="start_summary"),
    path("exports/documents/", views.start_documents_export, name="start_documents"),
    path("exports/report/", views.start_report, name="start_report"),
    path("exports/<uuid:pk>/", views.export_detail, name="export_detail"),
    path("exports/<uuid:pk>/download/", views.export_download, name="export_download"),
    path("evaluations/<int:pk>/official.xlsx", spreadsheet_views.official_workbook, name="official_workbook"),
    path("import/official/", spreadsheet_views.import_official, name="import_official"),
]
