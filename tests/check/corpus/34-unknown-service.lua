-- Fault: a service irhost has no model for
local ec2 = aws.client("ec2")

return ir.runbook {
  name = "corpus-service",
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
        local gd = aws.client("guard-duty")
        ctx.output("reservations", #r.Reservations)
        ctx.output("client", gd)
      end,
    },
  },
}
