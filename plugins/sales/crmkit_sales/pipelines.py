"""Pipelines, their ordered stages and each stage's automations; loading them from a file.

A pipeline file (YAML or JSON) is the truth for the pipelines it names: stages are matched by
name, created, changed and put in the file's order; a stage the file leaves out is removed unless
deals have been in it (then the load is refused, naming it). Each stage's automations become
exactly the file's list. See ``automation.py`` for what an automation can do.
"""
from __future__ import annotations

import json
from collections.abc import Mapping

import peewee

from crmkit.db import utcnow
from crmkit.errors import Conflict, NotFound, ValidationError

from crmkit_sales import automation
from crmkit_sales.models import (LOST, STAGE_KINDS, WON, Automation, Deal, Pipeline, Stage,
                                 StageHistory)
from crmkit_sales.money import check_currency

DEFAULT_PROBABILITY = {WON: 100, LOST: 0}


# -- pipelines ------------------------------------------------------------------------------------

def get_pipeline(ref) -> Pipeline:
    """A pipeline by id or name."""
    if isinstance(ref, int) or str(ref).isdigit():
        pipeline = Pipeline.get_or_none(Pipeline.id == int(ref))
    else:
        pipeline = Pipeline.get_or_none(Pipeline.name == str(ref))
    if pipeline is None:
        raise NotFound(f"No pipeline {ref!r}.")
    return pipeline


def list_pipelines(active: bool | None = None) -> list[Pipeline]:
    query = Pipeline.select().order_by(Pipeline.position, Pipeline.id)
    if active is not None:
        query = query.where(Pipeline.active == active)
    return list(query)


def _check_pipeline(data: Mapping, errors: dict, pipeline_id: int | None = None) -> dict:
    clean = {k: data[k] for k in ("name", "position", "active") if k in data}
    if "name" in data:
        name = str(data["name"] or "").strip()
        if not name or len(name) > 100:
            errors["name"] = "Use 1-100 characters."
        elif Pipeline.select().where(Pipeline.name == name,
                                     Pipeline.id != (pipeline_id or 0)).exists():
            errors["name"] = f"A pipeline named {name!r} exists already."
        clean["name"] = name
    if "currency" in data:
        clean["currency"] = check_currency(data["currency"], "currency", errors)
    return clean


def create_pipeline(data: Mapping) -> Pipeline:
    errors: dict = {}
    if not data.get("name"):
        errors["name"] = "Missing data for required field."
    clean = _check_pipeline(data, errors)
    if errors:
        raise ValidationError(errors)
    if "position" not in clean:
        clean["position"] = (Pipeline.select(peewee.fn.MAX(Pipeline.position)).scalar() or 0) + 1
    pipeline = Pipeline.create(**clean)
    for i, stage in enumerate(data.get("stages") or []):
        try:
            add_stage(pipeline, stage)
        except ValidationError as exc:
            raise ValidationError({f"stages.{i}.{k}": v for k, v in exc.fields.items()}) from None
    return pipeline


def update_pipeline(pipeline: Pipeline, data: Mapping) -> Pipeline:
    errors: dict = {}
    clean = _check_pipeline(data, errors, pipeline.id)
    if errors:
        raise ValidationError(errors)
    for key, value in clean.items():
        setattr(pipeline, key, value)
    pipeline.updated_at = utcnow()
    pipeline.save()
    return pipeline


def delete_pipeline(pipeline: Pipeline) -> None:
    if Deal.select().where(Deal.pipeline == pipeline).exists():
        raise Conflict(f"The pipeline {pipeline.name!r} has deals; set it inactive instead.")
    pipeline.delete_instance(recursive=True)


# -- stages ---------------------------------------------------------------------------------------

def stages_of(pipeline: Pipeline) -> list[Stage]:
    return list(Stage.select().where(Stage.pipeline == pipeline)
                .order_by(Stage.position, Stage.id))


def get_stage(stage_id: int) -> Stage:
    stage = Stage.get_or_none(Stage.id == stage_id)
    if stage is None:
        raise NotFound(f"No stage with id {stage_id}.")
    return stage


def _check_stage(data: Mapping, errors: dict, pipeline: Pipeline,
                 stage_id: int | None = None) -> dict:
    clean: dict = {}
    if "name" in data:
        name = str(data["name"] or "").strip()
        if not name or len(name) > 100:
            errors["name"] = "Use 1-100 characters."
        elif Stage.select().where(Stage.pipeline == pipeline, Stage.name == name,
                                  Stage.id != (stage_id or 0)).exists():
            errors["name"] = f"The pipeline already has a stage named {name!r}."
        clean["name"] = name
    if "kind" in data:
        if data["kind"] not in STAGE_KINDS:
            errors["kind"] = f"One of: {', '.join(STAGE_KINDS)}."
        clean["kind"] = data["kind"]
    if "probability" in data:
        value = data["probability"]
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100:
            errors["probability"] = "A whole percentage from 0 to 100."
        clean["probability"] = value
    if "rotting_days" in data:
        value = data["rotting_days"]
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or not 1 <= value <= 3650):
            errors["rotting_days"] = "Whole days from 1 to 3650, or null."
        clean["rotting_days"] = value
    if "position" in data:
        clean["position"] = data["position"]
    return clean


