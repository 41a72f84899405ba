"""Every user-facing string has its Chinese translation; both languages render."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from parkgate.i18n import ensure_compiled, translate
from tests import ROOT

PO = ROOT / "parkgate/translations/zh_Hans_CN/LC_MESSAGES/messages.po"


SKIP_DIRS = {".venv", "tests", "bench", "build", "node_modules", ".git", "instance"}


def _marked_strings() -> set[str]:
    keywords = {**DEFAULT_KEYWORDS, "N_": None, "_l": None}
    found = extract_from_dir(
        str(ROOT), [("**.py", "python"), ("**/templates/**.html", "jinja2")],
        keywords=keywords,
        directory_filter=lambda d: Path(d).name not in SKIP_DIRS and not d.endswith(".egg-info"))
    return {msg if isinstance(msg, str) else msg[0] for _f, _l, msg, _c, _x in found if msg}


def test_catalog_covers_every_marked_string():
    wanted = _marked_strings()
    assert "Wrong username or password." in wanted
    catalog = read_po(PO.open("rb"), locale="zh_Hans_CN")
    # A plural message (ngettext) is translated when every form of it is.
    translated = {i for m in catalog if m.id and "fuzzy" not in m.flags
                  and (all(m.string) if isinstance(m.string, tuple) else m.string)
                  for i in (m.id if isinstance(m.id, tuple) else (m.id,))}
    missing = sorted(wanted - translated)
    assert missing == [], f"untranslated (run scripts/i18n.sh and translate): {missing[:20]}"


def test_domain_messages_in_both_languages():
    ensure_compiled()
    assert translate("Wrong username or password.", "en") == "Wrong username or password."
    assert translate("Wrong username or password.", "zh_Hans_CN") == "用户名或密码错误。"
    assert translate("The username %(username)s is taken.", "zh_Hans_CN",
                     {"username": "gate"}) == "用户名 gate 已被占用。"
