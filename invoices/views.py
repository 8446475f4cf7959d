"""Views: thin - parse the request, call a selector or service, render."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .selectors import connection_overviews, connections_for_user


@login_required
def home(request: HttpRequest) -> HttpResponse:
    overviews = connection_overviews(connections=connections_for_user(request.user))
    return render(request, "invoices/home.html", {"overviews": overviews})
