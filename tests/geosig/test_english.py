"""With the English language cookie, server-made text is English: a representative sample."""
import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def en_client(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def test_shell_and_explorer_strings(en_client):
    html = en_client.get("/").content.decode()
    assert "</span>Menu</button>" in html
    assert "Municipalities found" in html and "e.g. Buga, Tuluá" in html
    assert "Menú" not in html


def test_api_errors_and_error_pages(en_client):
    r = en_client.get("/api/v1/nope/")
    assert r.status_code == 404 and r.json()["detail"] == "No such API resource: /api/v1/nope/"
    r = en_client.get("/nope/")
    assert r.status_code == 404 and "Page not found" in r.content.decode()

