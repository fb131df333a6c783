from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "apps.consent"
    label = "consent"

    def ready(self):
        from apps.consent.services.audit import audit_login_event
        from apps.core.hooks import LOGIN_EVENT, hook_register

        hook_register(LOGIN_EVENT, audit_login_event)
