"""Feedback: true labels for records, checked against the champion's inputs, used by retraining."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from pipeline_common.db import Feedback, new_id
from pipeline_common.tabular import records_frame

from ..dependencies import API, Services, authorized, get_services
from ..errors import COMMON
from ..schemas import FeedbackIn, FeedbackOut
from .models import champion_schema

router = APIRouter(prefix=API, tags=["feedback"], dependencies=[Depends(authorized)], responses=COMMON)


@router.post("/feedback", status_code=201, response_model=FeedbackOut)
def create_feedback(body: FeedbackIn, svc: Services = Depends(get_services)) -> FeedbackOut:
    name, _, schema = champion_schema(svc.settings, body.model_name)
    records_frame([body.record], schema, field="record")
    fb = Feedback(id=new_id(), model_name=name, record=body.record, label=body.label)
    with svc.sessions.begin() as s:
        s.add(fb)
    return FeedbackOut(id=fb.id, model_name=name, label=body.label)
