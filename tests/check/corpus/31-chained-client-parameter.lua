-- Fault: a typo in a parameter of a chained client call
local ec2 = aws.client("ec2")

return ir.runbook {
  name = "corpus-chained",
  description = "Corpus runbook with one fault",
  params = {
    instance = { required = true, pattern = "^i%-%x+$", help = "instance id" },
  },
  permissions = { "ec2:DescribeInstances" },
  steps = {
    {
      name = "Describe",
      run = function(ctx)
        local r = aws.client("ec2"):DescribeInstances{ InstanceIds = { ctx.params.instance }, MaxResult = 5 }
        ctx.output("reservations", #r.Reservations)
        ctx.output("client", ec2)
      end,
    },
  },
}
