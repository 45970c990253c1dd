"""lambda: functions, for the resource review of the identity runbooks (what a
stolen key created) and its cleanup. Code is never stored: GetFunction answers
a canned, presigned-looking location."""
from .. import state as st
from ..errors import AwsError

SERVICE = "lambda"
_VIEW_SKIP = ("Tags", "_code_location")


def _functions(ctx):
    return ctx.state.setdefault("functions", {})


def _function(ctx, ref):
    # FunctionName takes a name, a full or a partial ARN (account:function:name).
    name = ref.split(":function:", 1)[1].split(":", 1)[0] if ":function:" in ref else ref
    f = _functions(ctx).get(name)
    if f is None:
        raise AwsError("ResourceNotFoundException",
                       f"Function not found: arn:aws:lambda:{ctx.region}:{ctx.account}:function:{name}", status=404)
    return f


def _config(f):
    return {k: v for k, v in f.items() if k not in _VIEW_SKIP}


def list_functions(ctx, p):
    items = [_config(f) for _, f in sorted(_functions(ctx).items())]
    items, nxt = st.page(items, p, max_key="MaxItems", token_key="Marker")
    return {"Functions": items, "NextMarker": nxt}


def get_function(ctx, p):
    f = _function(ctx, p["FunctionName"])
    return {"Configuration": _config(f), "Tags": {t: v for t, v in (f.get("Tags") or {}).items()} or None,
            "Code": {"RepositoryType": "S3",
                     "Location": f.get("_code_location") or
                     f"https://awslambda-{ctx.region}-tasks.s3.{ctx.region}.amazonaws.com/snapshots/"
                     f"{ctx.account}/{f['FunctionName']}-fakeaws?X-Amz-Expires=600"}}


def delete_function(ctx, p):
    f = _function(ctx, p["FunctionName"])
    del _functions(ctx)[f["FunctionName"]]
    return {}


def normalize(world):
    acct = world.account
    for region, s in world.doc.get("lambda", {}).items():
        for name, f in s.get("functions", {}).items():
            f.setdefault("FunctionName", name)
            f.setdefault("FunctionArn", f"arn:aws:lambda:{region}:{acct}:function:{name}")
            f.setdefault("Runtime", "python3.12")
            f.setdefault("Handler", "index.handler")
            f.setdefault("CodeSize", 1024)
            f.setdefault("Timeout", 3)
            f.setdefault("MemorySize", 128)
            f.setdefault("Version", "$LATEST")
            f.setdefault("State", "Active")
            f.setdefault("PackageType", "Zip")
            f.setdefault("Architectures", ["x86_64"])
            if "LastModified" in f:
                f["LastModified"] = st.resolve_time(f["LastModified"])
            else:
                f["LastModified"] = "2026-01-01T00:00:00.000+0000"


OPERATIONS = {"ListFunctions": list_functions, "GetFunction": get_function, "DeleteFunction": delete_function}
