"""organizations: whether the account belongs to an organization and which
accounts it holds (the account runbook reports both)."""
from .. import state as st
from ..errors import AwsError

SERVICE = "organizations"


def _org(ctx):
    org = ctx.state.get("organization")
    if not org:
        raise AwsError("AWSOrganizationsNotInUseException",
                       "Your account is not a member of an organization.")
    return org


def describe_organization(ctx, p):
    return {"Organization": dict(_org(ctx))}


def list_accounts(ctx, p):
    _org(ctx)
    accounts, nxt = st.page([dict(a) for a in ctx.state.get("accounts", [])], p)
    return {"Accounts": accounts, "NextToken": nxt}


OPERATIONS = {"DescribeOrganization": describe_organization, "ListAccounts": list_accounts}
