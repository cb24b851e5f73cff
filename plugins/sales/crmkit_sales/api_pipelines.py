"""HTTP door to pipelines, stages and stage automations."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from crmkit.auth.declare import protect
from crmkit.db import utcnow

from crmkit_sales import pipelines as rules
from crmkit_sales import schemas as s

blp = protect(Blueprint("sales_pipelines", __name__,
                        description="Sales pipelines, stages and stage automation"),
              read="sales.pipelines:read", write="sales.pipelines:manage")


@blp.route("/pipelines")
class Pipelines(MethodView):
    @blp.response(200, s.SalesPipelineOut(many=True))
    def get(self):
        """Every pipeline with its stages and their automations, in order."""
        return [rules.pipeline_dict(p) for p in rules.list_pipelines()]

    @blp.arguments(s.SalesPipelineIn)
    @blp.response(201, s.SalesPipelineOut)
    def post(self, data):
        """Create a pipeline, optionally with its stages (each with ``automations``)."""
        return rules.pipeline_dict(rules.create_pipeline(data))


@blp.route("/pipelines/load")
class PipelineFile(MethodView):
    @blp.arguments(s.SalesPipelineFileIn)
    @blp.response(200)
    def post(self, data):
        """Load pipelines from a pipeline file's content (the YAML file's shape, as JSON):
        creates or brings up to date each named pipeline."""
        return {"loaded": rules.load_pipelines(data)}


@blp.route("/pipelines/export")
class PipelineExport(MethodView):
    @blp.response(200)
    def get(self):
        """Every pipeline as a pipeline file (load it elsewhere with ``/pipelines/load``)."""
        return rules.export_pipelines()


@blp.route("/pipelines/<int:pipeline_id>")
class PipelineItem(MethodView):
    @blp.response(200, s.SalesPipelineOut)
    def get(self, pipeline_id):
        return rules.pipeline_dict(rules.get_pipeline(pipeline_id))

    @blp.arguments(s.SalesPipelinePatch)
    @blp.response(200, s.SalesPipelineOut)
    def patch(self, data, pipeline_id):
        return rules.pipeline_dict(rules.update_pipeline(rules.get_pipeline(pipeline_id), data))

    @blp.response(204)
    def delete(self, pipeline_id):
        """Delete a pipeline without deals (409 otherwise: set it inactive)."""
        rules.delete_pipeline(rules.get_pipeline(pipeline_id))


@blp.route("/pipelines/<int:pipeline_id>/stages")
class Stages(MethodView):
    @blp.arguments(s.SalesStageIn)
    @blp.response(201, s.SalesStageOut)
    def post(self, data, pipeline_id):
        """Add a stage (at the end unless ``position`` says otherwise)."""
        stage = rules.add_stage(rules.get_pipeline(pipeline_id), data)
        return rules.stage_dict(stage, rules.automation.automations_of(stage, True))


@blp.route("/pipelines/<int:pipeline_id>/stages/order")
class StageOrder(MethodView):
    @blp.arguments(s.SalesReorderIn)
    @blp.response(200, s.SalesStageOut(many=True))
    def put(self, data, pipeline_id):
        """Put the stages in this order (list every stage id once)."""
        pipeline = rules.get_pipeline(pipeline_id)
        pipeline.updated_at = utcnow()
        pipeline.save()
        return [rules.stage_dict(st) for st in rules.reorder_stages(pipeline, data["stage_ids"])]


@blp.route("/stages/<int:stage_id>")
class StageItem(MethodView):
    @blp.response(200, s.SalesStageOut)
    def get(self, stage_id):
        stage = rules.get_stage(stage_id)
        return rules.stage_dict(stage, rules.automation.automations_of(stage, True))

    @blp.arguments(s.SalesStagePatch)
    @blp.response(200, s.SalesStageOut)
    def patch(self, data, stage_id):
        """Change a stage; ``automations`` replaces its automations."""
        stage = rules.update_stage(rules.get_stage(stage_id), data)
        return rules.stage_dict(stage, rules.automation.automations_of(stage, True))

    @blp.response(204)
    def delete(self, stage_id):
        """Delete a stage no deal has ever been in (409 otherwise)."""
        rules.delete_stage(rules.get_stage(stage_id))


@blp.route("/stages/<int:stage_id>/automations")
class Automations(MethodView):
    @blp.response(200, s.SalesAutomationOut(many=True))
    def get(self, stage_id):
        return [rules.automation_dict(a)
                for a in rules.automation.automations_of(rules.get_stage(stage_id), True)]

    @blp.arguments(s.SalesAutomationIn)
    @blp.response(201, s.SalesAutomationOut)
    def post(self, data, stage_id):
        """Add an automation to the stage (see the plugin README for actions and settings)."""
        return rules.automation_dict(rules.add_automation(rules.get_stage(stage_id), data))


@blp.route("/automations/<int:automation_id>")
class AutomationItem(MethodView):
    @blp.response(200, s.SalesAutomationOut)
    def get(self, automation_id):
        return rules.automation_dict(rules.get_automation(automation_id))

    @blp.response(204)
    def delete(self, automation_id):
        rules.get_automation(automation_id).delete_instance()
