"""HTTP door to reports, forecast, targets and assignment rules."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from crmkit.auth.declare import protect, requires

from crmkit_sales import assignment, forecast, reports
from crmkit_sales import schemas as s
from crmkit_sales.api_common import jsonable, report_response

blp = protect(Blueprint("sales_reports", __name__,
                        description="Reports, forecast and targets (JSON or CSV)"),
              read="sales.reports:read", write="sales.targets:manage")
rules_blp = protect(Blueprint("sales_assignment", __name__, description="Assignment rules"),
                    read="sales.assignment:manage", write="sales.assignment:manage")


# format=csv answers the same report as CSV: documented beside the JSON.
CSV_TOO = {"responses": {"200": {
    "description": "The report as JSON, or as CSV with format=csv",
    "content": {"application/json": {"schema": s.SalesReportOut},
                "text/csv": {"schema": {"type": "string"}}}}}}


def _range(args):
    return {"start": args.get("start"), "end": args.get("end")}


@blp.route("/reports/<string:name>")
class Report(MethodView):
    @blp.arguments(s.SalesReportArgs, location="query")
    @blp.response(200, s.SalesReportOut)
    @blp.doc(**CSV_TOO)
    def get(self, args, name):
        """One report: ``funnel`` (per stage: deals, amount, entered, conversion, average days
        in stage), ``sources`` (enquiry-to-sale by source), ``activity`` (per manager),
        ``revenue`` (won, by ``grain`` and ``by`` owner/source), ``lost-reasons``, ``cycle``
        (sales-cycle length). ``format=csv`` for CSV."""
        report = reports.run(name, **_range(args), pipeline_id=args.get("pipeline_id"),
                             owner_id=args.get("owner_id"), grain=args.get("grain"),
                             by=args.get("by"))
        return report_response(report, args["format"])


@blp.route("/forecast")
class Forecast(MethodView):
    @blp.arguments(s.SalesReportArgs, location="query")
    @blp.response(200, s.SalesReportOut)
    @blp.doc(**CSV_TOO)
    def get(self, args):
        """Weighted pipeline (amount x stage probability, lost excluded) and won revenue by
        period of expected close (``grain``: month, quarter, year) and owner."""
        report = forecast.forecast(args.get("grain") or "month", args.get("pipeline_id"),
                                   args.get("owner_id"), args.get("start"), args.get("end"),
                                   by_owner=args.get("by") != "source")
        return report_response(report, args["format"])


@blp.route("/targets")
class Targets(MethodView):
    @blp.arguments(s.SalesReportArgs, location="query")
    @blp.response(200, s.SalesReportOut)
    @blp.doc(**CSV_TOO)
    def get(self, args):
        """Targets with what was won against them (attainment in percent)."""
        return report_response(forecast.attainment(args.get("period"), args.get("user_id")),
                               args["format"])

    @requires("sales.targets:manage")
    @blp.arguments(s.SalesTargetIn)
    @blp.response(201)
    def post(self, data):
        """Set a user's target for a period and currency (replaces an earlier one)."""
        target = forecast.set_target(data["user_id"], data["period"], data["currency"],
                                     data["amount"])
        return jsonable({"id": target.id, "user_id": target.user_id, "period": target.period,
                         "currency": target.currency, "amount": target.amount,
                         "period_start": target.period_start, "period_end": target.period_end})


@blp.route("/targets/<int:target_id>")
class TargetItem(MethodView):
    @blp.response(204)
    def delete(self, target_id):
        forecast.delete_target(target_id)


@rules_blp.route("/assignment-rules")
class Rules(MethodView):
    @rules_blp.response(200, s.SalesRuleOut(many=True))
    def get(self):
        return [assignment.rule_dict(r) for r in assignment.list_rules()]

    @rules_blp.arguments(s.SalesRuleIn)
    @rules_blp.response(201, s.SalesRuleOut)
    def post(self, data):
        """A rule: new leads and deals without an owner whose source and territory match go to
        a member of ``team_id`` (round-robin or least-loaded). Rules are tried by position."""
        return assignment.rule_dict(assignment.create_rule(data))


@rules_blp.route("/assignment-rules/<int:rule_id>")
class RuleItem(MethodView):
    @rules_blp.arguments(s.SalesRulePatch)
    @rules_blp.response(200, s.SalesRuleOut)
    def patch(self, data, rule_id):
        return assignment.rule_dict(assignment.update_rule(assignment.get_rule(rule_id), data))

    @rules_blp.response(204)
    def delete(self, rule_id):
        assignment.delete_rule(assignment.get_rule(rule_id))
