"""How a store writes amounts and times: its locale, currency and time zone.

A till in Paris shows ``12,50 €`` and ``00:57``; one in Dublin ``€12.50``. Amounts
stay integer minor units everywhere else (:mod:`possync.retail.money`); this module
only prints them for people and reads what people type. Times are stored in UTC
(ISO-8601 text); a sale belongs to the store's *business day*, the calendar day of
its local time: a sale at 00:57 in Paris on the 2nd is the 2nd's, although it is
still the 1st in UTC.

Formatting uses Babel's CLDR data, the reference for these conventions.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import babel
import babel.dates
import babel.numbers

from possync.retail import money
from possync.retail.errors import RetailError

DEFAULT_LOCALE = "en"
DEFAULT_TIME_ZONE = "UTC"
# Separators people put between thousands besides the locale's own: spaces of any
# width and the Swiss apostrophe.
_GROUPING = (" ", "\u00a0", "\u202f", "'", "\u2019")


def check_locale(name: str) -> str:
    """A locale identifier as stored (``fr-fr`` -> ``fr_FR``); refuses unknown ones."""
    try:
        return str(babel.Locale.parse(name.strip().replace("-", "_")))
    except (ValueError, TypeError, babel.UnknownLocaleError):
        raise RetailError(
            f"unknown locale {name!r}: give a language and country such as fr_FR, de_DE, en_IE"
        ) from None


def check_time_zone(name: str) -> str:
    """An IANA time zone name as stored (``Europe/Paris``); refuses unknown ones."""
    name = name.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RetailError(
            f"unknown time zone {name!r}: give an IANA name such as Europe/Paris"
        ) from None
    return name


@dataclass(frozen=True)
class StoreLocale:
    """One store's conventions. Cheap to build; build it from the store's row."""

    locale: str = DEFAULT_LOCALE
    currency: str = "EUR"
    time_zone: str = DEFAULT_TIME_ZONE

    @classmethod
    def of(cls, store_row: Any) -> StoreLocale:
        """From a ``store`` row (a mapping or Row); defaults where it has no locale."""
        get = store_row.get if hasattr(store_row, "get") else store_row._mapping.get
        return cls(
            locale=get("locale") or DEFAULT_LOCALE,
            currency=get("currency") or "EUR",
            time_zone=get("time_zone") or DEFAULT_TIME_ZONE,
        )

    @property
    def _babel(self) -> babel.Locale:
        return _parsed(self.locale)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    # -- amounts ---------------------------------------------------------------

    @property
    def decimal_symbol(self) -> str:
        return babel.numbers.get_decimal_symbol(self._babel)

    def money(self, minor: int) -> str:
        """``1250`` -> ``12,50 €`` (fr_FR) or ``€12.50`` (en_IE)."""
        return babel.numbers.format_currency(
            Decimal(minor).scaleb(-money.MINOR_DIGITS), self.currency, locale=self._babel
        )

    def amount(self, minor: int) -> str:
        """``1250`` -> ``12,50``: no symbol, no grouping, as typed into a field."""
        return money.format_amount(minor).replace(".", self.decimal_symbol)

    def parse_amount(self, text: str, *, negative: bool = True) -> int:
        """What a person typed -> minor units. Takes the locale's decimal symbol and
        grouping (``1 234,50`` in fr_FR, ``1.234,50`` in de_DE) and also a point
        where the text has no decimal comma, since numeric keypads type points. A
        point that could be either (``1.234`` in de_DE) is read as a decimal point
        and refused for its three decimals: a clear error rather than a price a
        thousand times off."""
        if not isinstance(text, str) or len(text) > money.MAX_AMOUNT_TEXT:
            return money.parse_amount(text, negative=negative)  # its own refusal
        decimal = self.decimal_symbol
        plain = text.strip()
        if decimal != "." and decimal in plain:
            group = babel.numbers.get_group_symbol(self._babel)
            for separator in {group, *_GROUPING}:
                plain = plain.replace(separator, "")
            plain = plain.replace(decimal, ".")
        else:
            for separator in _GROUPING + ((",",) if decimal == "." else ()):
                plain = plain.replace(separator, "")
        try:
            return money.parse_amount(plain, negative=negative)
        except RetailError as exc:
            example = self.amount(1250)
            raise RetailError(str(exc).replace("like 12.50", f"like {example}")) from None

    # -- times -----------------------------------------------------------------

    def local(self, iso_utc: str) -> datetime:
        """A stored UTC timestamp in the store's time zone."""
        moment = datetime.fromisoformat(iso_utc)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(self.zone)

    def time(self, iso_utc: str) -> str:
        return babel.dates.format_time(self.local(iso_utc), "short", locale=self._babel)

    def datetime(self, iso_utc: str) -> str:
        return babel.dates.format_datetime(self.local(iso_utc), "short", locale=self._babel)

    def day(self, value: date) -> str:
        return babel.dates.format_date(value, "medium", locale=self._babel)

    def business_day(self, iso_utc: str) -> date:
        """The store's calendar day of a moment stored in UTC."""
        return self.local(iso_utc).date()

    def day_bounds(self, day: date) -> tuple[str, str]:
        """The UTC span ``[start, end)`` of a business day, as stored timestamps, for
        queries: a day is 23 or 25 hours long where clocks change."""
        start = datetime.combine(day, time(), self.zone)
        end = datetime.combine(day + timedelta(days=1), time(), self.zone)
        return _stored(start), _stored(end)


def _stored(moment: datetime) -> str:
    # The form of sync.clock.utc_now, so that stored timestamps compare as text.
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@functools.lru_cache(maxsize=32)
def _parsed(name: str) -> babel.Locale:
    return babel.Locale.parse(name)
