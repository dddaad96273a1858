"""Where a form sends the person back to after a POST."""

from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme


def redirect_back(request: HttpRequest, fallback: str, *args) -> HttpResponseRedirect:
    """To the POST's `next` when it is a URL of this site (no other host, no other scheme, https
    kept), else to `fallback`: a URL or a URL name (reversed with `args`)."""
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        # Followed as a URL, never looked up as a URL name.
        return HttpResponseRedirect(target)
    return redirect(fallback, *args)
