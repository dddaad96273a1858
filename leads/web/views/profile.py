"""A person's own profile page: their name, time zone and BotPenguin agent id.

Post/Redirect/Get both ways: a valid form is saved and the page reloads with a message; an
invalid one is kept in the session and shown once by the GET it redirects to, with its errors
and what was typed, so reloading never sends the form again.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from leads import services
from leads.selectors import people
from leads.services.people import check_agent_id, check_time_zone, profile_of

# The session key of a refused form, shown once by the next GET.
DRAFT_KEY = "leads.profile_draft"
FIELDS = ("first_name", "last_name", "time_zone", "agent_id")


class ProfileForm(forms.Form):
    first_name = forms.CharField(label="First name", required=False, max_length=150)
    last_name = forms.CharField(label="Last name", required=False, max_length=150)
    time_zone = forms.CharField(
        label="Time zone",
        required=False,
        max_length=64,
        help_text="Dates on your pages are shown in it.",
    )
    agent_id = forms.CharField(
        label="BotPenguin agent id",
        required=False,
        max_length=255,
        help_text="The id BotPenguin assigns your leads to. Leave it empty to unlink.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_time_zone(self) -> str:
        return self._checked(check_time_zone, self.cleaned_data["time_zone"])

    def clean_agent_id(self) -> str:
        return self._checked(
            lambda value: check_agent_id(value, user=self.user), self.cleaned_data["agent_id"]
        )

    @staticmethod
    def _checked(check, value: str) -> str:
        try:
            return check(value)
        except services.ProfileRefused as e:
            raise forms.ValidationError(e.message) from e


def _initial(user) -> dict:
    profile = profile_of(user)
    return {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "time_zone": profile.time_zone,
        "agent_id": profile.agent_id,
    }


def profile(request: HttpRequest) -> HttpResponse:
    """Any signed-in person edits their own profile (LoginRequiredMiddleware sees to sign-in)."""
    if request.method == "POST":
        return _save(request)
    draft = request.session.pop(DRAFT_KEY, None)
    if draft is not None:
        form = ProfileForm(draft, user=request.user)
        form.is_valid()  # the errors the POST had, with what was typed
        status = 400
    else:
        form = ProfileForm(initial=_initial(request.user), user=request.user)
        status = 200
    person = people.person_of(request.user)
    context = {
        "form": form,
        "time_zones": services.time_zones(),
        "chosen_zone": form["time_zone"].value() or "",
        "server_zone": settings.TIME_ZONE,
        "person": person,
        "label": people.agent_label(person.agent_id) if person else None,
    }
    return render(request, "leads/profile.html", context, status=status)


def _save(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            services.profile_update(user=request.user, **form.cleaned_data)
        except services.ProfileRefused:
            saved = False  # the id was taken meanwhile: the GET checks again and says so
        else:
            saved = True
        if saved:
            messages.success(request, "Profile saved.")
            return redirect("leads:profile")
    request.session[DRAFT_KEY] = {name: request.POST.get(name, "") for name in FIELDS}
    return redirect("leads:profile")
