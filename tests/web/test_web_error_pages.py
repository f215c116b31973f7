"""A missing page and a server error answer in the site's layout, with DEBUG off."""

import pytest
from django.test import Client, override_settings

import web.views.use_case_list

pytestmark = pytest.mark.django_db


@override_settings(DEBUG=False)
def test_a_missing_page_is_the_sites_404(program_office_user):
    client = Client()
    client.force_login(program_office_user)
    response = client.get("/no-such-page/")
    page = response.content.decode()
    assert response.status_code == 404
    assert "Not found" in page and 'class="topbar"' in page and "Use cases" in page  # the layout, its navigation


@override_settings(DEBUG=False)
def test_an_unexpected_error_is_the_sites_500(program_office_user, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(web.views.use_case_list, "paged_use_case_list", broken)
    client = Client(raise_request_exception=False)
    client.force_login(program_office_user)
    response = client.get("/use-cases/")
    page = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong" in page and 'class="topbar"' in page and "a bug" not in page
