"""Amounts and times on the pages people read, written the store's way.

The till's screen, its receipts and the store console register these as Jinja
filters (``{{ total|money }}``, ``{{ at|localtime }}``) and, for templates that call
them, as functions (``{{ money(total) }}``). Each app says how to find its store's
:class:`~possync.retail.store_locale.StoreLocale` for a request; it is looked up
once per request and kept on ``request.state``, so a page of a hundred amounts
reads the store row once, and a change of locale (replicated to the tills) shows
on the next page without a restart.

A store that has chosen no locale keeps the plain look of earlier releases: the
amount alone with a decimal point (``12.50``; the currency is in the headings),
and times as ``2025-03-02 00:57:00``, now in the store's time zone (UTC when
none is set). Once it has one, amounts carry the locale's decimal symbol and the
currency symbol where the locale puts it (``12,50 €``), times its short format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import jinja2
from fastapi import Request


class Locale(Protocol):
    """What is used of :class:`possync.retail.store_locale.StoreLocale` (this layer
    imports no domain: the apps hand it the store's)."""

    def money(self, minor: int) -> str: ...
    def amount(self, minor: int) -> str: ...
    def parse_amount(self, text: str, *, negative: bool = True) -> int: ...
    def local(self, iso_utc: str) -> datetime: ...
    def time(self, iso_utc: str) -> str: ...
    def datetime(self, iso_utc: str) -> str: ...


@dataclass(frozen=True)
class Shown:
    """How one store's pages write amounts and times."""

    locale: Locale
    chosen: bool  # the store set a locale: its conventions; otherwise the plain look

    def money(self, minor: int | None) -> str:
        if minor is None:
            return ""
        # Without a chosen locale the default one's amount is the plain "12.50".
        return self.locale.money(minor) if self.chosen else self.locale.amount(minor)

    def amount(self, minor: int | None) -> str:
        """As typed into a field: no symbol (``12,50``)."""
        return "" if minor is None else self.locale.amount(minor)

    def datetime(self, iso: str | None) -> str:
        if not iso:
            return ""
        try:
            if self.chosen:
                return self.locale.datetime(iso)
            return self.locale.local(iso).strftime("%Y-%m-%d %H:%M:%S")
        except ValueError:
            return iso  # not a timestamp: shown as stored rather than not at all

    def time(self, iso: str | None) -> str:
        if not iso:
            return ""
        try:
            if self.chosen:
                return self.locale.time(iso)
            return self.locale.local(iso).strftime("%H:%M")
        except ValueError:
            return iso


ShownOf = Callable[[Request], Shown]
_KEY = "store_shown"


def install(env: jinja2.Environment, shown_of: ShownOf) -> None:
    """Register ``money``, ``amount``, ``localtime``, ``clock`` (a time of day) and
    ``currency`` (the code shown beside plain amounts) as filters and as functions
    of ``env``'s templates."""

    def shown(context: Any) -> Shown:
        request = context["request"]  # every page is rendered for a request
        found = getattr(request.state, _KEY, None)
        if found is None:
            found = shown_of(request)
            setattr(request.state, _KEY, found)
        return found

    def money(context: Any, minor: int | None) -> str:
        return shown(context).money(minor)

    def amount(context: Any, minor: int | None) -> str:
        return shown(context).amount(minor)

    def localtime(context: Any, iso: str | None) -> str:
        return shown(context).datetime(iso)

    def clock(context: Any, iso: str | None) -> str:
        return shown(context).time(iso)

    def currency(context: Any, code: str | None) -> str:
        """The currency code beside a plain amount ("Total EUR"); nothing once the
        store's locale writes the symbol in the amount itself ("12,50 €")."""
        return "" if shown(context).chosen else (code or "")

    for name, function in (
        ("money", money),
        ("amount", amount),
        ("localtime", localtime),
        ("clock", clock),
        ("currency", currency),
    ):
        wrapped = jinja2.pass_context(function)
        env.filters[name] = wrapped
        env.globals[name] = wrapped
