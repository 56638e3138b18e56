"""Reports read from the replica when one is configured (ops.routers); everything else stays on the primary."""

import pytest
from django.conf import settings
from django.test import override_settings

from evaluations.models import Evaluation, IndicatorResult
from ops import routers
from ops.routers import ReplicaRouter, reading_from_replica
from reports import tasks
from reports.models import ExportJob
from tests.factories import make_evaluation, make_user


def test_with_a_replica_only_reports_reads_go_there(monkeypatch):
    monkeypatch.setitem(settings.DATABASES, "replica", {**settings.DATABASES["default"]})  # as DATABASE_REPLICA_URL does
    router = ReplicaRouter()
    assert router.db_for_read(Evaluation) is None  # an edit page, a list: the primary
    with reading_from_replica():
        assert router.db_for_read(Evaluation) == "replica"
        assert router.db_for_read(IndicatorResult) == "replica"
        assert router.db_for_read(ExportJob) is None  # the job's own row: the primary
        assert router.db_for_write(Evaluation) == "default"
    assert router.db_for_read(Evaluation) is None
    assert router.allow_migrate("default", "evaluations") and not router.allow_migrate("replica", "evaluations")


def test_without_a_replica_nothing_changes():
    assert "replica" not in settings.DATABASES
    with reading_from_replica():
        assert ReplicaRouter().db_for_read(Evaluation) is None


class Recording(ReplicaRouter):
    reads = []

    def db_for_read(self, model, **hints):
        self.reads.append((model._meta.label, routers._reading.get()))
        return super().db_for_read(model, **hints)


@pytest.mark.django_db
def test_the_summary_export_reads_what_it_reports_inside_the_replica_context(tmp_path):
    evaluation = make_evaluation()
    admin = make_user("管理员")
    job = ExportJob.objects.create(kind=ExportJob.Kind.SUMMARY, year=evaluation.year, requested_by=admin)
    Recording.reads = []
    with override_settings(DATABASE_ROUTERS=["tests.test_replica_router.Recording"], EXPORT_ROOT=tmp_path):
        assert tasks.run_export.call(str(job.pk)) == 1
    inside = {label for label, replica in Recording.reads if replica}
    assert {"evaluations.Framework", "evaluations.Unit", "evaluations.IndicatorResult"} <= inside  # the report
    assert ("reports.ExportJob", True) not in Recording.reads
