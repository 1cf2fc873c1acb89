"""The SAM template is the one description of the app; the local runtime reads it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workflows.local.template import TemplateError, load_template

REPO = Path(__file__).resolve().parents[3]
TEMPLATE = REPO / "infra" / "sam" / "template.yaml"


def test_every_state_machine_placeholder_has_a_substitution() -> None:
    template = load_template(TEMPLATE)
    assert template.state_machines, "the template declares state machines"
    for spec in template.state_machines.values():
        text = spec.definition_text()
        assert "${" not in text, f"{spec.logical_id} leaves a placeholder unfilled"
        json.loads(text)


def test_lambda_substitutions_point_at_declared_functions_with_importable_handlers() -> None:
    template = load_template(TEMPLATE)
    arns = {f.arn for f in template.functions.values()}
    for spec in template.state_machines.values():
        for name, value in spec.substitutions.items():
            if name.endswith("FunctionArn"):
                assert value in arns, f"{spec.logical_id}: {name} -> {value}"
    for function in template.functions.values():
        module, _, attribute = function.handler.rpartition(".")
        assert (REPO / (module.replace(".", "/") + ".py")).is_file(), function.handler
        assert attribute


def test_refs_resolve_like_cloudformation() -> None:
    template = load_template(TEMPLATE, overrides={"Stage": "prod", "ApprovalThreshold": "750"})
    orders = template.state_machine("order_processing")
    assert orders.substitutions["EventBusName"] == "orders-prod"
    assert orders.substitutions["ApprovalThreshold"] == "750"
    assert orders.substitutions["ApprovalQueueUrl"].endswith("/ApprovalQueue")
    consumer = template.functions["RecordApprovalRequestFunction"]
    assert consumer.sqs_sources[0].queue == "ApprovalQueue"
    assert consumer.sqs_sources[0].report_failures
    notification = template.state_machine("NotificationStateMachine")
    assert notification.rules[0].pattern["source"] == ["orders.workflow"]
    sweep = template.state_machine("stuck_order_sweep")
    assert sweep.schedules[0].expression == "cron(0 3 * * ? *)"


def test_unknown_state_machine_lists_known_ones() -> None:
    template = load_template(TEMPLATE)
    with pytest.raises(TemplateError, match="OrderProcessingStateMachine"):
        template.state_machine("nope")


def test_bad_ref_names_the_resource(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "Resources:\n  M:\n    Type: AWS::Serverless::StateMachine\n    Properties:\n"
        "      DefinitionUri: m.json\n      DefinitionSubstitutions:\n        X: !Ref Nope\n"
    )
    with pytest.raises(TemplateError, match="Nope"):
        load_template(path)


def test_s3_buckets_are_named_as_refs_and_arns_give_them(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "Resources:\n"
        "  OrdersExportBucket:\n    Type: AWS::S3::Bucket\n"
        "  Named:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketName: sweep-results\n"
        "  M:\n    Type: AWS::Serverless::StateMachine\n    Properties:\n"
        "      DefinitionUri: m.json\n      DefinitionSubstitutions:\n"
        "        Exports: !Ref OrdersExportBucket\n        Results: !GetAtt Named.Arn\n"
    )
    (tmp_path / "m.json").write_text(
        '{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}'
    )
    template = load_template(path)
    assert template.physical_names["OrdersExportBucket"] == "ordersexportbucket"
    assert template.physical_names["Named"] == "sweep-results"
    machine = template.state_machine("M")
    assert machine.substitutions == {
        "Exports": "ordersexportbucket",
        "Results": "arn:aws:s3:::sweep-results",
    }
