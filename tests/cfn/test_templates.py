"""Fast checks of the templates and parameter files (no moto, no Docker)."""

from __future__ import annotations

import pytest
from cfnlib import (
    CFN_DIR,
    LAYERS,
    REQUIRED_TAGS,
    SIGNAL_SCRIPT,
    embedded_signal_script,
    load_params,
    load_template,
)

# Resource types of these templates that take tags, and how (list of Key/Value or map).
TAGGED_TYPES = {
    "AWS::EC2::VPC",
    "AWS::EC2::InternetGateway",
    "AWS::EC2::Subnet",
    "AWS::EC2::RouteTable",
    "AWS::EC2::EIP",
    "AWS::EC2::NatGateway",
    "AWS::EC2::SecurityGroup",
    "AWS::RDS::DBSubnetGroup",
    "AWS::RDS::DBInstance",
    "AWS::SSM::Parameter",
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::ElasticLoadBalancingV2::TargetGroup",
    "AWS::IAM::Role",
    "AWS::AutoScaling::AutoScalingGroup",
    "AWS::SNS::Topic",
    "AWS::CloudWatch::Alarm",
}


def _tag_keys(tags) -> set[str]:
    if isinstance(tags, dict) and "Fn::If" in tags:
        tags = tags["Fn::If"][1]  # the branch used outside moto
    if isinstance(tags, dict):
        return set(tags)
    return {tag["Key"] for tag in tags}


def test_only_templates_at_top_level():
    assert sorted(p.stem for p in CFN_DIR.glob("*.yaml")) == sorted(LAYERS)


def test_embedded_signal_script_equals_the_file():
    assert embedded_signal_script() == SIGNAL_SCRIPT.read_text(), (
        "compute.yaml user data differs from cloudformation/scripts/signal-ready.sh: "
        "run `python cloudformation/scripts/embed_user_data.py`"
    )


def test_signal_script_has_no_sub_placeholders():
    # Fn::Sub would replace ${...} inside the embedded copy.
    assert "${" not in SIGNAL_SCRIPT.read_text()


@pytest.mark.parametrize("layer", LAYERS)
def test_every_taggable_resource_has_the_project_tags(layer):
    missing = {}
    for name, res in load_template(layer)["Resources"].items():
        if res["Type"] not in TAGGED_TYPES:
            continue
        keys = _tag_keys(res["Properties"].get("Tags", []))
        if not keys >= REQUIRED_TAGS:
            missing[name] = sorted(REQUIRED_TAGS - keys)
    assert not missing


def test_launch_template_tags_instances_and_volumes():
    data = load_template("compute")["Resources"]["LaunchTemplate"]["Properties"]
    specs = {s["ResourceType"]: _tag_keys(s["Tags"]) for s in data["TagSpecifications"]}
    specs.update(
        {
            s["ResourceType"]: _tag_keys(s["Tags"])
            for s in data["LaunchTemplateData"]["TagSpecifications"]
        }
    )
    assert set(specs) == {"launch-template", "instance", "volume"}
    assert all(keys >= REQUIRED_TAGS for keys in specs.values())


@pytest.mark.parametrize("env", ["dev", "prod"])
@pytest.mark.parametrize("layer", LAYERS)
def test_parameter_files_set_every_parameter(env, layer):
    # All parameters are passed on every run (moto's no-change check needs it; see README).
    declared = set(load_template(layer)["Parameters"])
    given = load_params(env, layer)
    assert set(given) == declared
    assert given["Environment"] == env
    assert all(isinstance(v, str) for v in given.values())


@pytest.mark.parametrize("layer", LAYERS)
def test_parameters_are_strings(layer):
    types = {k: v["Type"] for k, v in load_template(layer)["Parameters"].items()}
    assert {t for t in types.values()} <= {"String", "AWS::EC2::Image::Id"}, types


def test_no_ssh_and_no_world_ingress_except_alb_web_ports():
    resources = load_template("security")["Resources"]
    world = []
    for name, res in resources.items():
        props = res["Properties"]
        rules = props.get("SecurityGroupIngress", [])
        if res["Type"] == "AWS::EC2::SecurityGroupIngress":
            rules = [props]
        for rule in rules:
            assert rule.get("FromPort") != 22 and rule.get("ToPort") != 22, name
            if "CidrIp" in rule:
                world.append((name, rule["FromPort"], rule["ToPort"]))
    assert world == [("AlbSecurityGroup", 80, 80), ("AlbSecurityGroup", 443, 443)]


def test_database_is_private_encrypted_snapshotted_and_has_no_password_default():
    template = load_template("database")
    db = template["Resources"]["DbInstance"]
    assert db["DeletionPolicy"] == "Snapshot"
    assert db["UpdateReplacePolicy"] == "Snapshot"
    assert db["Properties"]["StorageEncrypted"] is True
    assert db["Properties"]["PubliclyAccessible"] is False
    managed = db["Properties"]["ManageMasterUserPassword"]["Fn::If"]
    assert managed[0] == "ManagedPassword" and managed[1] is True
    password = template["Parameters"]["TestOnlyMasterUserPassword"]
    assert password["NoEcho"] is True and password["Default"] == ""
    for env in ("dev", "prod"):
        assert load_params(env, "database")["TestOnlyMasterUserPassword"] == ""
        assert load_params(env, "database")["TestOnlyMoto"] == "false"


def test_launch_template_requires_imdsv2_and_encrypts_ebs():
    data = load_template("compute")["Resources"]["LaunchTemplate"]["Properties"][
        "LaunchTemplateData"
    ]
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert data["MetadataOptions"]["HttpPutResponseHopLimit"] == 1
    assert all(m["Ebs"]["Encrypted"] is True for m in data["BlockDeviceMappings"])


def test_asg_waits_for_readiness_signals_on_create_and_update():
    asg = load_template("compute")["Resources"]["AutoScalingGroup"]
    assert asg["CreationPolicy"]["ResourceSignal"]["Count"] == {"Ref": "DesiredCapacity"}
    rolling = asg["UpdatePolicy"]["AutoScalingRollingUpdate"]
    assert rolling["WaitOnResourceSignals"] is True
    assert asg["Properties"]["HealthCheckType"] == "ELB"
    # The script signals the resource it is told to: it must be this one.
    launch_template = load_template("compute")["Resources"]["LaunchTemplate"]["Properties"]
    user_data = launch_template["LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Sub"]
    assert "CFN_RESOURCE=AutoScalingGroup " in user_data


def test_environments_differ_as_designed():
    dev = {layer: load_params("dev", layer) for layer in LAYERS}
    prod = {layer: load_params("prod", layer) for layer in LAYERS}
    assert (dev["network"]["NatGatewayMode"], prod["network"]["NatGatewayMode"]) == (
        "single",
        "per-az",
    )
    assert (dev["database"]["DbMultiAz"], prod["database"]["DbMultiAz"]) == ("false", "true")
    assert prod["database"]["DbDeletionProtection"] == "true"
    assert int(prod["compute"]["MinSize"]) >= 2
    assert prod["loadbalancer"]["CertificateArn"] and not dev["loadbalancer"]["CertificateArn"]
    for params in (*dev.values(), *prod.values()):
        assert int(params.get("DbBackupRetentionDays", 7)) >= 7
