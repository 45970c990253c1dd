"""The fake's world: one JSON document of every service's state, seeded from a
world file, mutated by the handlers, dumped whole by GET /_fake/state.

Regional services keep their resources under doc[service][region]; global ones
(iam, s3, account, organizations) directly under doc[service]. Resources are
stored in the shape AWS returns them (member names of the botocore output
shapes), keyed by id, so a Describe handler mostly filters and pages."""
import base64
import copy
import datetime
import fnmatch
import json
import os

from .errors import AwsError

WORLDS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worlds")
DEFAULT_SETTINGS = {
    "snapshot_polls": 2,      # DescribeSnapshots calls before a snapshot is completed
    "stop_polls": 1,          # DescribeInstances calls before stopping -> stopped
    "ssm_polls": 2,           # GetCommandInvocation calls before Success
    "page_size": 0,           # default page size for paginated Describes (0: all)
}


def load_world(name_or_path):
    """The world document from a path, or a name in worlds/ (`demo`)."""
    path = name_or_path
    if not os.path.isfile(path):
        path = os.path.join(WORLDS, name_or_path if name_or_path.endswith(".json") else name_or_path + ".json")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def resolve_time(value):
    """World files may give times relative to load time ("-2h", "-90m", "-3d") so
    that a window like --since 24h keeps finding them whatever the date."""
    import re
    m = re.fullmatch(r"-(\d+)([mhd])", str(value))
    if not m:
        return value
    unit = {"m": "minutes", "h": "hours", "d": "days"}[m.group(2)]
    dt = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(**{unit: int(m.group(1))})
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value):
    """An aware datetime from the ISO strings kept in state."""
    dt = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=datetime.timezone.utc)


def now_iso():
    dt = datetime.datetime.now(datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


class World:
    """The mutable state plus the credentials it accepts."""

    def __init__(self, doc, normalizers):
        self.doc = copy.deepcopy(doc)
        self.doc.setdefault("account_id", "111122223333")
        self.doc.setdefault("region", "us-east-1")
        self.doc.setdefault("regions", [self.doc["region"]])
        settings = dict(DEFAULT_SETTINGS)
        settings.update(self.doc.get("settings", {}))
        self.doc["settings"] = settings
        self.doc.setdefault("credentials", [])
        self.doc.setdefault("_counter", 0)
        for fn in normalizers:
            fn(self)

    @property
    def account(self):
        return self.doc["account_id"]

    @property
    def settings(self):
        return self.doc["settings"]

    def credentials(self):
        """access key -> credential record (secret_key, session_token, arn, ...)."""
        return {c["access_key"]: c for c in self.doc["credentials"]}

    def regional(self, service, region):
        """doc[service][region], created empty on first use."""
        return self.doc.setdefault(service, {}).setdefault(region, {})

    def glob(self, service):
        return self.doc.setdefault(service, {})

    def new_id(self, prefix, width=17):
        """A fresh, deterministic id: `prefix-` and `width` hex digits."""
        self.doc["_counter"] += 1
        n = self.doc["_counter"]
        return f"{prefix}-{(0xfa4e000000000000000 + n) % (16 ** width):0{width}x}" if prefix else \
            f"{(0xfa4e000000000000000 + n) % (16 ** width):0{width}x}"

    def dump(self):
        return copy.deepcopy(self.doc)


GLOBAL_SERVICES = ("iam", "s3", "account", "organizations", "sts", "s3control")


class WorldContext:
    """What handlers (and normalizers) reach the world through: this service's state
    in this region, ids, time, settings."""

    def __init__(self, world, service, region):
        self.world, self.service = world, service
        self.region = region or world.doc["region"]
        self.account = world.account

    @property
    def state(self):
        """This service's state in this region (the global one for global services)."""
        if self.service in GLOBAL_SERVICES:
            return self.world.glob(self.service)
        return self.world.regional(self.service, self.region)

    def regional(self, service, region=None):
        return self.world.regional(service, region or self.region)

    def new_id(self, prefix, width=17):
        return self.world.new_id(prefix, width)

    def now(self):
        return now_iso()

    def settings(self, key):
        return self.world.settings[key]


# ---------------------------------------------------------------- helpers for handlers

def page(items, params, max_key="MaxResults", token_key="NextToken", default=0, lo=None, hi=None):
    """(this page of items, next token or None): honours MaxResults/NextToken."""
    start = 0
    token = params.get(token_key)
    if token:
        try:
            start = int(base64.b64decode(token).decode().split(":", 1)[1])
        except (ValueError, IndexError, UnicodeDecodeError):
            raise AwsError("InvalidNextToken" if token_key == "NextToken" else "InvalidParameterValue",
                           "The token is invalid or expired.") from None
    size = params.get(max_key) or default
    if size and lo is not None and size < lo:
        raise AwsError("InvalidParameterValue",
                       f"Value ( {size} ) for parameter maxResults is invalid. "
                       f"Parameter must be between {lo} and {hi}.")
    if not size:
        return items[start:], None
    end = start + int(size)
    nxt = base64.b64encode(f"fakeaws:{end}".encode()).decode() if end < len(items) else None
    return items[start:end], nxt


def tags_of(resource):
    return {t["Key"]: t.get("Value", "") for t in resource.get("Tags", []) or []}


def match_filters(items, filters, getters):
    """EC2-style Filters: each filter's values OR'd, filters AND'd, '*' wildcards.

    getters: filter name -> function(item) returning a list of values; `tag:K`,
    `tag-key` and `tag-value` work on every resource with Tags."""
    out = []
    for f in filters or []:
        name = f.get("Name", "")
        if not (name in getters or name.startswith("tag:") or name in ("tag-key", "tag-value")):
            raise AwsError("InvalidParameterValue", f"The filter '{name}' is invalid")
    for item in items:
        keep = True
        for f in filters or []:
            name, wanted = f.get("Name", ""), f.get("Values", [])
            if name.startswith("tag:"):
                t = tags_of(item)
                have = [t[name[4:]]] if name[4:] in t else []
            elif name == "tag-key":
                have = list(tags_of(item))
            elif name == "tag-value":
                have = list(tags_of(item).values())
            else:
                have = [str(v).lower() if isinstance(v, bool) else str(v) for v in getters[name](item)]
            if not any(fnmatch.fnmatchcase(h, w) for h in have for w in wanted):
                keep = False
                break
        if keep:
            out.append(item)
    return out


def set_tags(resource, tags):
    cur = tags_of(resource)
    for t in tags:
        cur[t["Key"]] = t.get("Value", "")
    resource["Tags"] = [{"Key": k, "Value": v} for k, v in cur.items()]


def delete_tags(resource, tags):
    cur = resource.get("Tags", [])
    for t in tags:
        cur = [c for c in cur if not (c["Key"] == t["Key"] and ("Value" not in t or t["Value"] == c["Value"]))]
    resource["Tags"] = cur
