"""Models API: train, list, compare, one model, suggestions for a recording, the project's queue order."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.consent.purposes import Purpose
from apps.consent.selectors import recording_get_usable
from apps.core.permissions import ANYONE, MANAGERS, Role, project_role_require
from apps.learning import services
from apps.learning.backends import cnn_available
from apps.learning.models import Backend, QueueOrder, Task, Uncertainty
from apps.learning.selectors import model_get, model_json, model_list

SUGGESTION_ROLES = (Role.MANAGER, Role.ANNOTATOR, Role.REVIEWER)


class ModelCreateInput(serializers.Serializer):
    task = serializers.ChoiceField(choices=Task.choices, default=Task.REGION)
    backend = serializers.ChoiceField(choices=Backend.choices, default=Backend.SKLEARN)
    recipe = serializers.DictField(required=False, default=dict)


class SettingsInput(serializers.Serializer):
    queue_order = serializers.ChoiceField(choices=QueueOrder.choices, required=False)
    uncertainty = serializers.ChoiceField(choices=Uncertainty.choices, required=False)
    coverage_weight = serializers.FloatField(required=False, min_value=0.0, max_value=1.0)


class ProjectModelsView(APIView):
    """A project's models (newest first); managers start training one (POST → 202, trains on the train queue)."""

    def get(self, request, project_id):
        project_role_require(request.user, project_id, ANYONE)
        return Response(
            {
                "results": [model_json(m) for m in model_list(request.user, project_id=project_id)],
                "cnn_available": cnn_available(),
            }
        )

    @extend_schema(request=ModelCreateInput, responses={202: {"type": "object", "additionalProperties": True}})
    def post(self, request, project_id):
        project_role_require(request.user, project_id, MANAGERS)
        data = ModelCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        model = services.model_create(project_id=project_id, actor=request.user, **data.validated_data)
        return Response(model_json(model), status=status.HTTP_202_ACCEPTED)


class ProjectModelsCompareView(APIView):
    """Every model of the project side by side: recipe, training-set size, held-out figures, state."""

    def get(self, request, project_id):
        project_role_require(request.user, project_id, ANYONE)
        rows = []
        for m in model_list(request.user, project_id=project_id):
            metrics = m.metrics or {}
            rows.append(
                {
                    "id": m.pk,
                    "version": m.version,
                    "task": m.task,
                    "backend": m.backend,
                    "state": m.state,
                    "recipe": m.recipe,
                    "train_examples": (m.counts or {}).get("train", {}).get("examples"),
                    "test_examples": (m.counts or {}).get("test", {}).get("examples"),
                    "accuracy": metrics.get("accuracy"),
                    "macro_f1": metrics.get("macro_f1"),
                    "chance": metrics.get("chance"),
                    "train_seconds": metrics.get("train_seconds"),
                }
            )
        return Response({"results": rows})


class ModelDetailView(APIView):
    def get(self, request, model_id):
        return Response(model_json(model_get(request.user, model_id)))


class RecordingSuggestionsView(APIView):
    """The latest ready model's suggested regions for a recording (none from a stale model)."""

    def get(self, request, recording_id):
        recording = recording_get_usable(request.user, Purpose.ANNOTATE, recording_id, roles=SUGGESTION_ROLES)
        return Response(services.recording_suggestions(recording=recording))


class ProjectLearningView(APIView):
    """The project's queue order (id, random, uncertainty) and what it means now; managers change it."""

    def get(self, request, project_id):
        project_role_require(request.user, project_id, ANYONE)
        return Response(services.queue_order_describe(project_id))

    @extend_schema(request=SettingsInput)
    def put(self, request, project_id):
        project_role_require(request.user, project_id, MANAGERS)
        data = SettingsInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.learning_settings_set(project_id=project_id, **data.validated_data)
        return Response(services.queue_order_describe(project_id))
