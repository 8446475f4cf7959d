"""What `make run` sets up: the sandbox connections and the two logins, the partner
admin able to add connections in the app (staff), finance not."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from invoices.demo import demo_setup
from invoices.models import Access, Connection, Role

pytestmark = pytest.mark.django_db


def test_the_demo_logins_have_their_roles_and_the_partner_admin_may_add_connections(
    sandbox, tmp_path, monkeypatch
):
    monkeypatch.setenv("DEMO_LOGINS_FILE", str(tmp_path / "logins.json"))

    logins = demo_setup(app=sandbox.app, sandbox_url=sandbox.url)

    users = get_user_model().objects.in_bulk(
        [login.username for login in logins], field_name="username"
    )
    assert users["demo"].is_staff and not users["demo"].is_superuser
    assert not users["finance"].is_staff
    assert (
        Access.objects.filter(user=users["demo"], role=Role.PARTNER_ADMIN).count()
        == Connection.objects.count()
        == 3
    )
    assert Access.objects.filter(user=users["finance"], role=Role.FINANCE).count() == 2
    for login in logins:
        assert users[login.username].check_password(login.password)
