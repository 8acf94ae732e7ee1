"""Plausible values by a field's name: a `year` is a year, a `count` is small, an `email` looks like one.

`schema_instances.schema_instance` asks here when a schema leaves room. A name is read as words
(`birthYear`, `birth_year` and `birth-year` are `birth year`), the last word that names
something deciding, so `user_count` is a count and `count_of_users` is too (`of` links
back to the word before it). Numeric ranges are only a preference: the schema's own bounds
always win (see `schema_instances`).
"""

from __future__ import annotations

import datetime as dt
import random
import re
import uuid
from typing import Any

__all__ = ["Range", "field_name", "number_range", "singular", "text", "words"]

Range = tuple[float, float, int]  # low, high, decimals (0: a whole number)

_COUNT: Range = (0, 20, 0)
_MONEY: Range = (1, 500, 2)

# word -> the range its numbers fall in
_NUMBERS: dict[str, Range] = {
    "year": (1950, 2030, 0),
    "age": (18, 90, 0),
    "count": _COUNT,
    "quantity": _COUNT,
    "qty": _COUNT,
    "num": _COUNT,
    "number": _COUNT,
    "total": _MONEY,
    "price": _MONEY,
    "cost": _MONEY,
    "fee": _MONEY,
    "amount": _MONEY,
    "balance": _MONEY,
    "subtotal": _MONEY,
    "salary": (30000, 150000, 0),
    "income": (30000, 150000, 0),
    "revenue": (10000, 5000000, 0),
    "budget": (1000, 100000, 0),
    "percentage": (0, 100, 2),
    "percent": (0, 100, 2),
    "pct": (0, 100, 2),
    "rating": (1, 5, 1),
    "stars": (1, 5, 0),
    "score": (0, 100, 1),
    "confidence": (0, 1, 2),
    "probability": (0, 1, 2),
    "likelihood": (0, 1, 2),
    "month": (1, 12, 0),
    "week": (1, 52, 0),
    "day": (1, 28, 0),
    "hour": (0, 23, 0),
    "minute": (0, 59, 0),
    "second": (0, 59, 0),
    "duration": (1, 120, 0),
    "latitude": (-90, 90, 4),
    "lat": (-90, 90, 4),
    "longitude": (-180, 180, 4),
    "lng": (-180, 180, 4),
    "lon": (-180, 180, 4),
    "temperature": (-10, 35, 1),
    "temp": (-10, 35, 1),
    "weight": (1, 100, 1),
    "height": (50, 200, 0),
    "length": (1, 100, 0),
    "width": (1, 100, 0),
    "distance": (1, 1000, 1),
    "population": (1000, 5000000, 0),
    "id": (1, 9999, 0),
    "page": (1, 20, 0),
    "index": (0, 20, 0),
    "rank": (1, 20, 0),
    "position": (1, 20, 0),
    "level": (1, 10, 0),
    "version": (1, 10, 0),
    "port": (1024, 65535, 0),
}

# word (or two words joined by `_`) -> what its text is; `faker:NAME` is a Faker provider
_TEXTS: dict[str, str] = {
    "email": "faker:email",
    "mail": "faker:email",
    "first_name": "faker:first_name",
    "firstname": "faker:first_name",
    "given_name": "faker:first_name",
    "last_name": "faker:last_name",
    "lastname": "faker:last_name",
    "family_name": "faker:last_name",
    "surname": "faker:last_name",
    "full_name": "faker:name",
    "name": "faker:name",
    "author": "faker:name",
    "person": "faker:name",
    "director": "faker:name",
    "actor": "faker:name",
    "artist": "faker:name",
    "writer": "faker:name",
    "owner": "faker:name",
    "manager": "faker:name",
    "customer": "faker:name",
    "contact": "faker:name",
    "assignee": "faker:name",
    "speaker": "faker:name",
    "user_name": "faker:user_name",
    "username": "faker:user_name",
    "login": "faker:user_name",
    "handle": "faker:user_name",
    "password": "faker:password",
    "city": "faker:city",
    "city_name": "faker:city",
    "town": "faker:city",
    "location": "faker:city",
    "country": "faker:country",
    "country_name": "faker:country",
    "country_code": "faker:country_code",
    "nationality": "faker:country",
    "state": "faker:state",
    "province": "faker:state",
    "region": "faker:state",
    "street": "faker:street_address",
    "address": "faker:address",
    "zip": "faker:postcode",
    "zipcode": "faker:postcode",
    "zip_code": "faker:postcode",
    "postcode": "faker:postcode",
    "postal_code": "faker:postcode",
    "phone": "faker:phone_number",
    "phone_number": "faker:phone_number",
    "mobile": "faker:phone_number",
    "telephone": "faker:phone_number",
    "company": "faker:company",
    "company_name": "faker:company",
    "organization": "faker:company",
    "organisation": "faker:company",
    "employer": "faker:company",
    "url": "url",
    "uri": "url",
    "link": "url",
    "website": "url",
    "homepage": "url",
    "href": "url",
    "domain": "faker:domain_name",
    "hostname": "faker:domain_name",
    "ip": "ipv4",
    "ip_address": "ipv4",
    "color": "faker:color_name",
    "colour": "faker:color_name",
    "currency": "faker:currency_code",
    "currency_code": "faker:currency_code",
    "language": "faker:language_name",
    "lang": "faker:language_name",
    "locale": "faker:locale",
    "job": "faker:job",
    "job_title": "faker:job",
    "occupation": "faker:job",
    "profession": "faker:job",
    "title": "title",
    "headline": "title",
    "product": "title",
    "product_name": "title",
    "date": "date",
    "birthday": "date",
    "birthdate": "date",
    "birth": "date",
    "dob": "date",
    "deadline": "date",
    "time": "time",
    "datetime": "datetime",
    "timestamp": "datetime",
    "at": "datetime",  # created_at, updated_at
    "uuid": "uuid",
    "guid": "uuid",
    "id": "id",
    "identifier": "id",
    "slug": "slug",
    "status": "choice:active|pending|completed",
    "priority": "choice:low|medium|high",
    "sentiment": "choice:positive|neutral|negative",
    "description": "sentence",
    "summary": "sentence",
    "reason": "sentence",
    "explanation": "sentence",
    "answer": "sentence",
    "content": "sentence",
    "text": "sentence",
    "message": "sentence",
    "comment": "sentence",
    "note": "sentence",
    "feedback": "sentence",
    "review": "sentence",
    "bio": "sentence",
    "body": "sentence",
    "response": "sentence",
    "question": "question",
    "reasoning": "paragraph",
    "rationale": "paragraph",
    "thought": "paragraph",
    "thinking": "paragraph",
    "analysis": "paragraph",
    "justification": "paragraph",
}

