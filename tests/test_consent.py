"""The consent state: preferences, allows(), granted, modes and change listeners."""

import pytest
from pyajs.consent import Consent


def test_without_the_option_everything_is_allowed():
    c = Consent(None)
    assert c.granted and not c.denied and c.allows(["Ads"]) and c.context() is None


def test_categories_at_load():
    c = Consent({"categories": {"Analytics": False, "Ads": True}})
    assert not c.granted and c.denied
    assert c.allows("Ads") and c.allows(["Ads"]) and not c.allows(["Ads", "Analytics"])
    assert not c.allows(["Unknown"])
    assert c.context() == {"categoryPreferences": {"Analytics": False, "Ads": True}}
    assert c.mode == "none"


def test_unknown_until_answered():
    c = Consent({})
    assert not c.granted and not c.denied and not c.known
    assert c.context() == {"categoryPreferences": {}}


def test_own_category_and_mode():
    c = Consent({"categories": {"C0002": True}, "category": "C0002", "mode": "anonymous"})
    assert c.granted and c.mode == "anonymous"


def test_bad_options_warn_and_keep_defaults():
    seen = []
    c = Consent({"categories": {"Analytics": "yes"}, "mode": "all", "category": 3},
                warn=seen.append)
    assert c.mode == "none" and c.category == "Analytics" and c.preferences() == {}
    assert len(seen) == 3
    assert not Consent("yes", warn=seen.append).enabled


def test_update_merges_and_reports_changes():
    c = Consent({"categories": {"Analytics": False, "Ads": False}})
    calls = []
    c.on_change(lambda was, now, changed: calls.append((was, now, changed)))
    assert c.update({"Analytics": True}) is True
    assert c.preferences() == {"Analytics": True, "Ads": False}
    assert c.update({"Analytics": True}) is False
    assert calls == [(False, True, True), (True, True, False)]


def test_update_turns_consent_on():
    c = Consent(None)
    c.update({"Analytics": False})
    assert c.enabled and not c.granted


def test_update_checks_types():
    with pytest.raises(TypeError, match="categories"):
        Consent({}).update(["Analytics"])
    with pytest.raises(TypeError, match="str to bool"):
        Consent({}).update({"Analytics": 1})
