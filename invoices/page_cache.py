"""Rendered pages kept for the next identical request: the invoice list answered in a
few queries instead of rendering again.

A page is kept under a key naming everything it shows: the user (and their session), the
address and query, the htmx headers that pick a body, the language, the time zone and the
day, and what the view passes as `depends_on` (the list: each connection's row, whose
data and notes versions are bumped by every write to its invoices and notes, the user's
role on it, their preferences, saved views and selection, and the sync runs the banner
shows). A write changes the key, so no kept page is served stale; the time a page is kept
(`PAGE_CACHE_SECONDS`) only bounds the memory.

What differs per response is not kept: the CSRF token (masked afresh for every answer, as
Django does, so a page compressed with it gives a BREACH attacker nothing to compare) is
put back as a fresh one; a page with messages to show (shown once) is neither kept nor
served from the cache.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from functools import cache as memoize
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.db.models import Model
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


def row(instance: Model | None, *, leave_out: tuple[str, ...] = ()) -> tuple[Any, ...] | None:
    """Every column of `instance` as loaded (but `leave_out`), for a `depends_on`."""
    if instance is None:
        return None
    return tuple(
        getattr(instance, field.attname)
        for field in instance._meta.concrete_fields
        if field.name not in leave_out
    )


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
    request: HttpRequest, *, depends_on: Any, render: Callable[[], HttpResponse]
) -> HttpResponse:
    """`render()`'s answer to this GET, or the one kept for the same request when
    nothing it `depends_on` changed (see the module's docstring)."""
    if request.method != "GET" or len(messages.get_messages(request)):
        return render()  # (len() does not mark the messages shown)
    key = page_key(request, depends_on)
    kept = cache.get(key)
    if kept is not None:
        content_type, body = kept
        return HttpResponse(_tokens_in(request, body), content_type=content_type)
    response = render()
    if response.status_code == 200 and not response.streaming and not response.cookies:
        cache.set(
            key, (response["Content-Type"], _tokens_out(response.content)),
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
