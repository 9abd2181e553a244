"""The Addition of an SLA event as each built-in adapter words it: kind, key, JSON, summary, e-mail subject."""

from __future__ import annotations

import requests

from open311.adapter import Addition, Ticket, load_adapter_class, validate_options
from open311_adapters.smtp_ticket import EmailAdapter

TICKET = Ticket(service_request_id="41", jurisdiction_id="lacounty.gov", department="DPW", service_code="DPW-GRAFFITI",
                service_name="Graffiti Abatement", backoffice_code=None, description="Tags on the wall",
                requested_datetime="2026-03-27T22:00:00Z", lat=34.02, long=-118.17, address=None, address_id=None,
                zipcode=None, attributes={})


def sla(state: str) -> Addition:
    return Addition(ticket=TICKET, follower_id="9", external_id="BO-41", created_datetime="2026-04-01T18:30:00Z",
                    description=f"The response time of this request is {state}.",
                    attributes={"sla_state": state, "expected_datetime": "2026-04-01T22:00:00Z"}, kind=f"sla_{state}")


def test_an_sla_addition_names_itself_everywhere() -> None:
    breached = sla("breached")
    assert breached.sla and not breached.reopen
    assert breached.idempotency_key == "lacounty.gov:41:sla_breached:9"
    data = breached.to_json()
    assert list(data)[:2] == ["kind", "sla_event_id"] and (data["kind"], data["sla_event_id"]) == ("sla_breached", "9")
    assert "follower_id" not in data and data["contact"] is None and data["external_id"] == "BO-41"
    assert breached.summary().splitlines()[0] == (
        "SLA BREACHED: service request 41 is due 2026-04-01T22:00:00Z (SLA event 9, 2026-04-01T18:30:00Z).")
    assert sla("at_risk").summary().startswith("SLA AT RISK: service request 41")


def test_the_email_subject_and_which_adapters_take_sla_events() -> None:
    adapter = EmailAdapter(validate_options(EmailAdapter, {"host": "127.0.0.1", "from": "gw@example.org",
                                                           "to": ["dpw@example.org"]}), http=requests.Session())
    message = adapter.follow_up(sla("at_risk"))
    assert str(message["Subject"]).startswith("[SLA AT RISK] Re: ")
    assert message["X-Open311-Idempotency-Key"] == "lacounty.gov:41:sla_at_risk:9"
    assert "SLA AT RISK: service request 41" in message.get_content()
    taking = {name: load_adapter_class(name).takes_sla_events
              for name in ("filedrop", "webhook", "email", "salesforce", "open311")}
    assert taking == {"filedrop": True, "webhook": True, "email": True, "salesforce": True, "open311": False}
