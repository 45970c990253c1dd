-- Passwords of a compromised RDS instance: its RDS-managed master secret (rotated by
-- Secrets Manager), or a broker-generated master password stored in Secrets Manager before
-- it is applied; never a value the runbook can read or print (a secret handle only).
local M = {}

-- RDS limits master passwords to printable ASCII without / " @ and space (Oracle to 30
-- characters); these also need no escaping in a form body or nested JSON.
M.CHARSET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%^*()-_=+[]{}:;,.?~"
M.LENGTH = 30
M.TAG_DB = "irhost:db"

local function tags(list)
  local out = {}
  for _, t in ipairs(list or {}) do if t.Key then out[t.Key] = t.Value end end
  return out
end

-- The RDS-managed master secret of the instance (or its cluster), or nil.
function M.managed(sm, db_arn, cluster_arn)
  local params = { Filters = { { Key = "tag-key", Values = { "aws:rds:primaryDBInstanceArn", "aws:rds:primaryDBClusterArn" } } } }
  for s in sm:paginate("ListSecrets", params, { items = true }) do
    local t = tags(s.Tags)
    if t["aws:rds:primaryDBInstanceArn"] == db_arn or (cluster_arn and t["aws:rds:primaryDBClusterArn"] == cluster_arn) then
      return s
    end
  end
  return nil
end

-- The secret that holds the master password irhost set before (tag irhost:db), or nil.
function M.ours(sm, db_arn)
  for s in sm:paginate("ListSecrets", { Filters = { { Key = "tag-key", Values = { M.TAG_DB } } } }, { items = true }) do
    if tags(s.Tags)[M.TAG_DB] == db_arn then return s end
  end
  return nil
end

-- A secret given by name or ARN; raises a clear message when it does not exist.
function M.describe(sm, id, what)
  local ok, r = pcall(sm.DescribeSecret, sm, { SecretId = id })
  if ok then return r end
  if aws.is_error(r, "ResourceNotFoundException") then
    error(what .. " " .. id .. ": Secrets Manager has no such secret in this region (ResourceNotFoundException): check the name or ARN and --region", 0)
  end
  error(r, 0)
end

-- The secret's value document for an RDS master user (the shape RDS and the rotation
-- functions use); password is a handle, substituted by the broker when sent.
function M.value(db, password)
  local ep = db.Endpoint or {}
  return json.encode({ username = db.MasterUsername, password = password, engine = db.Engine,
    host = ep.Address, port = ep.Port, dbInstanceIdentifier = db.DBInstanceIdentifier })
end

return M
