"""Rendering runs here, on a Celery worker: the request returns at once and the page shows progress."""

from __future__ import annotations

from celery import shared_task

from casefile.services import casefile_render


@shared_task(name="casefile.render", acks_late=True)
def render_case_file(export_id: str) -> str:
    return casefile_render(export_id).status
