"""What a user chooses for the list, kept on the server: the columns."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from ..services import user_columns_set
from ..tables import COLUMNS


@login_required
@require_POST
def columns_choose(request: HttpRequest) -> HttpResponse:
    """Keep the chosen columns (unknown names dropped; none, or "defaults": the defaults)
    and go back to the list as it was (with htmx: its results, redrawn)."""
    chosen = [] if request.POST.get("defaults") else request.POST.getlist("columns")
    user_columns_set(user=request.user, columns=[name for name in COLUMNS if name in chosen])
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
        back = reverse("invoices:invoice_list")
    # 303: the browser (and htmx, which follows it) fetches the list with a GET.
    return HttpResponseRedirect(back, status=303)
