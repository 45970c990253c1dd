"""rds-data: ExecuteStatement against an Aurora cluster with the Data API
enabled. Nothing runs: every statement is recorded exactly as sent (under
rds-data.<region>.statements) so a test can assert the SQL a runbook used to
lock a database user."""
from ..errors import AwsError

SERVICE = "rds-data"


def _cluster(ctx, arn):
    for c in ctx.world.regional("rds", ctx.region).get("db_clusters", {}).values():
        if c.get("DBClusterArn") == arn:
            return c
    raise AwsError("BadRequestException", f"Database cluster {arn} not found.")


def execute_statement(ctx, p):
    c = _cluster(ctx, p["resourceArn"])
    if not c.get("HttpEndpointEnabled"):
        raise AwsError("BadRequestException", f"HttpEndpoint is not enabled for cluster "
                       f"{c.get('DBClusterIdentifier')}. Please refer to "
                       "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/data-api.html#data-api.troubleshooting")
    secrets = ctx.world.regional("secretsmanager", ctx.region).get("secrets", {})
    if not any(s.get("ARN") == p["secretArn"] for s in secrets.values()):
        raise AwsError("BadRequestException", "Error fetching secret from Secrets Manager: secret not found")
    ctx.state.setdefault("statements", []).append(
        {"time": ctx.now(), "resourceArn": p["resourceArn"], "secretArn": p["secretArn"], "sql": p["sql"],
         "database": p.get("database"), "parameters": p.get("parameters", [])})
    return {"numberOfRecordsUpdated": 0, "records": [], "generatedFields": []}


OPERATIONS = {"ExecuteStatement": execute_statement}
