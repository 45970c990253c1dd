"""iam account-level reads the identity runbooks verify: identity providers
(SAML, OIDC: which directory a role trusts), the account summary (root MFA,
root access keys) and account aliases.

State: `saml_providers` (list of {Arn, CreateDate, ValidUntil,
SAMLMetadataDocument}), `oidc_providers` (list of ARNs, or of {Arn, Url,
ClientIDList, ThumbprintList, CreateDate}), `root_mfa`, `root_access_keys`,
`account_aliases`."""
from . import _iam

SERVICE = "iam"


def _saml(ctx):
    return ctx.state.get("saml_providers", [])


def _oidc(ctx):
    return [o if isinstance(o, dict) else {"Arn": o} for o in ctx.state.get("oidc_providers", [])]


def list_saml_providers(ctx, p):
    return {"SAMLProviderList": [{k: s[k] for k in ("Arn", "ValidUntil", "CreateDate") if k in s}
                                 for s in _saml(ctx)]}


def get_saml_provider(ctx, p):
    for s in _saml(ctx):
        if s.get("Arn") == p["SAMLProviderArn"]:
            return {k: s.get(k) for k in ("SAMLMetadataDocument", "CreateDate", "ValidUntil", "Tags")}
    raise _iam.no_entity(f"Manifest not found for arn {p['SAMLProviderArn']}")


def list_open_id_connect_providers(ctx, p):
    return {"OpenIDConnectProviderList": [{"Arn": o["Arn"]} for o in _oidc(ctx)]}


def get_open_id_connect_provider(ctx, p):
    for o in _oidc(ctx):
        if o["Arn"] == p["OpenIDConnectProviderArn"]:
            return {"Url": o.get("Url", o["Arn"].split(":oidc-provider/", 1)[-1]),
                    "ClientIDList": o.get("ClientIDList", []), "ThumbprintList": o.get("ThumbprintList", []),
                    "CreateDate": o.get("CreateDate", "2025-01-01T00:00:00Z"), "Tags": o.get("Tags")}
    raise _iam.no_entity(f"OpenIDConnect Provider not found for arn {p['OpenIDConnectProviderArn']}")


def get_account_summary(ctx, p):
    users = ctx.state.get("users", {})
    mfa = sum(len(u.get("MFADevices", [])) for u in users.values())
    summary = {"Users": len(users), "Roles": len(ctx.state.get("roles", {})),
               "Groups": len(ctx.state.get("groups", {})), "Policies": len(ctx.state.get("policies", {})),
               "InstanceProfiles": len(ctx.state.get("instance_profiles", {})),
               "Providers": len(_saml(ctx)) + len(_oidc(ctx)),
               "AccountMFAEnabled": 1 if ctx.state.get("root_mfa", True) else 0,
               "AccountAccessKeysPresent": 1 if ctx.state.get("root_access_keys", False) else 0,
               "AccountSigningCertificatesPresent": 0,
               "MFADevices": mfa + len(ctx.state.get("virtual_mfa_devices", [])), "MFADevicesInUse": mfa,
               "AccessKeysPerUserQuota": 2, "UsersQuota": 5000, "RolesQuota": 1000}
    return {"SummaryMap": summary}


def list_account_aliases(ctx, p):
    aliases, trunc, marker = _iam.pages(list(ctx.state.get("account_aliases", [])), p)
    return {"AccountAliases": aliases, "IsTruncated": trunc, "Marker": marker}


OPERATIONS = {
    "ListSAMLProviders": list_saml_providers, "GetSAMLProvider": get_saml_provider,
    "ListOpenIDConnectProviders": list_open_id_connect_providers,
    "GetOpenIDConnectProvider": get_open_id_connect_provider,
    "GetAccountSummary": get_account_summary, "ListAccountAliases": list_account_aliases,
}
