"""Model pages: the project's models (train, compare, queue order) and one model with its plots."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render

from apps.catalog.models import Project
from apps.core.errors import DomainError
from apps.core.permissions import ANYONE, Role, project_role_require
from apps.learning import services
from apps.learning.backends import cnn_available
from apps.learning.models import Backend, QueueOrder, Task, Uncertainty
from apps.learning.selectors import model_get, model_list


def _project_for(request, project_id, roles=ANYONE):
    role = project_role_require(request.user, project_id, roles, hide=True)
    return get_object_or_404(Project, id=project_id), role


def _post(request, project_id) -> None:
    action = request.POST.get("action")
    try:
        if action == "train":
            model = services.model_create(
                project_id=project_id,
                actor=request.user,
                task=request.POST.get("task", Task.REGION),
                backend=request.POST.get("backend", Backend.SKLEARN),
            )
            messages.success(request, f"Model v{model.version} is queued for training.")
        elif action == "queue":
            weight = request.POST.get("coverage_weight")
            services.learning_settings_set(
                project_id=project_id,
                queue_order=request.POST.get("queue_order"),
                uncertainty=request.POST.get("uncertainty") or None,
                coverage_weight=float(weight) if weight else None,
            )
            messages.success(request, "Queue order saved.")
    except DomainError as exc:
        messages.error(request, exc.message)
    except ValueError:
        messages.error(request, "coverage_weight must be a number between 0 and 1.")


@login_required
def models_page(request, project_id):
    project, role = _project_for(request, project_id)
    if request.method == "POST":
        if role != Role.MANAGER:
            raise Http404("No such project.")
        _post(request, project_id)
        return redirect("learning:models", project_id=project_id)
    return render(
        request,
        "learning/models.html",
        {
            "project": project,
            "role": role,
            "models": list(model_list(request.user, project_id=project_id)),
            "queue": services.queue_order_describe(project_id),
            "cnn_available": cnn_available(),
            "tasks": Task.choices,
            "backends": Backend.choices,
            "orders": QueueOrder.choices,
            "uncertainties": Uncertainty.choices,
        },
    )


@login_required
def model_page(request, model_id):
    model = model_get(request.user, model_id)
    project, role = _project_for(request, model.project_id)
    metrics = model.metrics or {}
    names = [n for _, n in model.classes]
    per = metrics.get("per_class") or []
    plots = {}
    if metrics.get("confusion"):
        from apps.learning import charts  # matplotlib (~40 MB a process) only where a chart is drawn

        plots = {
            "confusion": charts.confusion_chart(names, metrics["confusion"]),
            "per-class": charts.per_class_chart(names, [p["precision"] for p in per], [p["recall"] for p in per]),
            "curve": charts.curve_chart(metrics.get("curve") or []),
        }
    rows = [{"name": n, **p} for n, p in zip(names, per)]
    return render(
        request,
        "learning/model.html",
        {
            "project": project,
            "role": role,
            "model": model,
            "metrics": metrics,
            "plots": plots,
            "rows": rows,
            "queue": services.queue_order_describe(model.project_id),
            "cnn_available": cnn_available(),
        },
    )
