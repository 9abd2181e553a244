"""Catalog translations (i18n/<locale>.yaml): applied field by field, checked against the catalog, gaps
served in English and reported by check-config."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from open311.cli import main
from open311.config.jurisdictions import load_config
from open311.errors import ConfigError

JURISDICTIONS = """\
jurisdictions:
  t.example:
    name: Town
    service_definitions: defs
    departments:
      PW: {name: Works, adapter: filedrop, options: {directory: "%s"}}
"""
HOLE = """\
service_code: HOLE
service_name: Pothole
description: A hole in the road.
department: PW
group: Roads
keywords: [pothole, hole]
service_notice: Fixed within a week.
attributes:
  - {code: size, datatype: singlevaluelist, required: true, order: 1, description: How wide?,
     values: [{key: small, name: Small}, {key: large, name: Large}]}
  - {code: count, datatype: number, required: false, order: 2, description: How many?,
     datatype_description: Whole number}
"""
LAMP = """\
service_code: LAMP
service_name: Street light out
description: A street light is out.
department: PW
group: Roads
"""
COMPLETE = """\
groups:
  Roads: Calles
services:
  HOLE:
    service_name: Bache
    description: Un hoyo en la calle.
    keywords: [bache, hoyo]
    service_notice: Se repara en una semana.
    attributes:
      size:
        description: ¿Qué tan ancho?
        values: {small: Pequeño, large: Grande}
      count:
        description: ¿Cuántos?
        datatype_description: Número entero
  LAMP:
    service_name: Luz de la calle apagada
    description: Una luz de la calle está apagada.
texts:
  Town: Pueblo
  Works: Obras
