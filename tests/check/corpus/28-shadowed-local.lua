-- Fault: a local that shadows the step's argument (warning)
local ec2 = aws.client("ec2")

return ir.runbook {
  name = "corpus-shadow",
  description = "Corpus runbook with one fault",
  params = {
    instance = { required = true, pattern = "^i%-%x+$", help = "instance id" },
  },
  permissions = { "ec2:DescribeInstances" },
  steps = {
    {
      name = "Describe",
      run = function(ctx)
        local r = ec2:DescribeInstances{ InstanceIds = { ctx.params.instance } }
        local ctx = r
        print(ctx)
      end,
    },
  },
}
