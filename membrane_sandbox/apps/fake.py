"""Deterministic, realistic-looking field values for seeding (stdlib ``random.Random`` only).

A value comes from the field's ``gen`` hint when the catalog gives one, else from its name,
else from its type. Values that depend on each other (a contact's email on its name) read the
record built so far.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from membrane_sandbox.apps.catalog import FieldDef

FIRST_NAMES = (
    "Olivia Liam Emma Noah Ava Oliver Sophia Elijah Isabella James Mia William Amelia Benjamin Harper Lucas "
    "Evelyn Henry Abigail Theodore Emily Jack Ella Levi Elizabeth Alexander Camila Jackson Luna Mateo Sofia "
    "Daniel Avery Michael Mila Mason Aria Sebastian Scarlett Ethan Penelope Logan Layla Owen Chloe Samuel "
    "Victoria Jacob Madison Asher Eleanor Aiden Grace John Nora Joseph Riley Wyatt Zoey David Hannah Leo "
    "Hazel Luke Lily Julian Ellie Hudson Violet Grayson Lillian Matthew Zoe Ezra Stella Gabriel Aurora Priya "
    "Arjun Mei Hiroshi Fatima Omar Ingrid Lars Chiara Marco Anika Tomasz Lucia Diego Sven Yuki Amara Kwame"
).split()
LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez "
    "Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez "
    "Clark Ramirez "
    "Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker "
    "Hall Rivera Campbell Mitchell Carter Roberts Schmidt Muller Rossi Bianchi Novak Kowalski Andersson "
    "Johansson Dubois Moreau Tanaka Suzuki Patel Sharma Okafor Mensah Silva Santos Kim Park Chen Wang O'Brien"
).split()
COMPANY_HEADS = (
    "Acme Globex Initech Umbrella Stark Wayne Wonka Hooli Vandelay Soylent Cyberdyne Tyrell Aperture "
    "Gringotts "
    "Oscorp Nakatomi Massive Dynamic Pied Piper Blue Sun Monarch Northwind Contoso Fabrikam Tailspin Litware "
    "Proseware Adatum Woodgrove Alpine Summit Harbor Pinnacle Evergreen Silverline Redwood Bluewater "
    "Ironbridge "
    "Brightpath Keystone Horizon Lakeside Meridian Quantum Vertex Orion Atlas Nimbus Cobalt Granite Sterling"
).split()
COMPANY_TAILS = (
    "Inc",
    "LLC",
    "Ltd",
    "GmbH",
    "Corp",
    "Group",
    "Holdings",
    "Systems",
    "Labs",
    "Partners",
    "Solutions",
    "Industries",
    "Technologies",
    "Logistics",
    "Consulting",
    "Media",
)
CITIES = (
    ("New York", "NY", "USA"),
    ("San Francisco", "CA", "USA"),
    ("Austin", "TX", "USA"),
    ("Chicago", "IL", "USA"),
    ("Boston", "MA", "USA"),
    ("Seattle", "WA", "USA"),
    ("Denver", "CO", "USA"),
    ("Atlanta", "GA", "USA"),
    ("Toronto", "ON", "Canada"),
    ("Vancouver", "BC", "Canada"),
    ("London", "England", "United Kingdom"),
    ("Manchester", "England", "United Kingdom"),
    ("Dublin", "Leinster", "Ireland"),
    ("Berlin", "Berlin", "Germany"),
    ("Munich", "Bavaria", "Germany"),
    ("Paris", "Ile-de-France", "France"),
    ("Lyon", "Rhone", "France"),
    ("Madrid", "Madrid", "Spain"),
    ("Barcelona", "Catalonia", "Spain"),
    ("Milan", "Lombardy", "Italy"),
    ("Amsterdam", "North Holland", "Netherlands"),
    ("Stockholm", "Stockholm", "Sweden"),
    ("Warsaw", "Masovia", "Poland"),
    ("Zurich", "Zurich", "Switzerland"),
    ("Sydney", "NSW", "Australia"),
    ("Melbourne", "VIC", "Australia"),
    ("Auckland", "Auckland", "New Zealand"),
    ("Singapore", "", "Singapore"),
    ("Tokyo", "Tokyo", "Japan"),
    ("Bangalore", "Karnataka", "India"),
    ("Mumbai", "Maharashtra", "India"),
    ("Sao Paulo", "SP", "Brazil"),
    ("Mexico City", "CDMX", "Mexico"),
    ("Cape Town", "Western Cape", "South Africa"),
)
STREETS = (
    "Main St",
    "Oak Ave",
    "Maple Dr",
    "Market St",
    "Park Ave",
    "Elm St",
    "High St",
    "Church Rd",
    "Mill Lane",
    "Cedar Ct",
    "Lake Rd",
    "Hill St",
    "King St",
    "Queen St",
    "Harbour Rd",
    "Station Rd",
)
JOB_TITLES = (
    "CEO",
    "CTO",
    "CFO",
    "VP Sales",
    "VP Marketing",
    "Sales Manager",
    "Account Executive",
    "Marketing Manager",
    "Head of Operations",
    "Procurement Lead",
    "IT Director",
    "Product Manager",
    "Customer Success Manager",
    "Office Manager",
    "Engineer",
    "Consultant",
    "Purchasing Agent",
    "Director of Finance",
)
PRODUCT_WORDS = (
    "Cloud Backup",
    "Analytics Suite",
    "Router X200",
    "Laptop Pro 14",
    "Office Chair",
    "Standing Desk",
    "Support Plan",
    "Security Scanner",
    "CRM Seat",
    "Data Warehouse",
    "Label Printer",
    "VoIP Phone",
    "Wireless Headset",
    "Monitor 27in",
    "Firewall Appliance",
    "Training Package",
    "Onboarding Service",
)
TOPICS = (
    "renewal",
    "expansion",
    "pilot",
    "migration",
    "upgrade",
    "onboarding",
    "integration",
    "rollout",
    "audit",
    "training",
    "support",
    "licensing",
    "pricing review",
    "security review",
    "Q3 promotion",
)
PROBLEMS = (
    "Cannot log in",
    "Invoice total is wrong",
    "Export fails with timeout",
    "Sync stopped overnight",
    "Password reset email not received",
    "Report shows no data",
    "Slow dashboard",
    "Duplicate contacts",
    "API returns 500",
    "Printer not detected",
    "Licence count mismatch",
    "Attachment upload fails",
)
WORDS = (
    "quarterly update customer roadmap pricing product launch strategy review proposal contract follow-up "
    "meeting demo webinar newsletter playbook training onboarding region partner enterprise growth plan"
).split()
TLDS = ("com", "io", "net", "co", "org", "de", "co.uk")

BASE_TIME = datetime(2023, 1, 2, 9, 0, 0)  # naive UTC: seeding formats times itself, faster than strftime
SPAN_DAYS = 900  # seeded timestamps fall between BASE_TIME and about mid 2025
_BASE_DATE = BASE_TIME.date()


def company(rng: random.Random) -> str:
    return f"{rng.choice(COMPANY_HEADS)} {rng.choice(COMPANY_TAILS)}"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower()) or "example"


def seeded_time(rng: random.Random) -> datetime:
    return BASE_TIME + timedelta(minutes=rng.randrange(SPAN_DAYS * 24 * 60))


def seeded_date(rng: random.Random) -> str:
    return (_BASE_DATE + timedelta(days=rng.randrange(SPAN_DAYS))).isoformat()


def iso(t: datetime) -> str:
    """``2024-05-01T10:00:00Z`` for a naive-UTC or aware datetime."""
    return t.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


class Context:
    """What generators need beyond the rng: ids of referenced objects and the record's number.

    One context serves every record of an object; ``seq`` moves on per record.
    """

    def __init__(self, rng: random.Random, ref_ids: dict[str, list[Any]], seq: int, label: str) -> None:
        self.rng = rng
        self.ref_ids = ref_ids
        self.seq = seq
        self.label = label
        self._pools: dict[tuple[str, ...], list[Any]] = {}

    def pool(self, refs: tuple[str, ...]) -> list[Any]:
        p = self._pools.get(refs)
        if p is None:
            p = self._pools[refs] = [i for ref in refs for i in self.ref_ids.get(ref, ())]
        return p


def _first(rec: dict[str, Any]) -> str | None:
    return next((rec[k] for k in ("firstname", "first_name", "firstName") if rec.get(k)), None)


def _last(rec: dict[str, Any]) -> str | None:
    return next((rec[k] for k in ("lastname", "last_name", "lastName") if rec.get(k)), None)


def _email(rec: dict[str, Any], ctx: Context) -> str:
    first, last = _first(rec), _last(rec)
    rng = ctx.rng
    if first and last:
        local = f"{slug(first)}.{slug(last)}"
    else:
        local = rng.choice(("info", "sales", "hello", "contact", "support", "office"))
    domain = rec.get("_domain") or f"{slug(rng.choice(COMPANY_HEADS))}.{rng.choice(TLDS)}"
    return f"{local}@{domain}"


def _phone(rng: random.Random) -> str:
    return f"+1 {rng.randint(200, 989)}-{rng.randint(200, 999)}-{rng.randint(1000, 9999)}"


def _amount(rng: random.Random, lo: int = 500, hi: int = 250_000) -> float:
    return round(rng.uniform(lo, hi) / 50) * 50.0


_HINTS: dict[str, Callable[[dict[str, Any], Context], Any]] = {
    "first_name": lambda r, c: c.rng.choice(FIRST_NAMES),
    "last_name": lambda r, c: c.rng.choice(LAST_NAMES),
    "full_name": lambda r, c: f"{c.rng.choice(FIRST_NAMES)} {c.rng.choice(LAST_NAMES)}",
    "company": lambda r, c: company(c.rng),
    "email": _email,
    "phone": lambda r, c: _phone(c.rng),
    "city": lambda r, c: r.setdefault("_city", c.rng.choice(CITIES))[0],
    "state": lambda r, c: r.setdefault("_city", c.rng.choice(CITIES))[1],
    "country": lambda r, c: r.setdefault("_city", c.rng.choice(CITIES))[2],
    "street": lambda r, c: f"{c.rng.randint(1, 999)} {c.rng.choice(STREETS)}",
    "zip": lambda r, c: f"{c.rng.randint(10000, 99999)}",
    "job_title": lambda r, c: c.rng.choice(JOB_TITLES),
    "website": lambda r, c: f"https://www.{slug(str(r.get('_name') or c.rng.choice(COMPANY_HEADS)))}.com",
    "deal": lambda r, c: f"{c.rng.choice(COMPANY_HEADS)} {c.rng.choice(TOPICS)}",
    "subject": lambda r, c: f"{c.rng.choice(TOPICS).capitalize()} {c.rng.choice(WORDS)}",
    "problem": lambda r, c: c.rng.choice(PROBLEMS),
    "product": lambda r, c: (
        f"{c.rng.choice(PRODUCT_WORDS)} {c.rng.choice(('', 'Plus', 'Lite', 'Pro', 'v2'))}".strip()
    ),
    "campaign": lambda r, c: (
        f"{c.rng.choice(('Spring', 'Summer', 'Autumn', 'Winter', 'Q1', 'Q2', 'Q3', 'Q4'))} "
        f"{c.rng.choice(('Webinar', 'Newsletter', 'Trade Show', 'Email Blast', 'Promo', 'Launch'))} "
        f"{c.rng.choice(('2023', '2024', '2025'))}"
    ),
    "title": lambda r, c: f"{c.rng.choice(WORDS).capitalize()} {c.rng.choice(WORDS)} {c.rng.choice(WORDS)}",
    "sentence": lambda r, c: (
        " ".join(c.rng.choice(WORDS) for _ in range(c.rng.randint(6, 12))).capitalize() + "."
    ),
    "word": lambda r, c: c.rng.choice(WORDS).capitalize(),
    "amount": lambda r, c: _amount(c.rng),
    "price": lambda r, c: round(c.rng.uniform(5, 5000), 2),
    "percent": lambda r, c: float(c.rng.choice((0, 10, 20, 25, 40, 50, 60, 75, 90, 100))),
    "qty": lambda r, c: c.rng.randint(1, 500),
    "username": lambda r, c: f"{slug(_first(r) or 'user')}.{slug(_last(r) or str(c.seq))}",
}

# Field-name patterns -> hint, tried in order when the catalog gives no hint.
_NAME_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), h)
    for p, h in (
        (r"first_?name", "first_name"),
        (r"last_?name", "last_name"),
        (r"e?mail", "email"),
        (r"phone|mobile|fax", "phone"),
        (r"city", "city"),
        (r"state|province", "state"),
        (r"country", "country"),
        (r"street|address", "street"),
        (r"zip|postal|code$", "zip"),
        (r"website|url$", "website"),
        (r"^title$|jobtitle|job_title", "job_title"),
        (r"amount|revenue|budget|cost|total", "amount"),
        (r"price", "price"),
        (r"probability|percent|rate", "percent"),
        (r"qty|quantity|count|employees", "qty"),
        (r"description|notes|comment|body", "sentence"),
    )
)


Gen = Callable[[dict[str, Any], Context], Any]


def _numeric(gen: Gen, ftype: str) -> Gen:
    if ftype == "integer":
        return lambda r, c: int(v) if isinstance(v := gen(r, c), int | float) else c.rng.randint(1, 100)
    if ftype in ("currency", "double", "percentage"):
        return lambda r, c: float(v) if isinstance(v := gen(r, c), int | float) else _amount(c.rng)
    return gen


@cache
def generator(f: FieldDef) -> Gen:
    """The value generator of one field, resolved once: hint, then type, then name rules."""
    if f.type in ("reference", "owner"):
        refs = f.ref
        return lambda r, c: c.rng.choice(p) if (p := c.pool(refs)) else None
    if f.gen:
        if f.gen.startswith("seq:"):
            prefix = f.gen[4:]
            return lambda r, c: f"{prefix}{c.seq}"
        if f.gen.startswith("pick:"):
            opts = tuple(f.gen[5:].split("|"))
            if f.type in ("integer", "currency", "double", "percentage"):
                return _numeric(lambda r, c: float(c.rng.choice(opts)), f.type)
            return lambda r, c: c.rng.choice(opts)
        if f.gen in _HINTS:
            return _numeric(_HINTS[f.gen], f.type)
    if f.type == "picklist":
        opts = f.picklist
        return lambda r, c: c.rng.choice(opts) if opts else None
    if f.type == "multipicklist":
        opts = f.picklist
        return lambda r, c: c.rng.sample(opts, k=min(len(opts), c.rng.randint(1, 2))) if opts else []
    by_type: dict[str, Gen] = {
        "boolean": lambda r, c: c.rng.random() < 0.3,
        "date": lambda r, c: seeded_date(c.rng),
        "datetime": lambda r, c: iso(seeded_time(c.rng)),
        "email": _email,
        "phone": lambda r, c: _phone(c.rng),
        "url": _HINTS["website"],
    }
    if f.type in by_type:
        return by_type[f.type]
    name = f.name.lower()
    for pat, hint in _NAME_RULES:
        if pat.search(name):
            return _numeric(_HINTS[hint], f.type)
    if f.type == "integer":
        return lambda r, c: c.rng.randint(1, 1000)
    if f.type in ("currency", "double"):
        return lambda r, c: _amount(c.rng)
    if f.type == "percentage":
        return lambda r, c: float(c.rng.randint(0, 100))
    if f.type == "text":
        return _HINTS["sentence"]
    return lambda r, c: f"{c.label} {c.seq}"


Plan = tuple[tuple[str, bool, bool, Gen], ...]


def plan(fields: tuple[FieldDef, ...], skip: frozenset[str]) -> Plan:
    """Per field: (name, may be left empty, is the company name, generator); build once per object."""
    return tuple(
        (
            f.name,
            not f.required and f.type not in ("reference", "owner", "picklist"),
            f.gen == "company",
            generator(f),
        )
        for f in fields
        if f.name not in skip
    )


def build_record(fields: Plan, ctx: Context) -> dict[str, Any]:
    """Generate the values of every planned field; scratch keys (``_city``...) are dropped."""
    rec: dict[str, Any] = {}
    rnd = ctx.rng.random
    for name, optional, is_company, gen in fields:
        if optional and rnd() < 0.08:
            rec[name] = None  # some optional fields stay empty, as in real data
            continue
        v = rec[name] = gen(rec, ctx)
        if is_company:
            rec["_name"] = v
            rec["_domain"] = f"{slug(v.split()[0])}.{ctx.rng.choice(TLDS)}"
    return {k: v for k, v in rec.items() if k[0] != "_"}