"""
THRESHOLD = ("ar", "es", "fa", "hi", "hy", "ja", "km", "ko", "ru", "th", "tl", "vi", "zh-Hans", "zh-Hant")


def make(tmp_path: Path, translation: str | None, name: str = "es.yaml") -> Path:
    """A one-jurisdiction configuration with two services and the given translation file."""
    defs = tmp_path / "defs"
    (defs / "i18n").mkdir(parents=True, exist_ok=True)
    (defs / "HOLE.yaml").write_text(HOLE)
    (defs / "LAMP.yaml").write_text(LAMP)
    if translation is not None:
        (defs / "i18n" / name).write_text(translation, encoding="utf-8")
    config = tmp_path / "jurisdictions.yaml"
    config.write_text(JURISDICTIONS % (tmp_path / "intake"))
    return config


def problems_of(tmp_path: Path, translation: str, name: str = "es.yaml") -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(make(tmp_path, translation, name))
    return caught.value.problems


def test_a_complete_translation_replaces_every_text_and_nothing_else(tmp_path: Path) -> None:
    catalog = load_config(make(tmp_path, COMPLETE)).jurisdictions["t.example"].catalog
    assert catalog.locales == ("en", "es") and catalog.untranslated == ()
    hole, english = catalog.services_in("es")["HOLE"], catalog.services["HOLE"]
    assert (hole.service_name, hole.group, hole.keywords, hole.service_notice) == (
        "Bache", "Calles", ("bache", "hoyo"), "Se repara en una semana.")
    assert [(v.key, v.name) for v in hole.attributes[0].values] == [("small", "Pequeño"), ("large", "Grande")]
    assert hole.attributes[1].datatype_description == "Número entero"
    assert (hole.service_code, hole.department, hole.type, hole.expected_response, hole.service_area) == (
        english.service_code, english.department, english.type, english.expected_response, english.service_area)
    assert [(a.code, a.datatype, a.required, a.order) for a in hole.attributes] == \
        [(a.code, a.datatype, a.required, a.order) for a in english.attributes]
    assert catalog.services_in("en") is catalog.services and catalog.services_in("fr") is catalog.services
    without = load_config(make(tmp_path / "plain", None)).jurisdictions["t.example"].catalog
    assert without.fingerprint != catalog.fingerprint     # translations change the changeset too


def test_missing_texts_are_gaps_served_in_english(tmp_path: Path) -> None:
    partial = COMPLETE.replace("    service_notice: Se repara en una semana.\n", "").replace(
        "  LAMP:\n    service_name: Luz de la calle apagada\n    description: Una luz de la calle está apagada.\n", "")
    catalog = load_config(make(tmp_path, partial.replace("large: Grande", "large: null"))).jurisdictions[
        "t.example"].catalog
    gaps = catalog.untranslated
    assert any(g.endswith("services.HOLE.service_notice: not translated (English: 'Fixed within a week.').")
               for g in gaps), gaps
    assert any("services.LAMP: service not translated ('Street light out' is served in English)." in g for g in gaps)
    assert any("services.HOLE.attributes.size.values.large: not translated" in g for g in gaps)
    spanish = catalog.services_in("es")
    assert spanish["HOLE"].service_notice == "Fixed within a week."
    assert spanish["LAMP"].service_name == "Street light out" and spanish["LAMP"].group == "Calles"


@pytest.mark.parametrize(("change", "expected"), [
    (("  HOLE:\n", "  HOLES:\n    service_name: X\n  HOLE:\n"), "services.HOLES: Unknown service_code 'HOLES'"),
    (("      count:\n", "      colour:\n        description: Color\n      count:\n"),
     "services.HOLE.attributes.colour: Unknown attribute code 'colour' for this service."),
    (("large: Grande", "large: Grande, huge: Enorme"),
     "services.HOLE.attributes.size.values.huge: Unknown value key 'huge' for this attribute."),
    (("  Roads: Calles\n", "  Roads: Calles\n  Parks: Parques\n"),
     "groups.Parks: Unknown group 'Parks': no service of the catalog has it."),
    (("    keywords: [bache, hoyo]\n", "    keyword: [bache]\n"), "services.HOLE.keyword: Unknown key (typo?)"),
    (("    description: Una luz de la calle está apagada.\n",
      "    description: Una luz de la calle está apagada.\n    service_notice: Aviso.\n"),
     "services.LAMP.service_notice: The English catalog has no such text; remove this key."),
    (("service_name: Bache", "service_name: ' Bache'"), "services.HOLE.service_name: Must not start or end with"),
    (("service_name: Bache", "service_name: 12"), "services.HOLE.service_name: Must be a string; quote the value 12."),
    (("keywords: [bache, hoyo]", "keywords: [bache, 'hoyo, zanja']"), "contains a comma"),
    (("service_name: Luz de la calle apagada", "service_name: bache"),
     "services.LAMP.service_name: Duplicate service_name 'bache' (also HOLE)."),
    (("large: Grande", "large: pequeño"), "Duplicate value name 'pequeño'"),
])
def test_wrong_keys_and_texts_are_problems_with_file_and_line(tmp_path: Path, change: tuple[str, str],
                                                              expected: str) -> None:
    assert change[0] in COMPLETE
    problems = problems_of(tmp_path, COMPLETE.replace(change[0], change[1], 1))
    assert any(expected in p and "i18n/es.yaml:" in p for p in problems), problems


@pytest.mark.parametrize("name", ["en.yaml", "spanish.yaml", "zh-hant.yaml", "zh_Hant.yaml"])
def test_the_file_name_is_the_language(tmp_path: Path, name: str) -> None:
    assert any("must be a two- or three-letter language code" in p for p in problems_of(tmp_path, COMPLETE, name))


def test_check_config_lists_the_languages_and_warns_about_gaps(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    config = make(tmp_path, COMPLETE.replace("    service_notice: Se repara en una semana.\n", ""))
    monkeypatch.setenv("OPEN311_INTAKE_DIR", str(tmp_path / "intake"))
    result = CliRunner().invoke(main, ["check-config", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "t.example: catalog languages en, es (1 texts not translated yet)" in result.stdout
    assert "warning: " in result.stderr and "services.HOLE.service_notice: not translated" in result.stderr


def test_the_shipped_catalog_is_complete_in_every_threshold_language() -> None:
    from tests.conftest import ROOT

    jurisdiction = load_config(ROOT / "jurisdictions.yaml").jurisdictions["lacounty.gov"]
    catalog = jurisdiction.catalog
    assert catalog.locales == ("en", *THRESHOLD)
    assert catalog.untranslated == (), "\n".join(catalog.untranslated[:20])
    for locale in THRESHOLD:
        translated = catalog.services_in(locale)
        assert len(translated) == len(catalog.services) == 81
        same = [code for code, s in translated.items() if s.service_name == catalog.services[code].service_name]
        assert same == [], (locale, same)   # every name really is translated
        statuses = catalog.statuses[locale]
        # every text of the English catalog has a status, and none is missing: all are machine drafts for now
        assert set(statuses.values()) == {"machine"}, (locale, sorted(set(statuses.values())))
        assert catalog.text(jurisdiction.name, locale) != jurisdiction.name
        assert all(catalog.text(d.name, locale) != d.name for d in jurisdiction.departments.values())


def test_every_text_has_a_status_and_reviewed_ones_are_marked(tmp_path: Path) -> None:
    partial = COMPLETE.replace("    service_notice: Se repara en una semana.\n", "")
    marked = "reviewed: [services.HOLE.service_name, texts.Town]\n" + partial
    catalog = load_config(make(tmp_path, marked)).jurisdictions["t.example"].catalog
    statuses = catalog.statuses["es"]
    assert statuses["services.HOLE.service_name"] == "reviewed" and statuses["texts.Town"] == "reviewed"
    assert statuses["services.HOLE.description"] == "machine"
    assert statuses["services.HOLE.service_notice"] == "missing"
    assert statuses["services.HOLE.attributes.size.values.large"] == "machine"
    assert catalog.status_of("es", "services.HOLE.")["keywords"] == "machine"
    whole = load_config(make(tmp_path, "status: reviewed\n" + partial)).jurisdictions["t.example"].catalog
    assert set(whole.statuses["es"].values()) == {"reviewed", "missing"}
    assert catalog.text("Town", "es") == "Pueblo" and catalog.text("Town", "fr") == "Town"


@pytest.mark.parametrize(("prefix", "expected"), [
    ("status: done\n", "status: Must be machine (drafts awaiting review) or reviewed."),
    ("reviewed: [services.NOPE.service_name]\n", "'services.NOPE.service_name' is not the key path of a text"),
    ("", "texts.Village: Not a text of the jurisdiction"),
])
def test_status_and_own_texts_are_checked(tmp_path: Path, prefix: str, expected: str) -> None:
    text = prefix + COMPLETE + ("  Village: Aldea\n" if not prefix else "")
    assert any(expected in p for p in problems_of(tmp_path, text)), problems_of(tmp_path, text)


def test_a_language_written_in_two_scripts_names_its_script(tmp_path: Path) -> None:
    catalog = load_config(make(tmp_path, COMPLETE, "zh-Hant.yaml")).jurisdictions["t.example"].catalog
    assert catalog.locales == ("en", "zh-Hant")


def test_a_broken_service_file_is_not_echoed_by_its_translation(tmp_path: Path) -> None:
    config = make(tmp_path, COMPLETE)
    hole = tmp_path / "defs" / "HOLE.yaml"
    hole.write_text(hole.read_text().replace("required: true", "required: yes"))
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert caught.value.problems and not any("i18n" in p for p in caught.value.problems), caught.value.problems
