"""Column headers: which of an orders table's headers names the customer, the order date, the
amount and the optional columns, in English and Dutch, any case, spacing or punctuation.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from clv_xl.errors import InputError


@dataclass(frozen=True)
class ColumnMap:
    """Header names that override the guess; ``segments=None`` means every other text column."""

    customer: str | None = None
    date: str | None = None
    amount: str | None = None
    order_id: str | None = None
    cost: str | None = None
    margin: str | None = None
    quantity: str | None = None
    currency: str | None = None
    segments: tuple[str, ...] | None = None
    #: Read only the rows in this currency (a code such as EUR, or a symbol) when the orders
    #: are in several; None: several currencies are refused (`orders.load_orders`).
    only_currency: str | None = None


GUESS = ColumnMap()  # every column found by its header
REQUIRED = ("customer", "date", "amount")
OPTIONAL = ("order_id", "cost", "margin", "quantity", "currency")
LABELS = {
    "customer": "customer",
    "date": "order date",
    "amount": "amount",
    "order_id": "order id",
    "cost": "cost",
    "margin": "margin",
    "quantity": "quantity",
    "currency": "currency",
}
EXAMPLE_HEADERS = {
    "customer": "'Customer ID' or 'Klantnummer'",
    "date": "'Order date' or 'Orderdatum'",
    "amount": "'Amount' or 'Bedrag'",
}
#: Recognised headers per canonical column, best first, as header keys (see `header_key`).
# fmt: off
HEADER_NAMES: dict[str, tuple[str, ...]] = {
    "customer": (
        "customerid", "customer", "customerno", "customernr", "customernumber", "customercode",
        "customerkey", "klantid", "klantnummer", "klantnr", "klantno", "klantcode", "klant",
        "clientid", "client", "clientno", "clientnr", "clientnumber", "clientcode",
        "debiteurnummer", "debiteurnr", "debiteurcode", "debiteur", "relatienummer", "relatienr",
        "relatie", "buyerid", "buyer", "accountid", "contactid", "memberid", "lidnummer",
        "customername", "klantnaam", "clientname",
    ),
    "date": (
        "orderdate", "date", "orderdatum", "datum", "besteldatum", "bestellingdatum",
        "purchasedate", "aankoopdatum", "transactiondate", "transactiedatum", "invoicedate",
        "factuurdatum", "saledate", "salesdate", "verkoopdatum", "orderdatetime", "orderedat",
        "createdat", "datetime", "timestamp",
    ),
    "amount": (
        "amount", "orderamount", "revenue", "value", "ordervalue", "total", "ordertotal", "sales",
        "bedrag", "orderbedrag", "omzet", "totaal", "ordertotaal", "totaalbedrag", "waarde",
        "orderwaarde", "totalamount", "totalvalue", "totalrevenue", "netamount", "netrevenue",
        "netsales", "salesamount", "saleamount", "linetotal", "lineamount", "subtotal", "turnover",
        "invoiceamount", "invoicetotal", "factuurbedrag", "verkoopbedrag", "nettobedrag",
        "omzetbedrag",
    ),
    "order_id": (
        "orderid", "order", "ordernumber", "orderno", "ordernr", "ordercode", "orderreference",
        "orderref", "ordernummer", "bestelnummer", "bestelnr", "bestellingid", "bestelling",
        "invoice", "invoiceid", "invoicenumber", "invoiceno", "invoicenr", "factuurnummer",
        "factuurnr", "factuurid", "factuur", "transactionid", "transaction", "transactienummer",
        "receiptnumber", "bonnummer",
    ),
    "cost": (
        "cost", "costs", "cogs", "costofgoods", "costofgoodssold", "costprice", "totalcost",
        "purchasecost", "purchaseprice", "kosten", "kost", "kostprijs", "inkoopprijs",
        "inkoopwaarde", "inkoopkosten", "inkoop",
    ),
    "margin": (
        "margin", "marge", "grossmargin", "brutomarge", "marginamount", "margebedrag",
        "marginpercent", "margepercentage", "grossprofit", "brutowinst", "profit", "winst",
        "contributionmargin", "dekkingsbijdrage",
    ),
    "quantity": (
        "quantity", "qty", "aantal", "units", "stuks", "aantalstuks", "pieces", "items",
        "numberofitems",
    ),
    "currency": (
        "currency", "currencycode", "ccy", "curr", "valuta", "valutacode", "munteenheid", "munt",
    ),
}
# fmt: on
#: Header words that only give a unit or tax basis: "Omzet excl. BTW" is an amount.
UNIT_WORDS = frozenset(
    {"eur", "euro", "euros", "usd", "gbp", "in", "incl", "excl", "ex", "btw", "vat", "tax"}
)

HEADER_SEARCH_ROWS = 20  # the header row is among the first rows that hold anything


def header_key(header: str) -> str:
    """A header as lower-case ASCII letters and digits only: 'Klant-ID' -> 'klantid'."""
    return "".join(_header_words(header))


def _header_words(header: str) -> list[str]:
    ascii_text = unicodedata.normalize("NFKD", header).encode("ascii", "ignore").decode()
    return re.findall(r"[0-9a-z]+", ascii_text.casefold())


def _unitless_key(header: str) -> str:
    return "".join(word for word in _header_words(header) if word not in UNIT_WORDS)


def recognised_header(head: Sequence[Sequence[object]], columns: ColumnMap) -> int | None:
    """The first of these rows whose headers name a customer, date and amount column."""
    for i, row in enumerate(head):
        roles = match_roles([header_text(value) for value in row], columns)
        if all(role in roles for role in REQUIRED):
            return i
    return None


def header_text(value: object) -> str:
    """A cell as header text: '' for a blank, 2024.0 -> '2024', dates in ISO form."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value).strip()


