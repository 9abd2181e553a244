"""Staff accounts on the real databases: Argon2id hashes, one-time set-up tokens, disabling, e-mail keys."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from open311.services import Services
from open311.staff import accounts
from open311.storage.models import StaffAccount
from tests.conftest import Clock
from tests.staff.helpers import PASSWORD, make_account


def test_passwords_are_stored_as_argon2id_and_rehashed_when_the_parameters_change(gateway: Services) -> None:
    make_account(gateway, "ann@dpw.example.gov")
    with gateway.session() as session, session.begin():
        stored = session.scalars(select(StaffAccount.password_hash)).one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    weaker = PasswordHasher(time_cost=1, memory_cost=8192)
    with gateway.session() as session, session.begin():
        session.scalars(select(StaffAccount)).one().password_hash = weaker.hash(PASSWORD)
    with gateway.session() as session:
        assert accounts.authenticate(session, "ann@dpw.example.gov", PASSWORD) is not None
    with gateway.session() as session, session.begin():
        assert not PasswordHasher().check_needs_rehash(session.scalars(select(StaffAccount.password_hash)).one())


def test_authenticate_refuses_what_it_should(gateway: Services, clock: Clock) -> None:
    make_account(gateway, "ann@dpw.example.gov")
    waiting = make_account(gateway, "new@dpw.example.gov", password=None)
    with gateway.session() as session:
        assert accounts.authenticate(session, " ANN@dpw.example.gov ", PASSWORD) is not None
        assert accounts.authenticate(session, "ann@dpw.example.gov", PASSWORD + "x") is None
        assert accounts.authenticate(session, "nobody@example.org", PASSWORD) is None
        assert accounts.authenticate(session, "not an address", PASSWORD) is None
        assert accounts.authenticate(session, waiting.email, "") is None
        renewed = accounts.renew_setup(session, "ann@dpw.example.gov", clock.now)
        assert accounts.authenticate(session, "ann@dpw.example.gov", PASSWORD) is None  # reset: old one is gone
        assert accounts.setup_account(session, renewed.token, "a brand new passphrase", clock.now) is not None
        assert accounts.authenticate(session, "ann@dpw.example.gov", "a brand new passphrase") is not None
        accounts.disable_account(session, "ann@dpw.example.gov", clock.now)
        assert accounts.authenticate(session, "ann@dpw.example.gov", "a brand new passphrase") is None


def test_setup_tokens_expire_and_are_stored_hashed(gateway: Services, clock: Clock) -> None:
    with gateway.session() as session:
        made = accounts.create_account(session, jurisdiction_id="lacounty.gov", department="DPW",
                                       email="late@dpw.example.gov", role="agent", now=clock.now)
    with gateway.session() as session, session.begin():
        row = session.scalars(select(StaffAccount)).one()
        assert row.setup_hash == accounts.token_hash(made.token) and made.token not in str(row.setup_hash)
    clock.advance(accounts.SETUP_TTL.total_seconds() + 1)
    with gateway.session() as session:
        assert accounts.setup_pending(session, made.token, clock.now) is None
        assert accounts.setup_account(session, made.token, PASSWORD, clock.now) is None


@pytest.mark.parametrize(("email", "role", "department", "message"), [
    ("a@example.gov", "janitor", "DPW", "role must be one of"),
    ("a@example.gov", "agent", None, "belongs to a department"),
    ("no-at-sign", "agent", "DPW", "is not an e-mail address"),
    ("a b@example.gov", "agent", "DPW", "is not an e-mail address"),
])
def test_create_refuses_bad_accounts(gateway: Services, clock: Clock, email: str, role: str,
                                     department: str | None, message: str) -> None:
    with gateway.session() as session, pytest.raises(accounts.AccountError, match=message):
        accounts.create_account(session, jurisdiction_id="lacounty.gov", department=department, email=email,
                                role=role, now=clock.now)


def test_passwords_must_be_long_enough() -> None:
    assert accounts.check_password("x" * 11) is not None
    assert accounts.check_password("x" * 12) is None
    assert accounts.check_password("x" * 1025) is not None
