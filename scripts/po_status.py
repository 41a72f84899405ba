"""Print how many catalog entries are untranslated (CI fails on any, see tests)."""

from pathlib import Path

from babel.messages.pofile import read_po

po = Path(__file__).resolve().parent.parent / "parkgate/translations/zh_Hans_CN/LC_MESSAGES/messages.po"
catalog = read_po(po.open("rb"))
# A plural message (ngettext) has a string per form: missing while any form is empty.
missing = [m.id for m in catalog if m.id and not (
    all(m.string) if isinstance(m.string, tuple) else m.string)]
print(f"{len(catalog)} messages, {len(missing)} untranslated")
for m in missing:
    print("  ", m)
