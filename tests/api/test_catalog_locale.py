"""The catalog in Spanish: `locale` or Accept-Language on services, definitions, the services at a point
and POST's service_notice; same document shape, Vary and Content-Language set."""

from __future__ import annotations

import pytest
import yaml
from flask.testing import FlaskClient

from tests.conftest import ROOT
from tests.helpers import GRAFFITI, errors_of, json_of, xml_of

ES = yaml.safe_load((ROOT / "service_definitions" / "lacounty.gov" / "i18n" / "es.yaml").read_text(encoding="utf-8"))
B = "/open311/v2"


def test_services_in_spanish_by_parameter_and_by_header(client: FlaskClient) -> None:
    english = json_of(client.get(f"{B}/services.json"))
    by_param = client.get(f"{B}/services.json?locale=es")
    by_header = client.get(f"{B}/services.json", headers={"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"})
    for response in (by_param, by_header):
        assert response.headers["Content-Language"] == "es"
        assert "Accept-Language" in response.headers["Vary"]
        spanish = json_of(response)
        assert [s["service_code"] for s in spanish] == [s["service_code"] for s in english]
        assert all(list(s) == list(e) for s, e in zip(spanish, english, strict=True))   # same shape
        graffiti = next(s for s in spanish if s["service_code"] == "DPW-GRAFFITI")
        assert graffiti["service_name"] == ES["services"]["DPW-GRAFFITI"]["service_name"]
        assert graffiti["group"] == ES["groups"]["Graffiti & Illegal Dumping"]
        assert graffiti["keywords"] == ", ".join(ES["services"]["DPW-GRAFFITI"]["keywords"])
        assert graffiti["metadata"] is True and graffiti["type"] == "realtime"
    english_again = client.get(f"{B}/services.json", headers={"Accept-Language": "fr, en;q=0.1"})
    assert json_of(english_again) == english and english_again.headers["Content-Language"] == "en"
    assert "Accept-Language" in english_again.headers["Vary"]


def test_definition_in_spanish_keeps_codes_and_keys(client: FlaskClient) -> None:
    english = json_of(client.get(f"{B}/services/DPW-GRAFFITI.json"))
    spanish = json_of(client.get(f"{B}/services/DPW-GRAFFITI.json?locale=es_US"))
    texts = ES["services"]["DPW-GRAFFITI"]["attributes"]
    assert [a["code"] for a in spanish["attributes"]] == [a["code"] for a in english["attributes"]]
    for attr, original in zip(spanish["attributes"], english["attributes"], strict=True):
        assert attr["description"] == texts[attr["code"]]["description"]
        assert [v["key"] for v in attr["values"]] == [v["key"] for v in original["values"]]
        assert [v["name"] for v in attr["values"]] == [texts[attr["code"]]["values"][v["key"]] for v in attr["values"]]
        assert {k: v for k, v in attr.items() if k not in ("description", "values", "datatype_description")} == \
            {k: v for k, v in original.items() if k not in ("description", "values", "datatype_description")}
    root = xml_of(client.get(f"{B}/services/DPW-GRAFFITI.xml", headers={"Accept-Language": "es"}))
    assert root.findtext("attributes/attribute/description") == texts["surface_type"]["description"]


def test_services_at_a_point_in_spanish(client: FlaskClient) -> None:
    here = json_of(client.get(f"{B}/services.json?lat=34.0239&long=-118.1720&locale=es"))
    names = {s["service_code"]: s["service_name"] for s in here}
    assert names["DPW-POTHOLE"] == "Bache"


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_an_unknown_locale_is_a_400_naming_the_available_ones(client: FlaskClient, fmt: str) -> None:
    response = client.get(f"{B}/services.{fmt}?locale=fr")
    available = "en, ar, es, fa, hi, hy, ja, km, ko, ru, th, tl, vi, zh-Hans, zh-Hant"
    assert errors_of(response, fmt) == [(400, f"locale 'fr' is not available; available: {available}.")]


@pytest.mark.parametrize(("tag", "locale"), [("zh-TW", "zh-Hant"), ("zh-CN", "zh-Hans"), ("fil", "tl"),
                                             ("es-MX", "es"), ("ar-EG", "ar")])
def test_a_language_tag_names_its_catalog(client: FlaskClient, tag: str, locale: str) -> None:
    by_param = client.get(f"{B}/services.json?locale={tag}")
    by_header = client.get(f"{B}/services.json", headers={"Accept-Language": f"{tag},en;q=0.5"})
    assert by_param.headers["Content-Language"] == by_header.headers["Content-Language"] == locale


@pytest.mark.parametrize("locale", ["en", "es", "ar", "zh-Hans", "ru"])
def test_the_catalog_extensions_carry_each_service_s_translation_status(client: FlaskClient, locale: str) -> None:
    found = client.get(f"{B}/services.json?extensions=true&locale={locale}").json
    assert len(found) == 81
    pothole = next(s for s in found if s["service_code"] == "DPW-POTHOLE")["extensions"]
    assert pothole["department"] == "DPW"
    if locale == "en":
        assert pothole["translation"] == {"locale": "en", "status": "source", "texts": {}}
        assert pothole["agency_responsible"] == "Public Works"
    else:
        assert pothole["translation"]["locale"] == locale and pothole["translation"]["status"] == "machine"
        assert pothole["translation"]["texts"]["service_name"] == "machine"
        assert pothole["agency_responsible"] != "Public Works"
    plain = client.get(f"{B}/services.json?locale={locale}").json
    assert "extensions" not in plain[0]


def test_post_answers_the_notice_in_the_requests_language(client: FlaskClient, api_key: str) -> None:
    english = json_of(client.post(f"{B}/requests.json", data={**GRAFFITI, "api_key": api_key}))[0]
    spanish = client.post(f"{B}/requests.json?locale=es", data={**GRAFFITI, "api_key": api_key,
                                                                 "description": "otra pinta"})
    assert spanish.headers["Content-Language"] == "es"
    assert json_of(spanish)[0]["service_notice"] == ES["services"]["DPW-GRAFFITI"]["service_notice"]
    assert english["service_notice"].startswith("Street graffiti is removed")
    # the record keeps the catalog's own language
    stored = json_of(client.get(f"{B}/requests/{json_of(spanish)[0]['service_request_id']}.json"))[0]
    assert stored["service_notice"] == english["service_notice"] and stored["service_name"] == "Graffiti Abatement"


def test_a_bad_locale_stores_nothing(client: FlaskClient, api_key: str) -> None:
    response = client.post(f"{B}/requests.json?locale=xx", data={**GRAFFITI, "api_key": api_key})
    assert response.status_code == 400
    assert json_of(client.get(f"{B}/requests.json")) == []


def test_every_service_has_its_spanish_texts() -> None:
    """The shipped translation covers the whole catalog (check-config would warn otherwise)."""
    codes = {p.stem for p in (ROOT / "service_definitions" / "lacounty.gov").glob("*.yaml")}
    assert set(ES["services"]) == codes
