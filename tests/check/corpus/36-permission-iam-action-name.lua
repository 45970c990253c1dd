-- Fault: an IAM action name where the broker needs the API operation
local ec2 = aws.client("ec2")

return ir.runbook {
  name = "corpus-perm-iam-name",
  description = "Corpus runbook with one fault",
  params = {
    instance = { required = true, pattern = "^i%-%x+$", help = "instance id" },
  },
  permissions = { "ec2:DescribeInstances", "s3:ListBucket" },
  steps = {
    {
      name = "Describe",
      run = function(ctx)
        local r = ec2:DescribeInstances{ InstanceIds = { ctx.params.instance } }
        ctx.output("reservations", #r.Reservations)
      end,
    },
  },
}
