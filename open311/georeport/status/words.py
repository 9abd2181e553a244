"""The status page's own words (English, translated through the message catalogs; the catalog's texts come
from the catalog)."""

from __future__ import annotations

from open311.core import i18n
from open311.core.i18n import gettext as _
from open311.core.i18n import lazy

WORDS: dict[str, str] = {
    "title": lazy("Your report"),
    "number": lazy("Report number"),
    "status": lazy("Status"),
    "open": lazy("Open"),
    "closed": lazy("Closed"),
    "reason": lazy("Reason"),
    "received": lazy("Received"),
    "expected": lazy("Expected by"),
    "where": lazy("Where"),
    "history": lazy("History"),
    "no_history": lazy("No updates yet."),
    "photo": lazy("Photo of the work done"),
    "follow": lazy("Get updates"),
    "follow_help": lazy("We will e-mail you at the next milestone: assigned, closed, reopened."),
    "email": lazy("E-mail address"),
    "follow_button": lazy("Follow by e-mail"),
    "push_button": lazy("Follow on this device"),
    "followed": lazy("Done: you will hear about the next milestone."),
    "not_fixed": lazy("Not fixed?"),
    "not_fixed_help": lazy("Tell us what is still wrong and the report opens again."),
    "what": lazy("What is still wrong"),
    "not_fixed_button": lazy("Reopen the report"),
    "reopened": lazy("The report is open again. Thank you."),
    "gone_title": lazy("Not found"),
    "gone": lazy("This link is not valid, or the report's link was withdrawn."),
    "unsubscribe_title": lazy("Stop the updates"),
    "unsubscribe_help": lazy("You will get no more e-mails or notifications about this report."),
    "unsubscribe_button": lazy("Stop the updates"),
    "unsubscribed": lazy("Done: you will get no more updates about this report."),
    "problem": lazy("Please check"),
    "skip": lazy("Skip to the content"),
    "bad_email": lazy("Please enter a full e-mail address, like name@example.com."),
    "full": lazy("This report has as many followers as it can take: no more can be added."),
}


def words_for(locale: str | None) -> tuple[str, dict[str, str]]:
    """The page's language (any with a message catalog, else English) and its words in it; `language` names
    the other language the page offers (Spanish from English, English from any other) and `other_locale` its code."""
    lang = i18n.canonical(locale or i18n.SOURCE, i18n.available()) or i18n.SOURCE
    other = "es" if lang == i18n.SOURCE else i18n.SOURCE
    with i18n.using(lang):
        words = {key: _(text) for key, text in WORDS.items()}
    name = i18n.babel_locale(other).get_display_name() or other
    words["language"] = name[:1].upper() + name[1:]
    words["other_locale"] = other
    return lang, words
