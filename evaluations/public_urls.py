from django.urls import path

from evaluations import public_views

app_name = "public"

urlpatterns = [
    path("", public_views.public_list, name="list"),
    path("<int:pk>/", public_views.public_document, name="document"),
    path("<int:pk>/document.pdf", public_views.public_pdf, name="pdf"),
    path("<int:pk>/table/", public_views.public_table, name="table"),
    path("<int:pk>/projects/", public_views.public_projects, name="projects"),
    path("projects/<int:project_pk>/", public_views.public_project, name="project"),
]
