"""Queries compiled once per process: the SQL a queryset compiles to, with a stand-in where the
one value that changes goes. For the few queries every request makes, where Django compiling
them cost many times running them; everywhere else querysets are built as usual."""

from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet

# Stands for the value that changes (a user id) when the queryset is built: no row has it.
STAND_IN = -1


@dataclass(frozen=True)
class CompiledQuery:
    sql: str
    params: tuple

    def bind(self, value) -> list:
        """The parameters with `value` where the stand-in was."""
        return [value if param == STAND_IN else param for param in self.params]


def compile_once(queryset: QuerySet) -> CompiledQuery:
    """`queryset` (built with STAND_IN once among its values) as SQL and parameters; cache the
    result (functools.cache) so that this runs once per process."""
    sql, params = queryset.query.sql_with_params()
    if list(params).count(STAND_IN) != 1:
        raise ImproperlyConfigured(f"Expected the stand-in once among the parameters: {params}")
    return CompiledQuery(sql, tuple(params))
