from django.apps import AppConfig

from apps.core.hooks import PROJECT_ROLE, hook_register


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"

    def ready(self):
        # Imports models, which load only once apps are ready
        from apps.accounts.selectors import role_in

        hook_register(PROJECT_ROLE, role_in)