def has_orders_header(grid: Sequence[Sequence[object]], columns: ColumnMap = GUESS) -> bool:
    """Whether one of the first filled rows of a sheet's cells names customer, date and amount."""
    filled = [row for row in grid[: HEADER_SEARCH_ROWS * 5] if any(map(header_text, row))]
    return recognised_header(filled[:HEADER_SEARCH_ROWS], columns) is not None


def listing(names: Sequence[str], limit: int = 30) -> str:
    """Names for a sentence: 'A', 'B' and 3 more."""
    shown = ", ".join(f"'{name}'" for name in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def find_header(headers: Sequence[str], name: str) -> str | None:
    """The header called ``name``: exactly, else ignoring case, spaces and punctuation."""
    if name in headers:
        return name
    key = header_key(name)
    return next((h for h in headers if key and header_key(h) == key), None)


def match_roles(headers: Sequence[str], columns: ColumnMap) -> dict[str, str]:
    """Canonical name -> header: the ColumnMap's names, then the best recognised header.

    A header serves one role. With both a cost and a margin column, cost is used
    (unless only the margin was named in ``columns``).
    """
    roles: dict[str, str] = {}
    for role in REQUIRED + OPTIONAL:
        name = getattr(columns, role)
        if name is not None and (header := find_header(headers, name)) is not None:
            roles[role] = header
    named = {role for role in REQUIRED + OPTIONAL if getattr(columns, role) is not None}
    used = set(roles.values())
    by_key: dict[str, list[str]] = {}  # the free headers of each key, in order
    by_unitless: dict[str, list[str]] = {}
    for h in headers:
        if h not in used:
            by_key.setdefault(header_key(h), []).append(h)
            by_unitless.setdefault(_unitless_key(h), []).append(h)
    for role in REQUIRED + OPTIONAL:
        if role in named:
            continue
        for candidate in HEADER_NAMES[role]:
            found = next((h for h in by_key.get(candidate, ()) if h not in used), None) or next(
                (h for h in by_unitless.get(candidate, ()) if h not in used), None
            )
            if found is not None:
                roles[role] = found
                used.add(found)
                break
    if "cost" in roles and "margin" in roles:
        del roles["cost" if "margin" in named and "cost" not in named else "margin"]
    return roles


def resolve_roles(headers: Sequence[str], columns: ColumnMap, where: str) -> dict[str, str]:
    """As `match_roles`; InputError for a named column not there or a required one missing."""
    for role in REQUIRED + OPTIONAL:
        name = getattr(columns, role)
        if name is not None and find_header(headers, name) is None:
            raise InputError(
                f"There is no column '{name}' (given as the {LABELS[role]} column) in {where}; "
                f"its headers are {listing(headers)}."
            )
    roles = match_roles(headers, columns)
    missing = [role for role in REQUIRED if role not in roles]
    if missing:
        raise InputError(
            f"Found no {' or '.join(LABELS[r] for r in missing)} column in {where} "
            f"(looked for headers like {', '.join(EXAMPLE_HEADERS[r] for r in missing)}); "
            f"its headers are {listing(headers)}."
        )
    return roles
