-- client:paginate over the models' paginator definitions.
local t = dofile((os.getenv("IRHOST_ROOT") or ".") .. "/tests/aws/helper.lua")
local json = require "irhost.json"

local pages
local h, aws = t.setup(function(req, n) return pages(req, n) end)
local function form(body)
  local f = {}
  for k, v in body:gmatch("([^&=]+)=([^&]*)") do f[k] = v end
  return f
end

-- ec2: NextToken in, NextToken out, result key Reservations.
local function ec2_page(n, token)
  return t.xml_ok(string.format("<DescribeInstancesResponse><reservationSet><item><reservationId>r-%d</reservationId></item><item><reservationId>r-%db</reservationId></item></reservationSet>%s</DescribeInstancesResponse>",
    n, n, token and ("<nextToken>" .. token .. "</nextToken>") or ""))
end
pages = function(req, n) return ec2_page(n, n < 3 and ("tok" .. n) or nil) end
local ec2 = aws.client("ec2")
local seen = {}
for page in ec2:paginate("DescribeInstances", { MaxResults = 5 }) do seen[#seen + 1] = page.Reservations[1].ReservationId end
t.eq(table.concat(seen, ","), "r-1,r-2,r-3", "pages until there is no token")
t.eq(form(h.requests[1].body).NextToken, nil, "first page without a token")
t.eq(form(h.requests[2].body).NextToken, "tok1", "token carried to the next page")
t.eq(form(h.requests[3].body).MaxResults, "5", "other params kept")

h.requests = {}
local items = {}
for r in ec2:paginate("DescribeInstances", {}, { items = true }) do items[#items + 1] = r.ReservationId end
t.eq(table.concat(items, ","), "r-1,r-1b,r-2,r-2b,r-3,r-3b", "items across pages")

-- A service that repeats its token must not loop forever.
h.requests = {}
pages = function(req, n) return ec2_page(n, "same") end
local count = 0
for _ in ec2:paginate("describe_instances", {}) do count = count + 1 end
t.eq(count, 2, "a repeated token ends pagination")

-- s3 ListObjects: more_results = IsTruncated, token = NextMarker || Contents[-1].Key, two result keys.
local s3 = aws.client("s3")
pages = function(req, n)
  if n == 1 then
    return t.xml_ok("<ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>a</Key></Contents><Contents><Key>b</Key></Contents><CommonPrefixes><Prefix>p/</Prefix></CommonPrefixes></ListBucketResult>")
  end
  return t.xml_ok("<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>c</Key></Contents></ListBucketResult>")
end
h.requests = {}
local keys = {}
for it in s3:paginate("ListObjects", { Bucket = "b" }, { items = true }) do keys[#keys + 1] = it.Key or it.Prefix end
t.eq(table.concat(keys, ","), "a,b,p/,c", "s3: Contents then CommonPrefixes, page by page")
t.eq(h.requests[2].query:match("marker=([^&]*)"), "b", "s3: marker from Contents[-1].Key")
t.eq(#h.requests, 2, "s3: IsTruncated=false stops")

-- json protocol (kms ListKeys uses Marker/Truncated).
local kms = aws.client("kms")
pages = function(req, n)
  if n == 1 then return t.json_ok('{"Keys":[{"KeyId":"k1"}],"NextMarker":"m1","Truncated":true}') end
  return t.json_ok('{"Keys":[{"KeyId":"k2"}],"Truncated":false}')
end
h.requests = {}
local ks = {}
for k in kms:paginate("ListKeys", {}, { items = true }) do ks[#ks + 1] = k.KeyId end
t.eq(table.concat(ks, ","), "k1,k2", "json: items across pages")
t.eq(json.decode(h.requests[2].body).Marker, "m1", "json: marker carried")

-- max_pages
pages = function(req, n) return ec2_page(n, "t" .. n) end
h.requests = {}
local np = 0
for _ in ec2:paginate("DescribeInstances", {}, { max_pages = 4 }) do np = np + 1 end
t.eq(np, 4, "max_pages bounds the pages")

t.raises(function() ec2:paginate("StopInstances", {}) end, "ec2:StopInstances cannot be paginated", "operations without a paginator")
t.raises(function() ec2:paginate("Nope", {}) end, "ec2: no operation Nope", "unknown operation")

-- dry run: a mutating paginated call is not sent (one page: {dry_run = true}).
pages = function() return { error = "dryrun" } end
local dr = {}
for p in ec2:paginate("DescribeInstances", {}) do dr[#dr + 1] = p end
t.ok(#dr == 1 and dr[1].dry_run, "dry run gives one page")

return t.done()
