"""botocore's service models, and how a request on the wire names its service.

One endpoint serves every service, as LocalStack-style emulators do: the SigV4
credential scope gives the signing name, which (with X-Amz-Target, Action/Version
or the REST path) narrows to one service model."""
import functools

import botocore.session

# Every service the fake routes; handlers exist for a subset (services/).
SERVICES = (
    "ec2", "autoscaling", "elb", "elbv2", "ssm", "sts", "s3", "iam",
    "guardduty", "cloudtrail", "secretsmanager", "account", "organizations",
    "rds", "ecs", "detective", "kms", "lambda", "rds-data", "s3control",
)

_session = botocore.session.get_session()


@functools.lru_cache(maxsize=None)
def model(service):
    """The botocore ServiceModel of `service` (cached)."""
    return _session.get_service_model(service)


def signing_name(service):
    md = model(service).metadata
    return md.get("signingName") or md["endpointPrefix"]


@functools.lru_cache(maxsize=None)
def _tables():
    by_signing, by_target = {}, {}
    for s in SERVICES:
        by_signing.setdefault(signing_name(s), []).append(s)
        prefix = model(s).metadata.get("targetPrefix")
        if prefix:
            by_target[prefix] = s
    return by_signing, by_target


def services_for_signing_name(name):
    """The services signed under `name` (elasticloadbalancing: elb and elbv2)."""
    return list(_tables()[0].get(name, []))


def service_for_target(prefix):
    """The JSON-protocol service whose targetPrefix is `prefix`, or None."""
    return _tables()[1].get(prefix)


def protocol(service):
    return model(service).metadata["protocol"]


def operation(service, name):
    """The OperationModel, or None when the model has no such operation."""
    m = model(service)
    if name not in m.operation_names:
        return None
    return m.operation_model(name)


def preload():
    """Load every model now so the first request is not slow."""
    _tables()
