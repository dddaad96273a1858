"""The password change page, which also ends the one-time password of a new account."""

from django.contrib import messages
from django.contrib.auth import views as auth_views

from leads.accounts.middleware import ONE_TIME_SIGN_IN
from leads.models import PasswordChangeRequired


class PasswordChangeView(auth_views.PasswordChangeView):
    def form_valid(self, form):
        response = super().form_valid(form)
        PasswordChangeRequired.objects.filter(user=self.request.user).delete()
        self.request.session.pop(ONE_TIME_SIGN_IN, None)
        messages.success(self.request, "Your password was changed.")
        return response
