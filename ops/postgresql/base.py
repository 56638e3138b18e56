"""Django's PostgreSQL backend, told PostgreSQL's limit of 65,535 parameters a statement.

With server-side binding (config/settings.py, DATABASE_PREPARED) the parameters travel apart from the query text,
and PostgreSQL refuses a statement with more. Django 5.2 does not know the limit (later versions do, ticket #36822):
bulk_create, bulk_update and the deletion collector would send every object in one statement, and an operation
on a whole year's rows would fail instead of running in batches."""

from django.db.backends.postgresql import base, features, operations
from django.utils.functional import cached_property

MAX_PARAMETERS = 2**16 - 1


class DatabaseFeatures(features.DatabaseFeatures):
    @cached_property
    def max_query_params(self):
        return MAX_PARAMETERS if self.uses_server_side_binding else None


class DatabaseOperations(operations.DatabaseOperations):
    def bulk_batch_size(self, fields, objs):
        limit = self.connection.features.max_query_params
        if not (limit and fields):
            return super().bulk_batch_size(fields, objs)
        # Halved: bulk_update names its columns and the pk twice but sends two parameters a column and row.
        return max(limit // (2 * len(fields)), 1)


class DatabaseWrapper(base.DatabaseWrapper):
    features_class = DatabaseFeatures
    ops_class = DatabaseOperations
