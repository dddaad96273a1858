"""Authentication: the signed-in user loaded with their permissions, and the client address that
login throttling counts failures for."""

from functools import cache

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.db.models import Aggregate, OuterRef, QuerySet, Subquery, TextField

from leads.compiled import STAND_IN, CompiledQuery, compile_once


class PermissionNames(Aggregate):
    """Every "app_label.codename" of the rows, comma-joined: STRING_AGG on PostgreSQL,
    GROUP_CONCAT on SQLite (Django 5.2 has no portable string aggregate). Takes the app label
    and the codename expressions, joined by a dot in SQL."""

    function = "STRING_AGG"
    template = "%(function)s(%(expressions)s, ',')"
    arg_joiner = " || '.' || "
    output_field = TextField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, function="GROUP_CONCAT", **extra_context)


def _names(rows, path: str) -> Subquery:
    """The permissions reached from `rows` (one user's rows of a through table) through `path`."""
    names = PermissionNames(f"{path}__content_type__app_label", f"{path}__codename")
    return Subquery(rows.order_by().values("user").annotate(names=names).values("names"))


@cache
def users_with_permissions() -> QuerySet:
    """Users annotated with their own and their groups' permissions, each as one comma-joined
    string (None without any). Built once per process, like a generic view's `queryset`: every
    get() works on a copy, and resolving the subqueries costs more than running them. A group
    without permissions joins as NULL, which the aggregate skips."""
    user_model = get_user_model()
    own = user_model.user_permissions.through.objects.filter(user=OuterRef("pk"))
    groups = user_model.groups.through.objects.filter(user=OuterRef("pk"))
    return user_model.objects.annotate(
        own_permission_names=_names(own, "permission"),
        group_permission_names=_names(groups, "group__permissions"),
    )


@cache
def user_with_permissions_query() -> CompiledQuery:
    """users_with_permissions() for one user id, compiled once per process: compiling the two
    subqueries costs as much as running them, on every request."""
    return compile_once(users_with_permissions().filter(pk=STAND_IN))


def split_names(*joined: str | None) -> frozenset[str]:
    return frozenset(name for text in joined if text for name in text.split(",") if name)


class RoleBackend(ModelBackend):
    """Django's ModelBackend, but the signed-in user's permissions come in the same query as the
    user (every page checks a role), as `user.role_permissions`, so a role check costs no query
    of its own. That query is compiled once per process (user_with_permissions_query)."""

    def get_user(self, user_id):
        user_model = get_user_model()
        try:
            user_id = user_model._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        query = user_with_permissions_query()
        users = user_model.objects.raw(query.sql, query.bind(user_id))
        user = next(iter(users), None)
        if user is None:
            return None
        user.role_permissions = split_names(user.own_permission_names, user.group_permission_names)
        return user if self.user_can_authenticate(user) else None

    def get_all_permissions(self, user_obj, obj=None):
        loaded = getattr(user_obj, "role_permissions", None)
        if loaded is None or obj is not None or not user_obj.is_active or user_obj.is_superuser:
            # Not loaded by get_user (a user from authenticate() or the ORM), or a case
            # ModelBackend answers differently: a superuser holds every permission.
            return super().get_all_permissions(user_obj, obj)
        return loaded


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
