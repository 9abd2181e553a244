"""The gateway's own texts (errors, referrals) in the request's language: every message catalog under
open311/locale is complete, keeps its placeholders, and is what a request in that language gets."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask.testing import FlaskClient

from open311.core import i18n
from tests.conftest import ROOT

B = "/open311/v2"
LOCALES = [loc for loc in i18n.available() if loc != "en"]
PASADENA = {"lat": "34.1478", "long": "-118.1445"}   # a city: the County's road services refer it


def test_every_threshold_language_has_a_server_catalog() -> None:
    from tests.unit.test_translations import THRESHOLD

    assert set(LOCALES) == set(THRESHOLD)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_text_is_translated_and_keeps_its_placeholders(locale: str) -> None:
    path = i18n.FOLDER / locale.replace("-", "_") / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as stream:
        catalog = read_po(stream)
    untranslated = [m.id for m in catalog if m.id and not m.string]
    assert untranslated == [], untranslated[:5]
    assert [(m.id, e) for m, errors in catalog.check() for e in errors] == []


def test_make_messages_check_passes_on_the_shipped_catalogs() -> None:
    done = subprocess.run([sys.executable, "-m", "open311.cli.messages_check", str(i18n.FOLDER)],
                          capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stdout
    assert "es: 1" in done.stdout   # one line per language with its count


@pytest.mark.parametrize("locale", LOCALES)
def test_an_error_is_in_the_language_asked_for(client: FlaskClient, api_key: str, locale: str) -> None:
    form = {"api_key": api_key, "lat": "34.0389", "long": "-118.165"}
    english = client.post(f"{B}/requests.json", data=form).json
    by_param = client.post(f"{B}/requests.json?locale={locale}", data=form).json
    wanted = {"Accept-Language": f"{locale};q=0.9,en;q=0.1"}
    by_header = client.post(f"{B}/requests.json", data=form, headers=wanted).json
    assert english[0]["description"] == "service_code was not provided."
    with i18n.using(locale):
        expected = i18n.gettext("service_code was not provided.")
    assert expected != english[0]["description"]
    assert by_param[0]["description"] == by_header[0]["description"] == expected


@pytest.mark.parametrize("locale", ["es", "ar", "zh-Hans"])
def test_a_referral_names_the_agency_in_the_language(client: FlaskClient, locale: str) -> None:
    check = client.get(f"{B}/areas/DPW-POTHOLE/check.json", query_string={**PASADENA, "locale": locale}).json
    english = client.get(f"{B}/areas/DPW-POTHOLE/check.json", query_string=PASADENA).json
    assert check["served"] is False and english["served"] is False
    assert check["referral"]["agency"] != english["referral"]["agency"]
    assert check["referral"]["phone"] == english["referral"]["phone"]
    assert check["description"] != english["description"] and "DPW-POTHOLE" in check["description"]


def test_a_lost_placeholder_fails_the_check(tmp_path: Path) -> None:
    from open311.cli.messages_check import check, check_interface

    server = tmp_path / "locale"
    shutil.copytree(i18n.FOLDER, server, ignore=shutil.ignore_patterns("*.mo"))
    po = server / "es" / "LC_MESSAGES" / "messages.po"
    po.write_text(po.read_text(encoding="utf-8").replace('msgstr "No se encontró el service_code %(code)r."',
                                                         'msgstr "No se encontró el service_code."'), encoding="utf-8")
    assert check(server) == 1 and check(i18n.FOLDER) == 0
    webapp = tmp_path / "webapp"
    shutil.copytree(ROOT / "webapp" / "public" / "i18n", webapp / "public" / "i18n")
    shutil.copytree(ROOT / "webapp" / "locale", webapp / "locale")
    assert check_interface(webapp) == 0
    po = webapp / "locale" / "es" / "LC_MESSAGES" / "webapp.po"
    text = po.read_text(encoding="utf-8")
    assert 'msgstr "{count} categorías"' in text
    po.write_text(text.replace('msgstr "{count} categorías"', 'msgstr "categorías"'), encoding="utf-8")  # {count} lost
    assert check_interface(webapp) == 1


@pytest.mark.parametrize("locale", LOCALES)
def test_the_web_app_s_texts_come_from_its_catalog(client: FlaskClient, locale: str) -> None:
    english = client.get("/assets/i18n/en.json").json
    served = client.get(f"/assets/i18n/{locale}.json")
    assert served.status_code == 200 and served.headers["Cache-Control"] == "no-cache" and served.headers["ETag"]
    texts = served.json
    assert texts.keys() == english.keys() and texts["request"].keys() >= english["request"].keys()
    assert texts["request"]["title"] != english["request"]["title"]          # translated, not the English
    again = client.get(f"/assets/i18n/{locale}.json", headers={"If-None-Match": served.headers["ETag"]})
    assert again.status_code == 304
    if locale == "ru":
        assert "countFew" in texts["request"] and "countMany" in texts["request"]


def test_a_language_without_a_catalog_is_a_404(client: FlaskClient) -> None:
    assert client.get("/assets/i18n/fr.json").status_code == 404
