"""Rendered pages kept for the next identical request: the invoice list answered in a
few queries instead of rendering again.

A page is kept under a key naming everything it shows: the user (and their session), the
address and query, the htmx headers that pick a body, the language, the time zone and the
day, and what the view passes as `depends_on` (the list: each connection's row, whose
data and notes versions are bumped by every write to its invoices and notes, the user's
role on it, their preferences, saved views and selection, and the sync runs the banner
shows). A write changes the key, so no kept page is served stale; what changes with time
alone (an age in words) is kept only until it would (the `until` its view gives); the
time a page is kept (`PAGE_CACHE_SECONDS`) only bounds the memory.

The rows a key is made of are read with SQL the ORM compiled once per query and its
parameters (`rows`): the same queries, without building them again for every request.

What differs per response is not kept: the CSRF token (masked afresh for every answer, as
Django does, so a page compressed with it gives a BREACH attacker nothing to compare) is
put back as a fresh one; a page with messages to show (shown once) is neither kept nor
served from the cache.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from functools import cache as memoize
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.templatetags.static import static
from django.utils import timezone, translation

# Where a rendered page holds its CSRF token: the forms' hidden field and htmx's header.
_TOKEN = re.compile(rb'(?:name="csrfmiddlewaretoken" value="|"X-CSRFToken": ")([A-Za-z0-9]{64})"')
_PLACEHOLDER = b"\x00csrf-token\x00"
# The htmx request headers a view's answer may depend on (the others, e.g. the current
# URL, name the page the request came from, not what it asks for).
_HTMX_HEADERS = ("HTTP_HX_REQUEST", "HTTP_HX_HISTORY_RESTORE_REQUEST", "HTTP_HX_TARGET",
                 "HTTP_HX_BOOSTED")  # fmt: skip


# Compiled SQL by query and parameters, most recently used last (None: matches nothing).
_COMPILED: OrderedDict[tuple[Any, ...], tuple[str, tuple[Any, ...]] | None] = OrderedDict()
_COMPILED_MAX = 4096
_compiled_lock = threading.Lock()


def rows(key: tuple[Any, ...], build: Callable[[], QuerySet]) -> list[tuple[Any, ...]]:
    """The rows of `build()`'s query as the database returns them (no conversion: they
    are compared, not shown), its SQL compiled once per `key`, which must name everything
    the query depends on (its parameters: a user's id, a list of ids)."""
    with _compiled_lock:
        compiled = _COMPILED.get(key, False)
        if compiled is not False:
            _COMPILED.move_to_end(key)
    if compiled is False:
        try:
            compiled = build().query.sql_with_params()
        except EmptyResultSet:
            compiled = None
        with _compiled_lock:
            _COMPILED[key] = compiled
            while len(_COMPILED) > _COMPILED_MAX:
                _COMPILED.popitem(last=False)
    if compiled is None:
        return []
    sql, params = compiled
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def converted(build: Callable[[], QuerySet], raw: list[tuple[Any, ...]]) -> list[list[Any]]:
    """`raw` (from `rows(…, build)`) as `build()`'s queryset would have returned them
    (its fields' conversions from the database: JSON, dates on SQLite…), with no query:
    a page rendered after its key was read builds on the same rows."""
    if not raw:
        return []
    queryset = build()
    compiler = queryset.query.get_compiler(using=queryset.db)
    compiler.as_sql()  # sets up the select the converters follow
    return [list(values) for values in compiler.results_iter(results=[raw])]


@memoize
def _release() -> str:
    """What names this deploy's static files (their hashed names outside DEBUG)."""
    return static("css/app.css") + static("js/app.js")


def page_key(request: HttpRequest, depends_on: Any) -> str:
    user = request.user
    parts = (
        _release(),
        (user.pk, user.get_username(), user.is_staff, user.is_superuser),
        request.session.session_key,
        request.path,
        sorted(request.GET.lists()),
        [request.META.get(name, "") for name in _HTMX_HEADERS],
        translation.get_language(),
        timezone.get_current_timezone_name(),
        timezone.localtime().utcoffset(),  # the zone's abbreviation changes with DST
        timezone.localdate().isoformat(),
        depends_on,
    )
    return "page:" + hashlib.blake2b(repr(parts).encode(), digest_size=20).hexdigest()


def cached_page(
    request: HttpRequest,
    *,
    depends_on: Any,
    render: Callable[[], tuple[HttpResponse, datetime | None]],
) -> HttpResponse:
    """The answer `render()` gives to this GET (with the moment it would first differ
    with time alone, or None), or the one kept for the same request while nothing it
    `depends_on` changed and that moment has not come (see the module's docstring)."""
    if request.method != "GET" or len(messages.get_messages(request)):
        return render()[0]  # (len() does not mark the messages shown)
    key = page_key(request, depends_on)
    kept = cache.get(key)
    if kept is not None:
        until, content_type, body = kept
        if until is None or time.time() < until:
            return HttpResponse(_tokens_in(request, body), content_type=content_type)
    response, until_moment = render()
    if response.status_code == 200 and not response.streaming and not response.cookies:
        until = until_moment.timestamp() if until_moment is not None else None
        cache.set(
            key, (until, response["Content-Type"], _tokens_out(response.content)),
            settings.PAGE_CACHE_SECONDS,
        )  # fmt: skip
    return response


def _tokens_out(body: bytes) -> bytes:
    for token in {match.group(1) for match in _TOKEN.finditer(body)}:
        body = body.replace(token, _PLACEHOLDER)
    return body


def _tokens_in(request: HttpRequest, body: bytes) -> bytes:
    if _PLACEHOLDER not in body:
        return body
    return body.replace(_PLACEHOLDER, get_token(request).encode())
