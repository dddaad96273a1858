"""Authentication helpers: a user's permissions loaded with the user, the client address for
login throttling."""

from functools import cache

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL


@cache
def permissions_sql(user_id: str) -> str:
    """A correlated subquery: the permissions (own and through groups) of the user whose id is
    the SQL expression `user_id`, as one comma-separated string of "app_label.codename"."""
    user_model = get_user_model()
    groups = user_model.groups.through._meta.db_table
    own = user_model.user_permissions.through._meta.db_table
    concat = "group_concat(%s, ',')" if connection.vendor == "sqlite" else "string_agg(%s, ',')"
    value = "ct.app_label || '.' || p.codename"
    return (
        f"(SELECT {concat % value} FROM auth_permission p"
        " JOIN django_content_type ct ON ct.id = p.content_type_id"
        f" WHERE p.id IN (SELECT permission_id FROM {own} WHERE user_id = {user_id}"
        " UNION SELECT gp.permission_id FROM auth_group_permissions gp"
        f" JOIN {groups} ug ON ug.group_id = gp.group_id WHERE ug.user_id = {user_id}))"
    )


def attach_permissions(user, permissions: str | None) -> None:
    """Give `user` the permissions permissions_sql() read (a superuser has them all anyway)."""
    if not user.is_superuser:
        user._perm_cache = {p for p in (permissions or "").split(",") if p}


class RoleBackend(ModelBackend):
    """Django's ModelBackend, but the signed-in user's permissions come in the same query as the
    user (every page checks a role), so a role costs no extra query per request; and on a page
    the session's own query has read both already (leads.accounts.sessions)."""

    def get_user(self, user_id):
        from leads.accounts.sessions import take_loaded_user

        user = take_loaded_user(user_id)
        if user is None:
            user_model = get_user_model()
            table = connection.ops.quote_name(user_model._meta.db_table)
            try:
                user = user_model._default_manager.annotate(
                    _role_perms=RawSQL(permissions_sql(f"{table}.id"), ())
                ).get(pk=user_id)
            except user_model.DoesNotExist:
                return None
            attach_permissions(user, user._role_perms)
        if not self.user_can_authenticate(user):
            return None
        return user

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            perms = Permission.objects.all()
            if not user_obj.is_superuser:
                perms = perms.filter(Q(user=user_obj) | Q(group__user=user_obj))
            rows = perms.values_list("content_type__app_label", "codename").order_by().distinct()
            user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in rows}
        return user_obj._perm_cache


def client_ip(request) -> str:
    """The address login throttling counts failures for.

    Behind TRUSTED_PROXY_COUNT reverse proxies (nginx, a load balancer) that each append to
    X-Forwarded-For, the client is that many entries from the right; anything further left was
    sent by the client and cannot be trusted. With no proxy, the socket's address."""
    count = settings.TRUSTED_PROXY_COUNT
    if count > 0:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [h for h in hops if h]
        if len(hops) >= count:
            return hops[-count]
    return request.META.get("REMOTE_ADDR", "")
