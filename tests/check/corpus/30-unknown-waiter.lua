-- Fault: a waiter that does not exist
local ec2 = aws.client("ec2")

return ir.runbook {
  name = "corpus-waiter",
  description = "Corpus runbook with one fault",
  params = {
    instance = { required = true, pattern = "^i%-%x+$", help = "instance id" },
  },
  permissions = { "ec2:DescribeInstances" },
  steps = {
    {
      name = "Describe",
      run = function(ctx)
        ec2:wait("InstanceStoped", { InstanceIds = { ctx.params.instance } })
      end,
    },
  },
}
