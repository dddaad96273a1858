from django.contrib import admin
from django.urls import include, path

from leads.accounts.views import PasswordChangeView

urlpatterns = [
    # Ours first: changing the password also ends a one-time password from `createagent`.
    path("accounts/password_change/", PasswordChangeView.as_view(), name="password_change"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("", include("leads.urls")),
]
