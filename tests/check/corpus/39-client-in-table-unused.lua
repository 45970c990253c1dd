-- Fault: a local that is never read (warning). The s3 client stored in a table field goes
-- where check cannot follow, so s3:GetBucketAcl is not called unused: check does not guess.
local ec2 = aws.client("ec2")
local clients = {}

return ir.runbook {
  name = "corpus-table-client",
  description = "Corpus runbook with one fault",
  params = {
    instance = { required = true, pattern = "^i%-%x+$", help = "instance id" },
  },
  permissions = { "ec2:DescribeInstances", "s3:ListBuckets", "s3:GetBucketAcl" },
  steps = {
    {
      name = "Describe",
      run = function(ctx)
        local r = ec2:DescribeInstances{ InstanceIds = { ctx.params.instance } }
        local s3 = aws.client("s3")
        s3:ListBuckets{}
        clients.s3 = s3
      end,
    },
  },
}
