"""The base of the hosted pages' forms: Flask-WTF's, with WTForms' own messages
translated from catalogues loaded once per language and process (Flask-WTF loads the
catalogue again on every request that builds a form)."""

from __future__ import annotations

from babel import support
from flask import current_app
from flask_babel import get_locale
from flask_wtf import FlaskForm
from wtforms.i18n import messages_path

_CATALOGUES: dict[str, support.Translations] = {}


def wtforms_translations():
    """WTForms' messages (``Field is required``, lengths, ...) in the request's language."""
    locale = get_locale()
    key = str(locale)
    catalogue = _CATALOGUES.get(key)
    if catalogue is None:  # a race loads it twice: the same file, the same result
        catalogue = support.Translations.load(messages_path(), [locale], domain="wtforms")
        _CATALOGUES[key] = catalogue
    return catalogue


class PageForm(FlaskForm):
    class Meta(FlaskForm.Meta):
        def get_translations(self, form):
            if not current_app.config.get("WTF_I18N_ENABLED", True):
                return super().get_translations(form)
            return wtforms_translations()
