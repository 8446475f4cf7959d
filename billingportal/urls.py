from django.contrib import admin
from django.urls import include, path

from billingportal import observability

urlpatterns = [
    # For load balancers and operators: no login, JSON (billingportal/observability.py).
    path("healthz", observability.healthz, name="healthz"),
    path("readyz", observability.readyz, name="readyz"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    # The language picker (base.html) posts to `set_language` here.
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("invoices.urls")),
]
