import django_filters

from apps.catalog.models import Recording, RecordingStatus


class RecordingFilter(django_filters.FilterSet):
    language = django_filters.CharFilter(field_name="language__tag")
    speaker = django_filters.CharFilter(field_name="speaker__code")
    status = django_filters.ChoiceFilter(choices=RecordingStatus.choices)
    min_duration = django_filters.NumberFilter(field_name="duration", lookup_expr="gte")
    max_duration = django_filters.NumberFilter(field_name="duration", lookup_expr="lte")

    class Meta:
        model = Recording
        fields = ["language", "speaker", "status", "min_duration", "max_duration"]
