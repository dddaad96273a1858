"""Sessions that load their signed-in user in the same query (SESSION_ENGINE = "leads.accounts.sessions").

Django reads a page's session in one query and its user in another. Every page needs both, and on
PostgreSQL a round trip costs about half a millisecond inside a request, so the session row here
carries its user's id (BrowserSession.user) and is read joined with that user and the user's
permissions. leads.accounts.backends.RoleBackend.get_user() then takes that user instead of querying again;
django.contrib.auth still verifies the session against the user exactly as it always does.

The user travels from the one to the other in a context variable, set by every session load (to
the user, or to None) and emptied when taken, so it never outlives the request that loaded it.
"""

import logging
from contextvars import ContextVar

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.core.exceptions import SuspiciousOperation
from django.db import connection
from django.db.models.expressions import RawSQL
from django.utils import timezone

from leads.accounts import backends as auth

_loaded_user = ContextVar("botpanel_session_user", default=None)


def take_loaded_user(user_id: object):
    """The user the current request's session load read with it, if it is `user_id`; else None.
    Either way the loaded user is forgotten."""
    user = _loaded_user.get()
    _loaded_user.set(None)
    if user is not None and str(user.pk) == str(user_id):
        return user
    return None


class SessionStore(DBStore):
    @classmethod
    def get_model_class(cls):
        from leads.models import BrowserSession

        return BrowserSession

    def create_model_instance(self, data):
        row = super().create_model_instance(data)
        try:
            row.user_id = int(data.get(SESSION_KEY))
        except (TypeError, ValueError):
            row.user_id = None
        return row

    def _get_session_from_db(self):
        """Django's own read of the session row (the same query, errors and logging), joined
        with the signed-in user and the user's permissions."""
        _loaded_user.set(None)
        user_id = f"{connection.ops.quote_name(self.model._meta.db_table)}.user_id"
        rows = self.model.objects.select_related("user").annotate(
            user_permissions=RawSQL(auth.permissions_sql(user_id), ())
        )
        try:
            row = rows.get(session_key=self.session_key, expire_date__gt=timezone.now())
        except (self.model.DoesNotExist, SuspiciousOperation) as e:
            if isinstance(e, SuspiciousOperation):
                logger = logging.getLogger(f"django.security.{e.__class__.__name__}")
                logger.warning(str(e))
            self._session_key = None
            return None
        if row.user is not None:
            auth.attach_permissions(row.user, row.user_permissions)
            _loaded_user.set(row.user)
        return row
