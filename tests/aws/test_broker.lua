-- aws.broker: derive (every operation of every embedded service, serialized by the
-- clients, must derive back to itself), redact and protect.
local t = dofile((os.getenv("IRHOST_ROOT") or ".") .. "/tests/aws/helper.lua")
local json = require "irhost.json"
local modelmod = require "aws.model"
local request = require "aws.request"
local validate = require "aws.validate"
local broker = require "aws.broker"

-- derive round trip
for _, service in ipairs(modelmod.services()) do
  local model = assert(modelmod.load(service))
  local total, bad, invalid = 0, {}, {}
  for name, op in pairs(model.operations) do
    total = total + 1
    local params = op.input and t.sample(model, op.input) or {}
    local problem = validate.params(model, op, params)
    -- Sample strings are "x"...: only pattern checks may object to them.
    if problem and not problem:find("does not match the model's pattern", 1, true) then
      invalid[#invalid + 1] = name .. ": " .. problem
    end
    local req = request.build(model, op, params)
    req.service = service
    req.operation = name
    local s, derived, mutating = broker.derive(req)
    if s ~= service or derived ~= name or mutating ~= modelmod.is_mutating(service, name) then
      bad[#bad + 1] = name .. " -> " .. tostring(derived or mutating)
    end
  end
  table.sort(bad)
  t.ok(#invalid == 0, service .. ": sample params of all " .. total .. " operations validate (but for patterns)", table.concat(invalid, "\n"))
  t.ok(#bad == 0, service .. ": all " .. total .. " operations derive back from their requests", table.concat(bad, "\n"))
end

-- derive refuses what does not match
local ec2 = modelmod.load("ec2")
local req = request.build(ec2, ec2.operations.DescribeInstances, {})
req.service = "ec2"
req.body = req.body:gsub("Action=DescribeInstances", "Action=NoSuchThing")
t.ok(broker.derive(req) == nil, "derive: unknown Action refused")
req = request.build(ec2, ec2.operations.DescribeInstances, {})
req.service = "ec2"
req.body = req.body:gsub("Version=[^&]*", "Version=2010-01-01")
t.ok(broker.derive(req) == nil, "derive: wrong Version refused")
local kms = modelmod.load("kms")
req = request.build(kms, kms.operations.Decrypt, { CiphertextBlob = "x" })
req.service = "kms"
req.headers["x-amz-target"] = "SomethingElse.Decrypt"
t.ok(broker.derive(req) == nil, "derive: foreign X-Amz-Target refused")
req.service = "nosuch"
t.ok(broker.derive(req) == nil, "derive: unknown service refused")
local s3 = modelmod.load("s3")
req = request.build(s3, s3.operations.GetObjectAcl, { Bucket = "b", Key = "a/b/c" })
req.service = "s3"
t.eq(select(2, broker.derive(req)), "GetObjectAcl", "derive: s3 ?acl beats GetObject")
req = request.build(s3, s3.operations.GetObject, { Bucket = "b", Key = "a/b/c" })
req.service = "s3"
t.eq(select(2, broker.derive(req)), "GetObject", "derive: s3 GetObject with a nested key")
req = request.build(s3, s3.operations.DeleteObjects, { Bucket = "b", Delete = { Objects = { { Key = "k" } } } })
req.service = "s3"
local _, dop, dmut = broker.derive(req)
t.ok(dop == "DeleteObjects" and dmut == true, "derive: POST ?delete is DeleteObjects, mutating")
req = request.build(s3, s3.operations.PutObject, { Bucket = "b", Key = "k" })
req.service, req.operation = "s3", "DeleteObject"
t.eq(select(2, broker.derive(req)), "PutObject", "derive: a false claim does not change the answer")
req = request.build(s3, s3.operations.GetBucketLifecycle, { Bucket = "b" })
req.service, req.operation = "s3", nil
t.eq(select(2, broker.derive(req)), "GetBucketLifecycleConfiguration", "derive: wire-identical, unclaimed: the current operation")

-- redact
local red = json.decode(broker.redact("iam", "CreateLoginProfile", '{"UserName":"bob","Password":"hunter2"}'))
t.ok(red.Password == "***" and red.UserName == "bob", "redact: model-sensitive Password")
red = json.decode(broker.redact("secretsmanager", "PutSecretValue", '{"SecretId":"s","SecretString":"p4ss","ClientRequestToken":"tok"}'))
t.ok(red.SecretString == "***" and red.SecretId == "s" and red.ClientRequestToken == "tok", "redact: SecretString only")
red = json.decode(broker.redact("rds", "ModifyDBInstance", '{"DBInstanceIdentifier":"db","MasterUserPassword":"pw"}'))
t.ok(red.MasterUserPassword == "***", "redact: MasterUserPassword")
red = json.decode(broker.redact("ec2", "DescribeInstances", '{"NextToken":"abc","Filters":[{"Name":"n","Values":["v"]}]}'))
t.ok(red.NextToken == "abc" and red.Filters[1].Values[1] == "v", "redact: pagination tokens and lists untouched")
red = json.decode(broker.redact("nosuch", "X", '{"a":{"private_key":"k","ok":"v"}}'))
t.ok(red.a.private_key == "***" and red.a.ok == "v", "redact: names decide without a model")
red = json.decode(broker.redact("lambda", "CreateFunction", '{"FunctionName":"f","Environment":{"Variables":{"DB_PASSWORD":"x","MODE":"y"}}}'))
t.ok(red.Environment.Variables.DB_PASSWORD == "***", "redact: sensitive map values (Environment.Variables)")

-- protect
local body = [[<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>
<Credentials><AccessKeyId>ASIAEXAMPLE</AccessKeyId><SecretAccessKey>wJalrSECRETKEY</SecretAccessKey>
<SessionToken>FwoGSESSIONTOKEN</SessionToken><Expiration>2024-01-01T00:00:00Z</Expiration></Credentials>
<AssumedRoleUser><Arn>arn:aws:sts::1:assumed-role/r/s</Arn><AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser>
</AssumeRoleResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AssumeRoleResponse>]]
local rj, secrets = broker.protect("sts", "AssumeRole", 200, { ["Content-Type"] = "text/xml" }, body)
t.ok(rj ~= nil and not rj:find("wJalrSECRETKEY", 1, true) and not rj:find("FwoGSESSIONTOKEN", 1, true), "protect: secrets absent from result_json")
local res = json.decode(rj)
t.ok(res.Credentials.SecretAccessKey:match("^irhost%-secret%-%x+$") and #res.Credentials.SecretAccessKey == 46, "protect: handles are irhost-secret-<32 hex>")
t.eq(secrets[res.Credentials.SecretAccessKey], "wJalrSECRETKEY", "protect: handle maps to the value")
t.eq(secrets[res.Credentials.SessionToken], "FwoGSESSIONTOKEN", "protect: session token protected")
t.eq(res.AssumedRoleUser.Arn, "arn:aws:sts::1:assumed-role/r/s", "protect: other members intact")
t.ok(broker.protect("ec2", "DescribeInstances", 200, {}, "<DescribeInstancesResponse/>") == nil, "protect: nil for outputs without secrets")
rj, secrets = broker.protect("secretsmanager", "GetSecretValue", 200, {}, '{"ARN":"a","Name":"n","SecretString":"hunter2"}')
t.ok(rj and not rj:find("hunter2", 1, true) and json.decode(rj).Name == "n", "protect: json protocol SecretString")
rj, secrets = broker.protect("ec2", "GetPasswordData", 200, {}, "<GetPasswordDataResponse><instanceId>i-1</instanceId><passwordData>ENCPW</passwordData></GetPasswordDataResponse>")
t.ok(rj and not rj:find("ENCPW", 1, true), "protect: ec2 password data")
t.ok(broker.protect("sts", "AssumeRole", 403, {}, "<ErrorResponse><Error><Code>AccessDenied</Code></Error></ErrorResponse>") == nil, "protect: error responses left to the runner")

-- rebuild: a request with handles is serialized by the broker, handles only in sensitive members
local H = "irhost-secret-0123456789abcdef0123456789abcdef"
local rq, why = broker.rebuild("iam", "CreateLoginProfile", json.encode({ UserName = "bob", Password = H }))
t.ok(rq and rq.body:find("Password=" .. H, 1, true) and rq.body:find("UserName=bob", 1, true), "rebuild: password member carries the handle")
rq, why = broker.rebuild("ec2", "CreateTags", json.encode({ Resources = { "i-1" }, Tags = { { Key = "k", Value = H } } }))
t.ok(rq == nil and why:find("Tags[1].Value", 1, true), "rebuild: a tag value is refused, naming the member: " .. tostring(why))
rq, why = broker.rebuild("ec2", "DescribeInstances", json.encode({ InstanceIds = { "i-0" .. H } }))
t.ok(rq == nil and why:find("InstanceIds[1]", 1, true), "rebuild: a handle inside an ID is refused")
rq, why = broker.rebuild("rds", "ModifyDBInstance", json.encode({ DBInstanceIdentifier = "db", MasterUserPassword = H, AllocatedStorage = 20 }))
t.ok(rq and rq.body:find("AllocatedStorage=20&", 1, true), "rebuild: integers stay integers")
rq, why = broker.rebuild("secretsmanager", "PutSecretValue", json.encode({ SecretId = H, SecretString = "x" }))
t.ok(rq == nil and why:find("SecretId", 1, true), "rebuild: SecretId is not sensitive")
rq, why = broker.rebuild("iam", "CreateLoginProfile", json.encode({ UserName = "bob", Password = H, Bogus = H }))
t.ok(rq == nil and why:find("Bogus", 1, true), "rebuild: a member the model does not have")

return t.done()
