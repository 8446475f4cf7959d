"""Live provider reads in the UI: next billing dates, public links, the account page.

The two live views answer htmx with a small fragment that replaces the placeholder
(`billing_date_lazy.html`, `public_link_button.html`), and a plain GET (no JavaScript)
with the same fragment inside a small full page. A provider failure is a 200 with an
inline message and a retry button: htmx does not swap 4xx/5xx answers by default.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .. import audit
from ..explain import provider_error_words
from ..live import (
    account_billing_details_get,
    connection_live_features,
    connection_provider_label,
    invoice_public_link_get,
)
from ..models import AuditAction, AuditOutcome, Role
from ..providers import ProviderError, ProviderNotSupported
from ..selectors import account_get, account_summary, connection_role, invoice_get


@login_required
@require_GET
@never_cache
def account_next_billing_date(request: HttpRequest, pk: int) -> HttpResponse:
    account = account_get(user=request.user, pk=pk)
    context: dict[str, Any] = {
        "account": account,
        "retry_url": reverse("invoices:account_next_billing_date", args=[account.pk]),
        "back_url": reverse("invoices:account_detail", args=[account.pk]),
        "title": _("Next billing date · %(account)s") % {"account": account.name},
    }
    try:
        context["details"] = account_billing_details_get(user=request.user, account=account)
    except ProviderError as exc:
        context.update(_error_context(request, account.connection, exc))
    return _render(request, "invoices/partials/billing_date.html", context)


@login_required
@require_GET
@never_cache
def invoice_public_link(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = invoice_get(user=request.user, pk=pk)
    context: dict[str, Any] = {
        "invoice": invoice,
        "retry_url": reverse("invoices:invoice_public_link", args=[invoice.pk]),
        "back_url": f"{reverse('invoices:invoice_list')}?account={invoice.account_id}",
        "title": _("Public link · invoice %(number)s") % {"number": invoice.number},
    }
    try:
        context["link"] = link = invoice_public_link_get(user=request.user, invoice=invoice)
    except ProviderError as exc:
        context.update(_error_context(request, invoice.connection, exc))
        outcome = AuditOutcome.REFUSED if context["not_supported"] else AuditOutcome.FAILED
        _public_link_recorded(request, invoice, outcome, message=context["error"])
    else:
        _public_link_recorded(request, invoice, AuditOutcome.OK, expires_at=link.expires_at)
    return _render(request, "invoices/partials/public_link.html", context)


def _public_link_recorded(
    request: HttpRequest, invoice: Any, outcome: str, *, message: str = "", expires_at: Any = None
) -> None:
    # Which invoice's link was revealed, and until when it works: never the link itself
    # (it opens the invoice to anyone who holds it).
    audit.record(
        request, AuditAction.PUBLIC_LINK, connection=invoice.connection, target=invoice.number,
        outcome=outcome, message=message,
        detail={"expires_at": expires_at.isoformat() if expires_at else None},
    )  # fmt: skip


@login_required
@require_GET
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account = account_get(user=request.user, pk=pk)
    _links, billing_details = connection_live_features(account.connection)
    context = {
        "account": account,
        "summary": account_summary(account=account),
        "billing_details": billing_details,
        "provider_label": connection_provider_label(account.connection),
        "invoices_url": f"{reverse('invoices:invoice_list')}?account={account.pk}",
    }
    return render(request, "invoices/account_detail.html", context)


def _error_context(request: HttpRequest, connection: Any, error: ProviderError) -> dict[str, Any]:
    label = connection_provider_label(connection)
    role = connection_role(user=request.user, connection=connection)
    return {
        "error": provider_error_words(error, label=label),
        # The provider's own words (redacted by the clients) for who runs the connection.
        "error_detail": str(error) if role == Role.PARTNER_ADMIN else "",
        "not_supported": isinstance(error, ProviderNotSupported),
        "provider_label": label,
    }


def _render(request: HttpRequest, fragment: str, context: dict[str, Any]) -> HttpResponse:
    # htmx swaps the fragment in place; a history restore or a plain GET (no JavaScript,
    # a reload, an opened link) needs a whole page around it.
    if request.htmx and not request.htmx.history_restore_request:
        response = render(request, fragment, context)
    else:
        response = render(request, "invoices/live_result.html", {**context, "fragment": fragment})
    # One URL, two bodies: caches must key on the header that picks between them.
    patch_vary_headers(response, ["HX-Request"])
    return response
