from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Running the system: backup and restore, database set-up, and the session timestamps of ops.security."""

    name = "ops"
    verbose_name = "运维"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        # In ready(): these import django-axes, whose models need the app registry.
        from ops import login_throttle  # noqa: F401 - registers its system check
        from ops.security import stamp_login

        user_logged_in.connect(stamp_login, dispatch_uid="ops.stamp_login")
