from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "apps.consent"
    label = "consent"

    def ready(self):
        from apps.core.hooks import RECORDING_PANELS, hook_register
        from apps.consent.panels import recording_consent_panel

        hook_register(RECORDING_PANELS, recording_consent_panel)
