"""/healthz: open to all (load balancers, monitoring), says whether the database answers."""

import pytest
from django.db import OperationalError
from django.test import Client

from ops import health


@pytest.mark.django_db
def test_healthz_reports_the_database_reachable():
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert "no-cache" in response["Cache-Control"]


class _Down:
    def __getitem__(self, alias):
        return self

    def cursor(self):
        raise OperationalError("connection refused")


def test_healthz_is_503_when_the_database_is_down(monkeypatch):
    monkeypatch.setattr(health, "connections", _Down())
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "unreachable"}


@pytest.mark.django_db
def test_healthz_is_not_redirected_to_https(settings):
    settings.SECURE_SSL_REDIRECT = True
    assert Client().get("/healthz").status_code == 200
    assert Client().get("/accounts/login/").status_code == 301
