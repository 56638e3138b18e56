"""Fixtures every test file may use: the demo (化龙镇 2024, loaded as `manage.py load_demo` does) and the shared cast
of people around one town's evaluation; helpers to build more are in tests/factories.py."""

from types import SimpleNamespace

import pytest

from evaluations import access
from evaluations.models import Evaluation
from tests.factories import FAST_PASSWORD_HASHERS, load_demo, make_evaluation, make_unit, make_user


@pytest.fixture
def demo(db, settings):
    settings.DEBUG = True
    load_demo()
    return Evaluation.objects.get(unit__code="440113-HLZ", framework__year=2024)


@pytest.fixture
def cast(db):
    """A town under a district, its evaluation (scored in full, a draft), its filler, the district's reviewer, a
    reviewer of another district and an admin."""
    district = make_unit("广州市番禺区人民政府")
    town = make_unit("广州市番禺区化龙镇人民政府", parent=district)
    evaluation = make_evaluation(unit=town)
    filler = make_user(access.FILLER, units=[town], username="filler")
    filler.email = "filler@example.invalid"
    filler.save()
    reviewer = make_user(access.REVIEWER, charge=district, username="reviewer")
    reviewer.email = "reviewer@example.invalid"
    reviewer.save()
    other_reviewer = make_user(access.REVIEWER, charge=make_unit("别的区"), username="other")
    other_reviewer.email = "other@example.invalid"
    other_reviewer.save()
    admin = make_user(access.ADMIN, username="admin")
    return SimpleNamespace(evaluation=evaluation, filler=filler, reviewer=reviewer, other=other_reviewer,
                           admin=admin, town=town, district=district)


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = FAST_PASSWORD_HASHERS


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
