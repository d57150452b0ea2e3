import pytest
from motcua.catalogue.settings import Settings


def test_the_port_and_database_follow_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CATALOGUE_PORT", raising=False)
    monkeypatch.delenv("MONGODB_DB", raising=False)
    assert Settings().port == 8002
    assert Settings().database_name == "motcua_catalogue"
    monkeypatch.setenv("CATALOGUE_PORT", "9102")
    monkeypatch.setenv("CATALOGUE_SEED", "false")
    assert Settings().port == 9102
    assert Settings().catalogue_seed is False
