"""/healthz: for load balancers and people, the truth about the database, the queue, the worker
and each bot's sync and edits. No login, and never a token."""

from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from leads.bots.status import bot_statuses
from leads.selectors import overview as selectors


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    report = selectors.health()
    if report["database"] == "ok":
        try:
            report["bots"] = [status.as_health() for status in bot_statuses()]
        except DatabaseError as e:
            report = {"database": "unreachable", "error": e.__class__.__name__}
    return JsonResponse(report, status=200 if report["database"] == "ok" else 503)