def add_stage(pipeline: Pipeline, data: Mapping) -> Stage:
    errors: dict = {}
    if not data.get("name"):
        errors["name"] = "Missing data for required field."
    clean = _check_stage(data, errors, pipeline)
    if errors:
        raise ValidationError(errors)
    clean.setdefault("kind", "open")
    clean.setdefault("probability", DEFAULT_PROBABILITY.get(clean["kind"], 0))
    if "position" not in clean:
        top = Stage.select(peewee.fn.MAX(Stage.position)).where(Stage.pipeline == pipeline)
        clean["position"] = (top.scalar() or 0) + 1
    stage = Stage.create(pipeline=pipeline, **clean)
    if data.get("automations"):
        set_automations(stage, data["automations"])
    return stage


def update_stage(stage: Stage, data: Mapping) -> Stage:
    errors: dict = {}
    clean = _check_stage(data, errors, stage.pipeline, stage.id)
    if "kind" in clean and clean["kind"] != stage.kind and \
            Deal.select().where(Deal.stage == stage).exists():
        errors["kind"] = "Deals are in this stage; move them before changing its kind."
    if errors:
        raise ValidationError(errors)
    for key, value in clean.items():
        setattr(stage, key, value)
    stage.save()
    if "automations" in data:
        set_automations(stage, data["automations"] or [])
    return stage


def stage_in_use(stage: Stage) -> bool:
    return (Deal.select().where(Deal.stage == stage).exists()
            or StageHistory.select().where(StageHistory.stage == stage).exists())


def delete_stage(stage: Stage) -> None:
    if stage_in_use(stage):
        raise Conflict(f"Deals have been in the stage {stage.name!r}; its history must stay.")
    stage.delete_instance(recursive=True)


def reorder_stages(pipeline: Pipeline, stage_ids: list[int]) -> list[Stage]:
    current = {s.id for s in stages_of(pipeline)}
    if sorted(stage_ids) != sorted(current):
        raise ValidationError({"stage_ids": "List every stage of the pipeline exactly once."})
    for position, stage_id in enumerate(stage_ids, start=1):
        Stage.update(position=position).where(Stage.id == stage_id).execute()
    return stages_of(pipeline)


# -- automations ----------------------------------------------------------------------------------

def _automation_input(item: Mapping) -> tuple[str, dict, bool]:
    """``{"action": ..., "config": {...}}`` or the config keys inline (pipeline files)."""
    if not isinstance(item, Mapping):
        raise ValidationError({"action": "Each automation is an object with an action."})
    action = item.get("action")
    if "config" in item:
        config = item["config"]
    else:
        config = {k: v for k, v in item.items() if k not in ("action", "active", "id",
                                                             "position")}
    return action, config, bool(item.get("active", True))


def set_automations(stage: Stage, items: list) -> list[Automation]:
    """Make the stage's automations exactly ``items``, in order."""
    rows, errors = [], {}
    for i, item in enumerate(items or []):
        try:
            action, config, active = _automation_input(item)
            rows.append({"stage": stage.id, "position": i + 1, "action": action,
                         "config": automation.validate(action, config), "active": active})
        except ValidationError as exc:
            errors.update({f"automations.{i}.{k}": v for k, v in exc.fields.items()})
    if errors:
        raise ValidationError(errors)
    Automation.delete().where(Automation.stage == stage).execute()
    if rows:
        Automation.insert_many(rows).execute()
    return automation.automations_of(stage)


def add_automation(stage: Stage, item: Mapping) -> Automation:
    action, config, active = _automation_input(item)
    clean = automation.validate(action, config)
    top = Automation.select(peewee.fn.MAX(Automation.position)).where(Automation.stage == stage)
    return Automation.create(stage=stage, action=action, config=clean, active=active,
                             position=item.get("position") or (top.scalar() or 0) + 1)


def get_automation(automation_id: int) -> Automation:
    row = Automation.get_or_none(Automation.id == automation_id)
    if row is None:
        raise NotFound(f"No automation with id {automation_id}.")
    return row


def automation_dict(a: Automation) -> dict:
    return {"id": a.id, "stage_id": a.stage_id, "position": a.position, "action": a.action,
            "config": a.config, "active": a.active}


