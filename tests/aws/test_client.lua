-- Clients over the real models with a fake broker: the CALL request each protocol
-- produces, result shaping, error objects, dry runs, S3 and the other specifics.
local t = dofile((os.getenv("IRHOST_ROOT") or ".") .. "/tests/aws/helper.lua")
local json = require "irhost.json"
local crypto = require "irhost.crypto"

local reply
local h, aws = t.setup(function(req) return reply(req) end)
local function last() return h.requests[#h.requests] end
local function form(body)
  local f = {}
  for k, v in body:gmatch("([^&=]+)=([^&]*)") do f[k] = v:gsub("%%(%x%x)", function(x) return string.char(tonumber(x, 16)) end) end
  return f
end

-- ec2: request and shaping
reply = function() return t.xml_ok([[<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
<requestId>req-1</requestId><reservationSet><item><reservationId>r-1</reservationId><ownerId>111122223333</ownerId>
<instancesSet><item><instanceId>i-0abc</instanceId><amiLaunchIndex>0</amiLaunchIndex><ebsOptimized>false</ebsOptimized>
<launchTime>2024-01-02T03:04:05.000Z</launchTime><instanceState><code>16</code><name>running</name></instanceState>
<tagSet><item><key>Name</key><value>web</value></item></tagSet><groupSet/>
<cpuOptions><coreCount>2</coreCount></cpuOptions></item></instancesSet></item></reservationSet></DescribeInstancesResponse>]]) end
local ec2 = aws.client("ec2", { region = "eu-west-1" })
local r = ec2:DescribeInstances{ InstanceIds = { "i-0abc" }, Filters = { { Name = "tag:Name", Values = { "web", "db" } } } }
local req = last()
t.eq(req.service .. " " .. req.operation .. " " .. req.method .. " " .. req.path, "ec2 DescribeInstances POST /", "ec2: CALL service/operation/method/path")
local f = form(req.body)
t.ok(f.Action == "DescribeInstances" and f.Version == "2016-11-15" and f["InstanceId.1"] == "i-0abc"
  and f["Filter.1.Name"] == "tag:Name" and f["Filter.1.Value.2"] == "db", "ec2: form body uses EC2 names", req.body)
t.eq(req.headers["content-type"], "application/x-www-form-urlencoded", "ec2: content type")
t.ok(req.signing_name == "ec2" and req.endpoint_prefix == "ec2" and req.region == "eu-west-1" and req.global == "0", "ec2: signing fields")
t.eq(json.decode(req.params).InstanceIds[1], "i-0abc", "params JSON for the audit log")
local inst = r.Reservations[1].Instances[1]
t.eq(#r.Reservations, 1, "single reservation is still a list")
t.eq(inst.InstanceId, "i-0abc", "members by model name")
t.eq(math.type(inst.AmiLaunchIndex), "integer", "integers are integers")
t.eq(inst.EbsOptimized, false, "booleans are booleans")
t.eq(inst.LaunchTime, "2024-01-02T03:04:05Z", "timestamps are ISO-8601 UTC")
t.eq(inst.State.Code, 16, "nested structure")
t.eq(inst.Tags[1].Value, "web", "single tag is a list")
t.ok(type(inst.SecurityGroups) == "table" and #inst.SecurityGroups == 0, "empty list is an empty sequence")
t.eq(r.ResponseMetadata, nil, "no transport noise in results")
t.eq(ec2:describe_instances{}.Reservations[1].ReservationId, "r-1", "snake_case names")
t.ok(aws.client("ec2", { region = "eu-west-1" }) == ec2 and aws.client("ec2") ~= ec2, "clients cached per service and options")

-- ec2 errors
reply = function() return { status = "400", headers = {}, body = [[<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code><Message>The instance ID 'i-1' does not exist</Message></Error></Errors><RequestID>rid-9</RequestID></Response>]] } end
local ok, e = pcall(function() return ec2:StopInstances{ InstanceIds = { "i-1" } } end)
t.ok(not ok and aws.is_error(e), "AWS errors raise error objects")
t.ok(aws.is_error(e, "InvalidInstanceID.NotFound") and not aws.is_error(e, "Other") and not aws.is_error("x"), "aws.is_error by code")
t.ok(e.status == 400 and e.request_id == "rid-9" and e.retryable == false and e.service == "ec2" and e.operation == "StopInstances", "error fields")
t.eq(tostring(e), "ec2:StopInstances failed: InvalidInstanceID.NotFound: The instance ID 'i-1' does not exist (HTTP 400, request id rid-9)", "tostring")
reply = function() return { status = "503", headers = {}, body = "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>slow down</Message></Error></Errors></Response>" } end
ok, e = pcall(ec2.DescribeInstances, ec2, {})
t.ok(e.retryable == true and e.code == "RequestLimitExceeded", "throttling is retryable")
reply = function() return { status = "500", headers = {}, body = "not xml" } end
ok, e = pcall(ec2.DescribeInstances, ec2, {})
t.ok(e.code == "InternalError" and e.retryable, "unparseable 5xx body: code from the status")
reply = function() return { status = "200", headers = {}, body = "<DescribeInstancesResponse><broken" } end
ok, e = pcall(ec2.DescribeInstances, ec2, {})
t.ok(aws.is_error(e, "MalformedResponse") and tostring(e):find("line 1"), "malformed 200 body is an error", tostring(e))

-- broker refusals
reply = function() return { error = "dryrun", message = "skipped" } end
t.eq(ec2:StopInstances{ InstanceIds = { "i-1" } }.dry_run, true, "dry run returns {dry_run = true}")
reply = function() return { error = "denied", message = "ec2:TerminateInstances is not declared" } end
ok, e = pcall(ec2.TerminateInstances, ec2, { InstanceIds = { "i-1" } })
t.ok(aws.is_error(e, "PermissionNotDeclared") and e.message:find("not declared"), "denied calls raise PermissionNotDeclared")
reply = function() return { error = "transport", message = "connection refused" } end
ok, e = pcall(ec2.DescribeInstances, ec2, {})
t.ok(aws.is_error(e, "TransportError") and e.retryable, "transport failures raise TransportError")
reply = function() return { status = "200", headers = {}, result_json = '{"PasswordData":"irhost-secret-00000000000000000000000000000000"}' } end
t.eq(ec2:GetPasswordData{ InstanceId = "i-1" }.PasswordData, "irhost-secret-00000000000000000000000000000000", "result_json from the broker is used as is")

-- idempotency tokens
reply = function() return t.xml_ok("<RunInstancesResponse><reservationId>r</reservationId></RunInstancesResponse>") end
ec2:RunInstances{ MinCount = 1, MaxCount = 1, ImageId = "ami-1" }
local token = form(last().body).ClientToken
t.ok(token and token:match("^%x+%-%x+%-4%x+%-%x+%-%x+$"), "idempotency token generated when absent", last().body)
ec2:RunInstances{ MinCount = 1, MaxCount = 1, ClientToken = "mine" }
t.eq(form(last().body).ClientToken, "mine", "given idempotency token kept")

-- query (iam): result wrapper, member lists, global endpoint
reply = function() return t.xml_ok([[<ListUsersResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ListUsersResult>
<IsTruncated>false</IsTruncated><Users><member><UserName>alice</UserName><UserId>AIDA1</UserId><Arn>arn:aws:iam::1:user/alice</Arn><Path>/</Path>
<CreateDate>2020-05-01T10:00:00Z</CreateDate></member></Users></ListUsersResult><ResponseMetadata><RequestId>x</RequestId></ResponseMetadata></ListUsersResponse>]]) end
local iam = aws.client("iam")
local users = iam:ListUsers{ MaxItems = 10 }
t.ok(#users.Users == 1 and users.Users[1].UserName == "alice" and users.IsTruncated == false, "query: result wrapper and member lists")
t.eq(last().global, "1", "iam is global")
t.eq(form(last().body).MaxItems, "10", "query: numbers as text")
reply = function() return { status = "404", headers = {}, body = "<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>no user</Message></Error><RequestId>q-1</RequestId></ErrorResponse>" } end
ok, e = pcall(iam.GetUser, iam, { UserName = "bob" })
t.ok(aws.is_error(e, "NoSuchEntity") and e.request_id == "q-1" and e.message == "no user", "query: error envelope")

-- json (kms): target header, blobs both ways, errors
reply = function() return t.json_ok('{"KeyId":"arn:k","Plaintext":"' .. crypto.base64("secret\0bytes") .. '","EncryptionAlgorithm":"SYMMETRIC_DEFAULT"}') end
local kms = aws.client("kms")
local d = kms:Decrypt{ CiphertextBlob = "\1\2\3" }
req = last()
t.eq(req.headers["x-amz-target"], "TrentService.Decrypt", "json: X-Amz-Target")
t.eq(req.headers["content-type"], "application/x-amz-json-1.1", "json: content type")
t.eq(json.decode(req.body).CiphertextBlob, crypto.base64("\1\2\3"), "json: blobs sent base64")
t.eq(d.Plaintext, "secret\0bytes", "json: blobs come back as raw strings")
reply = function() return { status = "400", headers = { ["x-amzn-requestid"] = "j-1" }, body = '{"__type":"com.amazonaws.kms#NotFoundException","message":"Key not found"}' } end
ok, e = pcall(kms.DescribeKey, kms, { KeyId = "k" })
t.ok(aws.is_error(e, "NotFoundException") and e.message == "Key not found" and e.request_id == "j-1", "json: __type error")

-- rest-json (lambda): URI labels, errors from the header
reply = function() return t.json_ok('{"Configuration":{"FunctionName":"f","MemorySize":128,"Timeout":3,"LastModified":"2024-01-01T00:00:00.000+0000"}}') end
local lambda = aws.client("lambda")
local fn = lambda:GetFunction{ FunctionName = "arn:aws:lambda:eu-west-1:111122223333:function:my-fn", Qualifier = "$LATEST" }
req = last()
t.eq(req.method .. " " .. req.path .. "?" .. req.query, "GET /2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A111122223333%3Afunction%3Amy-fn?Qualifier=%24LATEST", "rest-json: labels and query encoded")
t.ok(fn.Configuration.MemorySize == 128 and math.type(fn.Configuration.Timeout) == "integer", "rest-json: shaped body")
reply = function() return { status = "404", headers = { ["x-amzn-errortype"] = "ResourceNotFoundException:http://internal/" }, body = '{"Type":"User","Message":"Function not found"}' } end
ok, e = pcall(lambda.GetFunction, lambda, { FunctionName = "f" })
t.ok(aws.is_error(e, "ResourceNotFoundException") and e.message == "Function not found", "rest-json: error code from x-amzn-errortype")

-- rest-xml (s3): path-style bucket, greedy keys, checksums, bodiless and 200 errors
reply = function() return { status = "200", headers = { ["content-length"] = "5", ["last-modified"] = "Tue, 02 Jan 2024 03:04:05 GMT", ["x-amz-meta-case"] = "IR-42" }, body = "hello" } end
local s3 = aws.client("s3")
local obj = s3:GetObject{ Bucket = "evidence", Key = "cases/IR 42/a+b.txt" }
req = last()
t.eq(req.path, "/evidence/cases/IR%2042/a%2Bb.txt", "s3: bucket in the path, key keeps its slashes")
t.ok(obj.Body == "hello" and obj.ContentLength == 5 and obj.LastModified == "2024-01-02T03:04:05Z" and obj.Metadata.case == "IR-42", "s3: payload, headers, prefix headers")
reply = function() return t.xml_ok("") end
s3:PutObject{ Bucket = "evidence", Key = "k", Body = string.rep("z", 100000) }
t.eq(json.decode(last().params).Body, "<100000 bytes>", "s3: blob bodies are summarized in the audit params")
t.eq(#last().body, 100000, "s3: PutObject body sent raw")
local policy = '{"Version":"2012-10-17","Statement":[]}'
s3:PutBucketPolicy{ Bucket = "evidence", Policy = policy }
req = last()
t.eq(req.headers["content-md5"], crypto.base64(crypto.md5(policy)), "s3: Content-MD5 where the model requires a checksum")
t.eq(req.query, "policy", "s3: static query from the URI")
s3:PutObjectTagging{ Bucket = "b", Key = "k", Tagging = { TagSet = { { Key = "case", Value = "IR-42" } } } }
req = last()
local tree = require("irhost.xml").parse(req.body)
t.ok(tree[1] == "Tagging" and tree[2][1] == "TagSet" and tree[2][2][1] == "Tag" and tree[2][2][2][4] == "IR-42", "s3: XML body with the model's names", req.body)
reply = function() return { status = "404", headers = { ["x-amz-request-id"] = "s3-1" }, body = "" } end
ok, e = pcall(s3.HeadObject, s3, { Bucket = "b", Key = "k" })
t.ok(aws.is_error(e, "NotFound") and e.request_id == "s3-1", "s3: bodiless 404 is NotFound")
reply = function() return { status = "403", headers = {}, body = "<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>s3-2</RequestId></Error>" } end
ok, e = pcall(s3.GetObject, s3, { Bucket = "b", Key = "k" })
t.ok(aws.is_error(e, "AccessDenied") and e.request_id == "s3-2", "s3: errors without a wrapper")
reply = function() return t.xml_ok('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>') end
ok, e = pcall(s3.CompleteMultipartUpload, s3, { Bucket = "b", Key = "k", UploadId = "u" })
t.ok(aws.is_error(e, "InternalError") and e.retryable, "s3: 200 with <Error> is an error")
t.eq(s3:GetObject{ Bucket = "b", Key = "error.xml" }.Body:match("<Error>"), "<Error>", "s3: an object that is an <Error> document is just an object")
local s3c = aws.client("s3control")
reply = function() return t.xml_ok("<PublicAccessBlockConfiguration><BlockPublicAcls>true</BlockPublicAcls></PublicAccessBlockConfiguration>") end
local pab = s3c:GetPublicAccessBlock{ AccountId = "111122223333" }
t.eq(last().host_prefix, "111122223333.", "s3control: host prefix expanded")
t.eq(pab.PublicAccessBlockConfiguration.BlockPublicAcls, true, "s3control: payload structure")

-- introspection
local ops = aws.operations("ec2")
t.ok(#ops > 500 and ops[1] < ops[2], "aws.operations lists sorted operations")
t.eq(aws.shape("ec2", "Instance").type, "structure", "aws.shape: a shape")
t.eq(aws.shape("ec2", "stop_instances").mutating, true, "aws.shape: an operation, with mutating")
t.ok(aws.is_mutating("ec2", "StopInstances") and not aws.is_mutating("ec2", "DescribeInstances") and not aws.is_mutating("s3", "head_object"), "aws.is_mutating")
t.ok(aws.is_mutating("rds-data", "ExecuteStatement") and not aws.is_mutating("s3", "GetObject") and aws.is_mutating("sts", "GetSessionToken"), "aws.is_mutating: reads and writes")
aws.shape("ec2", "Instance").type = "oops"
t.eq(aws.shape("ec2", "Instance").type, "structure", "aws.shape returns copies")
t.ok(#aws.services() == 21, "aws.services")

-- broker requests
t.eq(aws.secret.generate{ length = 20 }, "irhost-secret-" .. string.rep("0", 32), "secret.generate returns a handle")
t.ok(h.last_request[1] == "secret_gen" and h.last_request[2].length == "20", "secret.generate asks the broker")
t.eq(aws.region(), "eu-west-1", "aws.region")

-- s3 GetBucketLocation: a bare text root is the member of that name (empty for us-east-1).
local s3loc = aws.client("s3", { region = "us-east-1" })
reply = function() return t.xml_ok([[<?xml version="1.0" encoding="UTF-8"?>
<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">eu-west-1</LocationConstraint>]]) end
t.eq(s3loc:GetBucketLocation{ Bucket = "b" }.LocationConstraint, "eu-west-1", "s3: GetBucketLocation reads the bare root")
reply = function() return t.xml_ok([[<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>]]) end
local loc = s3loc:GetBucketLocation{ Bucket = "b" }.LocationConstraint
t.ok(loc == nil or loc == "", "s3: an empty LocationConstraint means us-east-1", tostring(loc))

return t.done()
