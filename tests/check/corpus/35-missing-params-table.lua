-- Fault: a call that needs parameters given none
local ec2 = aws.client("ec2")

return ir.runbook {
  name = "corpus-noparams",
  description = "Corpus runbook with one fault",
  params = {
    instance = { required = true, pattern = "^i%-%x+$", help = "instance id" },
  },
  permissions = { "ec2:DescribeInstances", "ec2:StopInstances" },
  steps = {
    {
      name = "Describe",
      run = function(ctx)
        local r = ec2:DescribeInstances{ InstanceIds = { ctx.params.instance } }
        ec2:StopInstances()
        ctx.output("reservations", #r.Reservations)
      end,
    },
  },
}