# What an object's `name` names, by what the object is: a city's name is a city, a movie's a title.
_NAME_OF: dict[str, str] = {
    "city": "faker:city",
    "town": "faker:city",
    "country": "faker:country",
    "nation": "faker:country",
    "state": "faker:state",
    "province": "faker:state",
    "company": "faker:company",
    "organization": "faker:company",
    "organisation": "faker:company",
    "business": "faker:company",
    "employer": "faker:company",
    "language": "faker:language_name",
    "color": "faker:color_name",
    "colour": "faker:color_name",
    "product": "title",
    "book": "title",
    "movie": "title",
    "film": "title",
    "song": "title",
    "album": "title",
    "game": "title",
    "project": "title",
    "course": "title",
    "event": "title",
}
for _owner, _kind in _NAME_OF.items():
    _TEXTS.setdefault(f"{_owner}_name", _kind)

_SPLIT = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_LINKS = frozenset({"of", "per", "in", "for", "the", "a", "an"})


def words(name: str) -> list[str]:
    """A field name as lower-case words: `birthYear`, `birth_year`, `Birth Year` are `birth`, `year`."""
    return [w.lower() for w in _SPLIT.findall(name)]


def singular(word: str) -> str:
    """`cities` is `city`, `users` is `user`; `class` stays."""
    if len(word) > 3 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _lookup(name: str, table: dict[str, Any]) -> Any:
    """The entry for the name's deciding word: the last word (or pair) the table knows."""
    parts = words(name)
    # `count_of_users`: the words after a link qualify the word before it
    for i, word in enumerate(parts):
        if word in _LINKS and i > 0:
            parts = parts[:i]
            break
    for i in range(len(parts) - 1, -1, -1):
        if i > 0:
            pair = f"{parts[i - 1]}_{parts[i]}"
            if pair in table:
                return table[pair]
        for word in (parts[i], singular(parts[i])):
            if word in table:
                return table[word]
    return None


def field_name(owner: str, key: str) -> str:
    """The name to read `key` by inside an object `owner` names (its title, or the field holding it).

    Only `name` reads differently: a `City`'s `name` is read as `city_name`, a city.
    """
    if key.lower() != "name":
        return key
    parts = words(owner)
    kind = singular(parts[-1]) if parts else ""
    return f"{kind}_name" if kind in _NAME_OF else key


def number_range(name: str, *, integer: bool) -> Range | None:
    """Where a number named `name` plausibly lies, or None when the name says nothing."""
    found: Range | None = _lookup(name, _NUMBERS) if name else None
    if found is None and integer and name:
        last = words(name)[-1:] or [""]
        if len(last[0]) > 3 and last[0].endswith("s") and not last[0].endswith("ss"):
            return _COUNT  # `legs`, `students`, `retries`: how many
    return found


def text(name: str, rng: random.Random, fake: Any, clock: int) -> str | None:
    """A string that looks like what `name` names, or None when the name says nothing."""
    kind: str | None = _lookup(name, _TEXTS) if name else None
    if kind is None:
        numbers = _lookup(name, _NUMBERS) if name else None
        if numbers is not None:  # a `year` or a `price` asked for as a string
            low, high, decimals = numbers
            value = round(rng.uniform(low, high), decimals)
            return str(int(value)) if decimals == 0 else f"{value:.{decimals}f}"
        return None
    if kind.startswith("faker:"):
        return str(getattr(fake, kind[6:])()) if fake is not None else None
    if kind.startswith("choice:"):
        return rng.choice(kind[7:].split("|"))
    moment = dt.datetime.fromtimestamp(clock - rng.randint(0, 86400 * 365 * 3), dt.timezone.utc)
    if kind == "date":
        return moment.strftime("%Y-%m-%d")
    if kind == "time":
        return moment.strftime("%H:%M")
    if kind == "datetime":
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if kind == "url":
        section = rng.choice(["docs", "items", "users", "about", "blog"])
        return f"https://example.com/{section}/{rng.randint(1, 999)}"
    if kind == "ipv4":
        return ".".join(str(rng.randint(1, 254)) for _ in range(4))
    if kind == "uuid":
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))
    if kind == "id":
        return f"{rng.getrandbits(48):012x}"
    if fake is None:
        return None
    if kind == "title":
        return str(fake.sentence(nb_words=3)).rstrip(".").title()
    if kind == "slug":
        return "-".join(str(w) for w in fake.words(nb=3))
    if kind == "question":
        return str(fake.sentence(nb_words=6)).rstrip(".") + "?"
    if kind == "paragraph":
        return str(fake.paragraph(nb_sentences=2))
    return str(fake.sentence())
