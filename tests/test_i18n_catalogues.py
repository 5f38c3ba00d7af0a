"""The message catalogues are complete (CI check, #20): every end-user string found in the
code and templates (babel.cfg) is translated, not fuzzy, with the same placeholders, in
every shipped language; and the compiled .mo files match their .po sources."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "app" / "translations"
SHIPPED = ("es", "fr", "de", "pt_BR")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
# Words that are spelled the same in a language (checked: not left untranslated).
SAME = {
    "fr": {"Code", "Bonjour,", "Action", "Actions", "Invitation", "Sessions", "active"},
    "de": {"Code", "Name", "Apps", "Passkey"},
    "es": {"Factor", "Roles"},
    "pt_BR": set(),
}


def _source_messages() -> set:
    with open(ROOT / "babel.cfg") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "N_": None}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return {m for m in found if m}


def _catalog(lang: str):
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle, locale=lang)


def _key(value):
    return tuple(value) if isinstance(value, list | tuple) else value


@pytest.fixture(scope="module")
def source_messages():
    return _source_messages()


def test_the_extraction_finds_the_hosted_pages_and_mail(source_messages):
    assert "Sign in" in source_messages
    assert "Your sign-in code for %(tenant_name)s is:" in source_messages  # mail
    assert "Incorrect email or password." in source_messages  # a service's error
    assert len(source_messages) > 120


@pytest.mark.parametrize("lang", SHIPPED)
def test_every_message_is_translated(lang, source_messages):
    catalog = _catalog(lang)
    problems = []
    for msgid in sorted(source_messages):
        message = catalog.get(msgid)
        if message is None:
            problems.append(f"missing: {msgid!r}")
            continue
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(forms):
            problems.append(f"untranslated or fuzzy: {msgid!r}")
            continue
        singular = message.id[0] if isinstance(message.id, tuple) else message.id
        for form in forms:
            if set(PLACEHOLDER.findall(form)) != set(PLACEHOLDER.findall(singular)):
                problems.append(f"placeholders differ: {msgid!r} -> {form!r}")
        if forms[0] == singular and len(singular) > 3 and singular not in SAME[lang]:
            problems.append(f"left in English: {msgid!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lang", SHIPPED)
def test_compiled_catalogues_match_their_sources(lang):
    mo_path = TRANSLATIONS / lang / "LC_MESSAGES" / "messages.mo"
    assert mo_path.exists(), f"{mo_path} missing: run `make install`"
    with open(mo_path, "rb") as handle:
        compiled = {_key(m.id): _key(m.string) for m in read_mo(handle) if m.id}
    source = {_key(m.id): _key(m.string) for m in _catalog(lang) if m.id}
    assert compiled == source, "stale .mo: run `make install`"
