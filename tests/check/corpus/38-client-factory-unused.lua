-- Fault: a declared permission no call uses, clients made by a factory and handed to a
-- helper through pcall (check follows both, so it can tell the permission is unused)
local function s3() return aws.client("s3") end

local function versioning(client, bucket)
  return client:GetBucketVersioning{ Bucket = bucket }.Status
end

return ir.runbook {
  name = "corpus-factory-unused",
  description = "Corpus runbook with one fault",
  params = {
    bucket = { required = true, help = "bucket" },
  },
  permissions = { "s3:GetBucketVersioning", "s3:GetBucketAcl", "s3:PutBucketVersioning" },
  steps = {
    {
      name = "Read",
      run = function(ctx)
        local ok, status = pcall(versioning, s3(), ctx.params.bucket)
        if ok and status ~= "Enabled" then
          s3():PutBucketVersioning{ Bucket = ctx.params.bucket, VersioningConfiguration = { Status = "Enabled" } }
        end
      end,
    },
  },
}
