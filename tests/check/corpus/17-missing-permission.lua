-- Fault: a call the declared permissions do not cover
local ec2 = aws.client("ec2")

return ir.runbook {
  name = "corpus-perm",
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
        ec2:StopInstances{ InstanceIds = { ctx.params.instance } }
        ctx.output("reservations", #r.Reservations)
      end,
    },
  },
}
