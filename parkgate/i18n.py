"""Languages: zh-CN by default, English available.

Pages translate through Flask-Babel. Domain messages (reasons at the gate, booking
failures) are needed in both languages at once — the booth shows Chinese and
English, the LED Chinese — so `translate()` reads the same catalog for a given
locale outside any request.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.support import NullTranslations, Translations
from flask import Flask, g, request

TRANSLATIONS_DIR = Path(__file__).parent / "translations"
LOCALES = ("zh_Hans_CN", "en")
DEFAULT_LOCALE = "zh_Hans_CN"
DISPLAY_TIMEZONE = "Asia/Shanghai"


def ensure_compiled() -> None:
    """Compile .po catalogs whose .mo is missing or older (fresh clones, editable installs)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in TRANSLATIONS_DIR.glob("*/LC_MESSAGES/*.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        try:
            with po.open("rb") as f:
                catalog = read_po(f, locale=po.parent.parent.name)
            with mo.open("wb") as f:
                write_mo(f, catalog)
        except OSError:
            # A read-only install ships compiled catalogs; nothing to do.
            pass
    catalog_for.cache_clear()


@lru_cache(maxsize=8)
def catalog_for(locale: str) -> NullTranslations:
    if locale == "en":
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS_DIR), [locale])


def translate(msgid: str, locale: str, params: dict[str, Any] | None = None) -> str:
    text = catalog_for(locale).gettext(msgid)
    if params:
        try:
            return text % params
        except (KeyError, ValueError, TypeError):
            return text
    return text


def select_locale() -> str:
    wanted = request.args.get("lang") or request.cookies.get("lang")
    if wanted in LOCALES:
        return wanted
    principal = g.get("principal")
    if principal is not None and principal.locale in LOCALES:
        return principal.locale
    return DEFAULT_LOCALE


def init_app(app: Flask) -> None:
    from flask_babel import Babel

    ensure_compiled()
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", DISPLAY_TIMEZONE)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS_DIR)
    Babel(app, locale_selector=select_locale, timezone_selector=lambda: DISPLAY_TIMEZONE)

    @app.context_processor
    def _inject_locale() -> dict[str, Any]:
        from flask_babel import get_locale

        return {"get_locale": get_locale}

    @app.after_request
    def _remember_language(response: Any) -> Any:
        wanted = request.args.get("lang")
        if wanted in LOCALES:
            response.set_cookie("lang", wanted, max_age=365 * 86400, samesite="Lax")
        return response
