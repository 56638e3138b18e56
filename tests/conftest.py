import io

import pytest
from django.core.management import call_command


@pytest.fixture
def demo(db, settings):
    settings.DEBUG = True
    call_command("load_demo", stdout=io.StringIO())
    from evaluations.models import Evaluation

    return Evaluation.objects.get(unit__code="440113-HLZ", framework__year=2024)


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def archive_only_where_tested(request, settings):
    """Rendering the PDF at every approval costs about a second; tests that check the archive ask for it."""
    settings.ARCHIVE_APPROVED_DOCUMENTS = "archive" in request.keywords


@pytest.fixture(autouse=True)
def rendered_files_in_tmp(settings, tmp_path_factory):
    """Rendered and archived PDFs and the render locks go to the session's temporary folder, not var/."""
    base = tmp_path_factory.getbasetemp()
    settings.MEDIA_ROOT = base / "media"
    settings.PDF_RENDER_LOCK_DIR = base / "locks"