def stage_dict(stage: Stage, automations: list[Automation] | None = None) -> dict:
    out = {"id": stage.id, "pipeline_id": stage.pipeline_id, "name": stage.name,
           "position": stage.position, "probability": stage.probability, "kind": stage.kind,
           "rotting_days": stage.rotting_days}
    if automations is not None:
        out["automations"] = [automation_dict(a) for a in automations]
    return out


def pipeline_dict(pipeline: Pipeline, with_stages: bool = True) -> dict:
    out = {"id": pipeline.id, "name": pipeline.name, "currency": pipeline.currency,
           "position": pipeline.position, "active": pipeline.active,
           "created_at": pipeline.created_at, "updated_at": pipeline.updated_at}
    if with_stages:
        stages = stages_of(pipeline)
        by_stage: dict[int, list[Automation]] = {s.id: [] for s in stages}
        for row in (Automation.select().where(Automation.stage.in_(list(by_stage)))
                    .order_by(Automation.position, Automation.id)):
            by_stage[row.stage_id].append(row)
        out["stages"] = [stage_dict(s, by_stage[s.id]) for s in stages]
    return out


# -- files ----------------------------------------------------------------------------------------

def parse_file(text: str, filename: str = "") -> dict:
    """A pipeline file's content: JSON for ``*.json``, YAML otherwise."""
    try:
        if filename.endswith(".json"):
            data = json.loads(text)
        else:
            import yaml
            data = yaml.safe_load(text)
    except Exception as exc:  # both parsers raise their own error types
        raise ValidationError({"file": f"Cannot read the file: {exc}"}) from None
    if isinstance(data, list):
        data = {"pipelines": data}
    if not isinstance(data, dict) or not isinstance(data.get("pipelines"), list):
        raise ValidationError({"pipelines": "The file needs a list 'pipelines'."})
    return data


def load_pipelines(data: Mapping) -> list[dict]:
    """Create or bring up to date every pipeline in ``data``; returns what was done to each."""
    report = []
    for i, item in enumerate(data.get("pipelines") or []):
        try:
            report.append(_load_one(item))
        except ValidationError as exc:
            raise ValidationError({f"pipelines.{i}.{k}": v for k, v in exc.fields.items()},
                                  message=exc.message) from None
    return report


def _load_one(item: Mapping) -> dict:
    if not isinstance(item, Mapping) or not item.get("name"):
        raise ValidationError({"name": "Each pipeline needs a name."})
    pipeline = Pipeline.get_or_none(Pipeline.name == item["name"])
    created = pipeline is None
    settings = {k: item[k] for k in ("name", "currency", "active") if k in item}
    pipeline = create_pipeline(settings) if created else update_pipeline(pipeline, settings)
    wanted = item.get("stages") or []
    names = [str(s.get("name", "")) if isinstance(s, Mapping) else "" for s in wanted]
    existing = {s.name: s for s in stages_of(pipeline)}
    for name, stage in existing.items():
        if name not in names:
            if stage_in_use(stage):
                raise ValidationError({"stages": f"The stage {name!r} has deals or history and "
                                                 "cannot be left out."})
            stage.delete_instance(recursive=True)
    # Park positions out of the way first so reordering never collides.
    Stage.update(position=Stage.position + 10000).where(Stage.pipeline == pipeline).execute()
    for position, stage_data in enumerate(wanted, start=1):
        fields = {**stage_data, "position": position,
                  "automations": stage_data.get("automations") or []}
        try:
            if stage_data.get("name") in existing and existing[stage_data["name"]].id:
                stage = Stage.get_or_none(Stage.id == existing[stage_data["name"]].id)
                if stage is not None:
                    update_stage(stage, fields)
                    continue
            add_stage(pipeline, fields)
        except ValidationError as exc:
            raise ValidationError({f"stages.{position - 1}.{k}": v
                                   for k, v in exc.fields.items()}) from None
    return {"pipeline": pipeline.name, "id": pipeline.id, "created": created,
            "stages": len(wanted)}


def export_pipelines() -> dict:
    """Every pipeline as a file :func:`load_pipelines` reads back."""
    out = []
    for pipeline in list_pipelines():
        data = pipeline_dict(pipeline)
        out.append({"name": data["name"], "currency": data["currency"],
                    "active": data["active"], "stages": [
                        {"name": s["name"], "kind": s["kind"], "probability": s["probability"],
                         "rotting_days": s["rotting_days"],
                         "automations": [{"action": a["action"], **a["config"],
                                          **({} if a["active"] else {"active": False})}
                                         for a in s["automations"]]}
                        for s in data["stages"]]})
    return {"pipelines": out}
